"""Pins the corpus's structure so that a later edit cannot silently break it."""

from __future__ import annotations

import re

import pytest
from conftest import DOCS, MKDOCS

from kb.taxonomy import load_taxonomy
from kb.validation import check_content, errors

BRIEFS = {
    "federal-partnerships": [
        "federal-violent-crime-task-forces",
        "project-safe-neighborhoods",
        "federal-firearm-case-screening",
        "fugitive-apprehension-operations",
        "federal-data-sharing-agreements",
        "coordinated-tta-navigation",
        "drug-trafficking-violence-nexus",
        "federal-partner-governance",
    ],
    "crime-analysis": [
        "hot-spots-analysis",
        "problem-oriented-policing-sara",
        "social-network-analysis",
        "gun-violence-problem-analysis",
        "compstat-and-accountability",
        "stratified-policing",
        "nibrs-transition-data-quality",
        "analyst-capacity-building",
    ],
    "technology": [
        "real-time-crime-centers",
        "gunshot-detection-technology",
        "license-plate-readers",
        "body-worn-cameras",
        "public-private-camera-networks",
        "digital-evidence-management",
        "records-management-modernization",
        "technology-governance-privacy",
    ],
    "gun-violence": [
        "focused-deterrence-gvi",
        "crime-gun-intelligence-centers",
        "nibin-lead-follow-up",
        "comprehensive-firearm-tracing",
        "community-violence-intervention",
        "hospital-based-violence-intervention",
        "shooting-review-meetings",
        "illegal-firearm-market-disruption",
    ],
    "criminal-justice-collaboration": [
        "violent-case-prosecution-partnerships",
        "probation-parole-partnerships",
        "pretrial-decision-making-violent-offenses",
        "victim-witness-services",
        "reentry-violence-reduction",
        "criminal-justice-coordinating-councils",
        "domestic-violence-high-risk-teams",
        "court-case-tracking-violent-offenders",
    ],
    "community-engagement": [
        "procedural-justice",
        "community-policing-neighborhood-officers",
        "faith-based-partnerships",
        "youth-violence-prevention",
        "cpted-and-vacant-lot-greening",
        "public-communication-strategy",
        "community-advisory-boards",
        "critical-incident-community-response",
    ],
    "investigations": [
        "homicide-investigation-best-practices",
        "nonfatal-shooting-investigations",
        "investigative-case-management",
        "witness-cooperation",
        "forensic-evidence-timeliness",
        "cold-case-units",
        "detective-staffing-workload",
        "investigative-training-standards",
    ],
    "constitutional-policing": [
        "use-of-force-policy-review",
        "de-escalation-training",
        "early-intervention-systems",
        "stop-data-collection-review",
        "collaborative-reform-consent-decrees",
        "complaints-and-discipline-systems",
    ],
}
FACT_SHEET_SITES = [
    "compton-ca",
    "flint-mi",
    "jackson-ms",
    "little-rock-ar",
    "milwaukee-wi",
    "nashville-tn",
    "newark-nj",
    "new-orleans-la",
    "st-louis-mo",
    "west-memphis-ar",
    "birmingham-al",
    "indianapolis-in",
    "memphis-tn",
    "toledo-oh",
    "kansas-city-mo",
    "miami-fl",
    "tulsa-ok",
    "baton-rouge-la",
    "buffalo-ny",
    "cincinnati-oh",
    "houston-tx",
    "jackson-tn",
    "lansing-mi",
    "springfield-il",
    "saginaw-mi",
    "salisbury-nc",
]
TAXONOMY = load_taxonomy()
PAGES = (
    [
        "index",
        "about/psp-overview",
        "about/engagement-models",
        "about/site-selection",
        "areas/index",
        "briefs/index",
        "sites/index",
        "components/index",
        "contribute/index",
        "peer-learning/index",
    ]
    + [f"areas/{a}" for a in TAXONOMY.area_slugs]
    + [f"sites/{s}" for s in TAXONOMY.site_slugs]
    + [f"components/{c}" for c in TAXONOMY.component_slugs]
)


@pytest.fixture(scope="module")
def docs():
    found, problems = check_content(DOCS, TAXONOMY, MKDOCS)
    assert errors(problems) == []  # warnings (sources still being linked) fail only --strict
    return {d.id: d for d in found}


def test_every_listed_page_exists(docs):
    missing = [p for p in PAGES if p not in docs]
    assert missing == []
    assert len(TAXONOMY.component_slugs) == 8
    # the 26 sites of the September 2018 fact sheet, exactly, each sourced to it
    fact_sheet = [s.slug for s in TAXONOMY.sites if any(e.source == "fact-sheet-2018" for e in s.engagements)]
    assert fact_sheet == FACT_SHEET_SITES
    # later sites carry their cohort year and the source that names them
    for site in TAXONOMY.sites:
        for e in site.engagements:
            if e.source != "fact-sheet-2018":
                assert re.fullmatch(r"20\d\d", e.cohort), site.slug


@pytest.mark.parametrize(("area", "slug"), [(a, s) for a, slugs in BRIEFS.items() for s in slugs])
def test_each_brief_is_complete(docs, area, slug):
    doc = docs[f"briefs/{slug}"]
    m = doc.meta
    assert m.type == "practice-brief"
    assert m.core_areas[0] == area and 1 <= len(m.core_areas) <= 3
    assert len(m.sources) >= 2
    assert m.evidence and m.evidence.rating in TAXONOMY.rating_slugs and len(m.evidence.basis) > 20
    words = len(re.findall(r"\w+", doc.body))
    assert words >= 500, f"{slug}: {words} words"
    assert re.search(r"\]\([a-z0-9-]+\.md", doc.body), f"{slug} links no related brief"


def test_each_area_has_enough_primary_briefs(docs):
    # eight for each area of the 2018 fact sheet; six for constitutional policing, added later
    for area in TAXONOMY.area_slugs:
        primary = [d for d in docs.values() if d.type == "practice-brief" and d.meta.core_areas[0] == area]
        assert len(primary) >= (6 if area == "constitutional-policing" else 8), area


def test_peer_learning_counts_and_coverage(docs):
    by_type: dict[str, list] = {}
    for d in docs.values():
        by_type.setdefault(d.type, []).append(d)
    # Every exchange that public sources document with host, visitors and date: five found
    # (the issue asked for seven; the note lists what was searched).
    assert len(by_type["peer-exchange"]) >= 5
    assert len(by_type["community-of-practice"]) >= 4
    assert len(by_type["case-study"]) >= 10
    assert len(by_type["toolkit"]) >= 8
    covered = {s for d in by_type["peer-exchange"] + by_type["case-study"] for s in d.site_slugs}
    assert len(covered & set(FACT_SHEET_SITES)) >= 14, sorted(covered & set(FACT_SHEET_SITES))
    # every peer-learning source can be opened
    for d in by_type["peer-exchange"] + by_type["community-of-practice"] + by_type["case-study"]:
        assert all(not isinstance(src, str) and (src.url or src.doi) for src in d.sources), d.id


def test_toolkits_mark_their_templates(docs):
    toolkits = [d for d in docs.values() if d.type == "toolkit"]
    with_templates = [d for d in toolkits if re.search(r"^## Template", d.body, re.MULTILINE)]
    assert len(with_templates) >= 6
    for slug in (
        "request-a-peer-exchange",
        "plan-and-host-a-peer-exchange",
        "peer-exchange-debrief",
        "community-of-practice-calls",
    ):
        assert f"toolkits/{slug}" in docs


def test_site_pages_follow_the_fact_sheet(docs):
    for site in TAXONOMY.sites:
        page = docs[f"sites/{site.slug}"]
        assert page.meta.site == site.slug and site.city.split("/")[0] in page.title
    kc = docs["sites/kansas-city-mo"]
    assert "Diagnostic" in kc.body and "Operations" in kc.body and "2018" in kc.body
