"""The built site as busy readers and crawlers meet it: area pages that lead with their practices,
tables of contents that list every section, "Start here" by role, abbreviation tooltips and their
glossary, per-page descriptions, robots.txt, and a site_url that follows the configuration."""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path

import pytest
from conftest import DOCS, MKDOCS

from kb.rendering import render_page
from kb.settings import Settings
from kb.taxonomy import load_taxonomy
from kb.validation import check_content
from kb.workflow import open_searcher, update_index, update_site

pytestmark = pytest.mark.slow
TAXONOMY = load_taxonomy()
ROLES = [
    "law-enforcement-leader",
    "investigator",
    "crime-analyst",
    "prosecutor",
    "supervision-officer",
    "victim-advocate",
    "community-partner",
]


@pytest.fixture(scope="module")
def docs():
    found, problems = check_content(DOCS, TAXONOMY, MKDOCS)
    assert problems == []
    return {d.id: d for d in found}


def page_path(doc_id: str) -> str:
    """The folder of a document's page under site/ (use_directory_urls)."""
    if doc_id == "index":
        return ""
    return doc_id[: -len("index")] if doc_id.endswith("/index") else doc_id + "/"


def html(settings, doc_id: str) -> str:
    return (settings.site_dir / page_path(doc_id) / "index.html").read_text(encoding="utf-8")


def article(page: str) -> str:
    return page[page.index("<article") : page.index("</article>")]


def toc_anchors(page: str) -> list[str]:
    start = page.rfind('class="md-nav md-nav--secondary"')  # the sidebar's (the drawer has one too)
    if start < 0:
        return []
    toc = page[start : page.index('<div class="md-content"', start)]
    return re.findall(r'href="#([^"]+)"', toc)


def test_every_page_describes_itself_with_its_summary(real_env, docs):
    settings, _, _ = real_env
    for doc_id, doc in docs.items():
        found = re.findall(r'<meta name="description" content="([^"]*)">', html(settings, doc_id))
        assert len(found) == 1, doc_id
        expected = doc.meta.description or " ".join(doc.meta.summary.split())
        assert htmllib.unescape(found[0]) == expected, doc_id


def test_robots_txt_names_the_sitemap_at_the_site_url(real_env):
    settings, _, _ = real_env
    robots = (settings.site_dir / "robots.txt").read_text()
    assert robots.splitlines()[0] == "User-agent: *"
    assert "Disallow: /api/" in robots.splitlines()
    assert f"Sitemap: {settings.public_url}sitemap.xml" in robots.splitlines()


def test_every_generated_section_is_in_the_table_of_contents(real_env, docs):
    """Sections rendered by the templates (evidence rating, related briefs, sources, an area's
    practices, a site's exchanges...) are listed beside the page's own headings."""
    settings, _, _ = real_env
    brief = html(settings, "briefs/focused-deterrence-gvi")
    assert {"evidence-rating", "related-briefs", "sources"} <= set(toc_anchors(brief))
    checked = 0
    for doc_id, doc in docs.items():
        if "toc" in doc.meta.hide:
            continue
        page = html(settings, doc_id)
        headings = re.findall(r'<h[23] id="([^"]+)"', article(page))
        missing = [h for h in headings if h not in toc_anchors(page)]
        assert not missing, f"{doc_id}: sections missing from the table of contents: {missing}"
        checked += 1
    assert checked > 150


def test_area_pages_open_with_their_practices_rated_first(real_env, docs):
    settings, _, _ = real_env
    ratings = [r for r in TAXONOMY.rating_slugs if r != "not-rated"]

    def rank(d):
        rating = d.meta.evidence.rating if d.meta.evidence else "not-rated"
        return (ratings.index(rating) if rating in ratings else len(ratings), d.title.lower())

    for area in TAXONOMY.area_slugs:
        page = html(settings, f"areas/{area}")
        ids = re.findall(r'<h[23] id="([^"]+)"', article(page))
        assert ids[0] == "briefs-in-this-area", (area, ids)
        prose = [s.anchor for s in render_page(docs[f"areas/{area}"].body, MKDOCS).sections if s.level == 2]
        generated = [
            i
            for i in (
                "briefs-in-this-area",
                "rated-practices",
                "not-yet-rated",
                "also-relevant",
                "peer-learning-in-this-area",
            )
            if i in ids
        ]
        # the lists first, the area's own text after them, and the contents in the same order
        assert ids == generated + prose, area
        assert toc_anchors(page) == generated + prose, area
        # primary briefs: rated ones by rating, then the rest, each by title
        primary = [d for d in docs.values() if d.type == "practice-brief" and d.meta.core_areas[0] == area]
        listed = page.split('id="briefs-in-this-area"')[1]
        listed = re.split(r'id="also-relevant"|<h2 ', listed)[0]
        shown = re.findall(r'href="[^"]*briefs/([^/"#?]+)/"', listed)
        assert shown == [d.id.split("/")[1] for d in sorted(primary, key=rank)], area


def expected_picks(role, docs) -> list[str]:
    """The rule of kb/taxonomy.yml (roles: start_here), written out independently."""
    rule = role.start_here
    order = TAXONOMY.rating_slugs

    def key(d):
        rating = d.meta.evidence.rating if d.meta.evidence else "not-rated"
        return (
            not any(w in d.title.lower() for w in rule.topics),
            not any(w in d.meta.summary.lower() for w in rule.topics),
            d.meta.core_areas[0] not in rule.areas,
            order.index(rating),
            d.title.lower(),
        )

    briefs = [
        d for d in docs.values() if d.type == "practice-brief" and set(d.meta.core_areas) & set(rule.areas)
    ]
    peer_types = {t.slug for t in TAXONOMY.document_types if t.peer_learning}
    peer = [d for d in docs.values() if d.type in peer_types and role.slug in d.meta.audience]
    peer.sort(key=lambda d: (d.type, d.title.lower()))
    return [d.id for d in sorted(briefs, key=key)[:3]] + [d.id for d in peer[:2]]


def test_home_page_starts_each_role_from_front_matter(real_env, docs):
    settings, _, _ = real_env
    page = html(settings, "index")
    home = article(page)
    assert home.index('id="start-here"') < home.index('id="find-what-you-need"')
    assert "start-here" in toc_anchors(page)
    roles = {r.slug: r for r in TAXONOMY.roles if r.start_here}
    assert list(roles) == ROLES
    for slug, role in roles.items():
        block = re.search(rf'<div class="kb-start" data-role="{slug}">(.*?)</div>', home, re.S)
        assert block, slug
        picked = [h.removeprefix("./").rstrip("/") for h in re.findall(r'<a href="([^"]+)"', block.group(1))]
        assert 3 <= len(picked) <= 5, (slug, picked)
        assert picked == expected_picks(role, docs), slug


def test_abbreviations_get_tooltips_everywhere_and_a_glossary(real_env):
    settings, _, _ = real_env
    data = (DOCS / "overrides" / "abbreviations.md").read_text(encoding="utf-8")
    # every line is a definition: anything else would be appended to every page
    assert all(re.fullmatch(r"\*\[[^\]]+\]: \S.*", line) for line in data.splitlines()), data
    entries = dict(re.findall(r"^\*\[([^\]]+)\]: (.+)$", data, re.M))
    for abbr in ("NIBIN", "CGIC", "HIDTA", "PSN", "RTCC", "USAO", "ATF", "BJA", "COPS", "NIJ", "OJP"):
        assert abbr in entries, abbr
    assert entries["NIBIN"] == "National Integrated Ballistic Information Network"
    assert entries["PSN"] == "Project Safe Neighborhoods"
    assert entries["CGIC"] == "crime gun intelligence center"
    glossary = html(settings, "about/glossary")
    for abbr, meaning in entries.items():
        assert f'<tr id="{abbr.lower()}">' in glossary and meaning.replace("'", "&#39;") in glossary.replace(
            "'", "&#39;"
        ), abbr
    brief = html(settings, "briefs/nibin-lead-follow-up")
    assert '<abbr title="National Integrated Ballistic Information Network">NIBIN</abbr>' in brief
    assert '<abbr title="Project Safe Neighborhoods">PSN</abbr>' in html(
        settings, "briefs/project-safe-neighborhoods"
    )


# ---- site_url from configuration --------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_site(tmp_path_factory):
    from conftest import FakeEmbedder, tiny_tree

    base = tmp_path_factory.mktemp("site-url")
    docs = tiny_tree(base / "docs")
    embedder = FakeEmbedder()
    settings = Settings(
        docs_dir=docs,
        index_dir=base / "index",
        site_dir=base / "site",
        mkdocs_config=MKDOCS,
        model="fake-embedder",
    )
    update_index(settings, embedder=embedder)
    return settings, open_searcher(settings, embedder=embedder)


def canonical(site: Path, page: str) -> str:
    text = (site / page / "index.html").read_text()
    return re.search(r'<link rel="canonical" href="([^"]+)">', text).group(1)


def test_site_url_follows_the_configuration(tiny_site):
    settings, searcher = tiny_site
    public = settings.model_copy(update={"site_url": "https://kb.example.org/psp"})
    assert update_site(public, searcher=searcher)
    site = settings.site_dir
    assert canonical(site, "briefs/gvi") == "https://kb.example.org/psp/briefs/gvi/"
    sitemap = (site / "sitemap.xml").read_text()
    locs = re.findall(r"<loc>([^<]+)</loc>", sitemap)
    assert locs and all(loc.startswith("https://kb.example.org/psp/") for loc in locs)
    assert "Sitemap: https://kb.example.org/psp/sitemap.xml" in (site / "robots.txt").read_text()
    # served elsewhere without KB_SITE_URL: the server's own address, and the site is rebuilt
    elsewhere = settings.model_copy(update={"port": 9123})
    assert update_site(elsewhere, searcher=searcher)
    assert canonical(site, "briefs/gvi") == "http://127.0.0.1:9123/briefs/gvi/"
    assert not update_site(elsewhere, searcher=searcher)  # current: nothing to do


def test_a_plain_mkdocs_build_reads_kb_site_url(monkeypatch):
    from mkdocs.config import load_config

    monkeypatch.delenv("KB_SITE_URL", raising=False)
    assert load_config(str(MKDOCS)).site_url == "http://127.0.0.1:8000/"
    monkeypatch.setenv("KB_SITE_URL", "https://kb.example.org/")
    assert load_config(str(MKDOCS)).site_url == "https://kb.example.org/"
    monkeypatch.setenv("KB_SITE_URL", "http://127.0.0.1:9000/")
    assert Settings().public_url == "http://127.0.0.1:9000/"


def test_every_document_says_when_it_was_last_reviewed_under_its_title(real_env, docs):
    settings, _, _ = real_env
    missing = []
    for doc in docs.values():
        if not doc.meta.updated or doc.id in ("index", "search"):  # pages, not documents
            continue
        text = (settings.site_dir / page_path(doc.id) / "index.html").read_text()
        lead = text.split('id="page-summary"', 1)[-1]
        reviewed = f'Last reviewed <time datetime="{doc.meta.updated}">'
        if reviewed not in lead or ("<h2" in lead and lead.index(reviewed) > lead.index("<h2")):
            missing.append(doc.id)
    assert missing == []


def test_edit_links_follow_kb_repo_url(tiny_site, monkeypatch):
    settings, searcher = tiny_site
    monkeypatch.delenv("KB_REPO_URL", raising=False)
    assert update_site(settings, searcher=searcher, force=True)
    page = (settings.site_dir / "briefs" / "gvi" / "index.html").read_text()
    assert "/edit/" not in page  # no repository configured: no edit links
    monkeypatch.setenv("KB_REPO_URL", "https://github.com/example/psp-kb")
    assert update_site(settings, searcher=searcher, force=True)
    page = (settings.site_dir / "briefs" / "gvi" / "index.html").read_text()
    assert 'href="https://github.com/example/psp-kb/edit/main/docs/briefs/gvi.md"' in page
