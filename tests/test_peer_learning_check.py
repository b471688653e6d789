"""The peer-learning types (exchange, community, case study, toolkit): their templates, `kb new`
kinds and `kb check` rules, with the same kind of bad-document table as briefs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import MKDOCS, tiny_tree
from test_check import assert_reported, run_check, sub
from typer.testing import CliRunner

from kb.cli import app

runner = CliRunner()

NEWSLETTER = """  - title: "The PSP Impact (October-December 2019)"
    venue: National Public Safety Partnership
    year: 2020
    url: "https://createsend.com/t/t-DFBEB612676A11C02540EF23F30FEDED"
"""
EVALUATION = """  - authors: "Braga, A. A., Weisburd, D., & Turchan, B."
    title: "Focused deterrence strategies and crime control"
    venue: "Criminology & Public Policy, 17(1)"
    year: 2018
    doi: "10.1111/1745-9133.12353"
"""

GOOD = {
    "exchange": f"""---
title: "Kansas City to Milwaukee: shooting review (2019)"
summary: "Kansas City partners visited Milwaukee to observe its shooting review."
type: peer-exchange
core_areas: [gun-violence, investigations]
host: milwaukee-wi
visitors:
  - kansas-city-mo
  - {{agency: "Jackson County Prosecutor's Office", place: "Kansas City, Missouri"}}
date: "2019-11"
format: in-person
practices: [gvi]
updated: 2025-01-15
sources:
{NEWSLETTER}---

## Who took part

Milwaukee hosted Kansas City.

## What they looked at

The shooting review.

## What followed

The source does not report what followed.

## Related resources

- [Group violence intervention](../briefs/gvi.md)
""",
    "community": f"""---
title: "Crime Analysis Community of Practice"
summary: "Crime analysts from PSP sites share work products."
type: community-of-practice
core_areas: [crime-analysis]
audience: [crime-analyst]
updated: 2025-01-15
sources:
{NEWSLETTER}---

## Purpose

Analysis as a core function.

## Who it is for

Analysts.

## What it does

Monthly calls.

## How to take part

Contact the PSP team.

## Related resources

- [Other brief](../briefs/other.md)
""",
    "case-study": f"""---
title: "Group violence reduction in a test city"
summary: "A focused deterrence program and its evaluation."
type: case-study
core_areas: [gun-violence]
sites: [cincinnati-oh]
period: "2007-2010"
psp_timing: predates
evidence:
  rating: promising
  basis: "A quasi-experimental evaluation."
practices: [gvi]
updated: 2025-01-15
sources:
{EVALUATION}{NEWSLETTER}---

## The program

Focused deterrence.

## Who ran it and when

Police and partners, 2007-2010.

## What was done

Call-ins.

## Results and their evidence

A reduction in group-member-involved homicides.

## PSP and this program

It predates the city's PSP engagement.

## Lessons for other sites

Start with a problem analysis.

## Related resources

- [Group violence intervention](../briefs/gvi.md)
""",
    "toolkit": """---
title: "Request a peer exchange"
summary: "How to ask for a peer exchange."
type: toolkit
core_areas: [federal-partnerships]
audience: [law-enforcement-leader, crime-analyst]
updated: 2025-01-15
sources: []
---

## What it is for

Asking for an exchange.

## Template: request form

[agency name] requests ...

## Related resources

- [Other brief](../briefs/other.md)
""",
}
FOLDER = {
    "exchange": "exchanges",
    "community": "communities",
    "case-study": "case-studies",
    "toolkit": "toolkits",
}

# (kind, case, edit applied to a valid page, where the problem is reported (a needle), message)
CASES = [
    (
        "exchange",
        "unknown host site",
        sub("host: milwaukee-wi", "host: gotham-nj"),
        "host:",
        "unknown site 'gotham-nj' in 'host'; allowed: compton-ca",
    ),
    (
        "exchange",
        "missing host",
        sub("host: milwaukee-wi\n", ""),
        1,
        "a peer-exchange needs 'host': the host's site slug",
    ),
    (
        "exchange",
        "unknown visiting site",
        sub("  - kansas-city-mo", "  - kansas-city-ks"),
        "kansas-city-ks",
        "unknown site 'kansas-city-ks' in 'visitors'",
    ),
    (
        "exchange",
        "agency without a name",
        sub('{agency: "Jackson County Prosecutor\'s Office", ', "{"),
        "Kansas City, Missouri",
        "must be a site slug or {agency: ..., place: ...}",
    ),
    (
        "exchange",
        "no visitors",
        sub(
            'visitors:\n  - kansas-city-mo\n  - {agency: "Jackson County '
            'Prosecutor\'s Office", place: "Kansas City, Missouri"}',
            "visitors: []",
        ),
        "visitors:",
        "a peer-exchange needs 'visitors'",
    ),
    (
        "exchange",
        "host visits itself",
        sub("  - kansas-city-mo", "  - milwaukee-wi"),
        "visitors:",
        "'milwaukee-wi' is both the host and a visitor",
    ),
    (
        "exchange",
        "future date",
        sub('date: "2019-11"', 'date: "2999-01"'),
        "date:",
        "in the future; record an exchange once it has taken place",
    ),
    (
        "exchange",
        "malformed date",
        sub('date: "2019-11"', 'date: "November 2019"'),
        "date:",
        "'date' must be YYYY-MM or YYYY-MM-DD",
    ),
    (
        "exchange",
        "impossible month",
        sub('date: "2019-11"', 'date: "2019-13"'),
        "date:",
        "is not a real date",
    ),
    (
        "exchange",
        "unknown format",
        sub("format: in-person", "format: hybrid"),
        "format:",
        "unknown format 'hybrid' in 'format'; allowed: in-person, virtual",
    ),
    (
        "exchange",
        "source without a link",
        sub('    url: "https://createsend.com/t/t-DFBEB612676A11C02540EF23F30FEDED"\n', ""),
        "  - title:",
        "this source needs a 'url' or a 'doi'",
    ),
    (
        "exchange",
        "plain-string source",
        sub(
            '  - title: "The PSP Impact (October-December 2019)"\n'
            "    venue: National Public Safety Partnership\n"
            "    year: 2020\n",
            '  - "The PSP Impact, 2019"\n  - title: "x"\n',
        ),
        "The PSP Impact, 2019",
        "this source needs a link",
    ),
    (
        "exchange",
        "malformed url",
        sub("https://createsend.com", "createsend.com"),
        "url:",
        "is not a web address",
    ),
    (
        "exchange",
        "missing section",
        sub("## What followed\n\nThe source does not report what followed.\n", ""),
        "<body>",
        "missing section '## What followed'; a peer exchange has these sections in order",
    ),
    (
        "exchange",
        "unknown practice",
        sub("practices: [gvi]", "practices: [gvi, ceasefire]"),
        "practices:",
        "unknown brief 'ceasefire' in 'practices'",
    ),
    (
        "community",
        "no audience",
        sub("audience: [crime-analyst]\n", ""),
        1,
        "a community-of-practice needs 'audience'",
    ),
    (
        "community",
        "unknown role",
        sub("audience: [crime-analyst]", "audience: [analyst]"),
        "audience:",
        "unknown role 'analyst' in 'audience'; allowed: law-enforcement-leader",
    ),
    (
        "community",
        "no sources",
        lambda t: t.split("sources:")[0] + "sources: []\n---\n" + t.split("\n---\n", 1)[1],
        "sources: []",
        "a community-of-practice needs 'sources'",
    ),
    (
        "case-study",
        "no PSP timing",
        sub("psp_timing: predates\n", ""),
        1,
        "a case-study needs 'psp_timing': one of predates, during, postdates",
    ),
    (
        "case-study",
        "unknown PSP timing",
        sub("psp_timing: predates", "psp_timing: before"),
        "psp_timing:",
        "unknown PSP timing 'before'",
    ),
    ("case-study", "no site", sub("sites: [cincinnati-oh]\n", ""), 1, "a case-study needs 'sites'"),
    (
        "case-study",
        "unknown site",
        sub("sites: [cincinnati-oh]", "sites: [cincinatti-oh]"),
        "sites:",
        "unknown site 'cincinatti-oh' in 'sites'",
    ),
    (
        "case-study",
        "no evidence rating",
        sub('evidence:\n  rating: promising\n  basis: "A quasi-experimental evaluation."\n', ""),
        1,
        "a case-study needs 'evidence'",
    ),
    (
        "case-study",
        "malformed period",
        sub('period: "2007-2010"', 'period: "since 2007"'),
        "period:",
        "'period' must be YYYY, YYYY-YYYY or YYYY-present",
    ),
    ("case-study", "one source", sub(NEWSLETTER, ""), "sources:", "a case-study needs 'sources': at least 2"),
    (
        "case-study",
        "malformed doi",
        sub("10.1111/1745-9133.12353", "doi.org/10.1111/x"),
        "doi:",
        "is not a DOI",
    ),
    (
        "case-study",
        "same url twice",
        sub(EVALUATION, NEWSLETTER),
        lambda text: [i for i, x in enumerate(text.split("\n"), 1) if "url:" in x][-1],
        "the same url is cited twice (also source 1)",
    ),
    (
        "case-study",
        "sections out of order",
        lambda t: (
            t.replace("## The program", "## TMP")
            .replace("## What was done", "## The program")
            .replace("## TMP", "## What was done")
        ),
        "## What was done",
        "sections out of order",
    ),
    (
        "toolkit",
        "no audience",
        sub("audience: [law-enforcement-leader, crime-analyst]\n", ""),
        1,
        "a toolkit needs 'audience'",
    ),
    (
        "toolkit",
        "missing first section",
        sub("## What it is for", "## Purpose"),
        "<body>",
        "missing section '## What it is for'",
    ),
    (
        "toolkit",
        "unknown source field",
        sub("sources: []", 'sources:\n  - title: "x"\n    link: "https://example.org/x"'),
        "link:",
        "unknown source field 'link'",
    ),
]


def _tree(tmp_path: Path) -> Path:
    docs = tiny_tree(tmp_path / "docs")
    for kind, text in GOOD.items():
        path = docs / FOLDER[kind] / f"good-{kind}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return docs


def test_a_valid_page_of_every_type_passes(tmp_path):
    result = run_check(_tree(tmp_path))
    assert result.exit_code == 0, result.output
    assert "ok: 9 documents" in result.output


@pytest.mark.parametrize(
    ("kind", "case", "edit", "where", "message"), CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES]
)
def test_each_bad_page_is_reported_precisely(tmp_path, kind, case, edit, where, message):
    docs = _tree(tmp_path)
    path = docs / FOLDER[kind] / f"good-{kind}.md"
    assert_reported(tmp_path, docs, path, edit(GOOD[kind]), where, message)


def test_a_quarter_is_a_date_when_the_source_gives_no_finer_one(tmp_path):
    docs = _tree(tmp_path)
    path = docs / "exchanges" / "good-exchange.md"
    path.write_text(GOOD["exchange"].replace('date: "2019-11"', 'date: "2019-Q4"'))
    assert run_check(docs).exit_code == 0
    this_quarter = f"{dt.date.today().year + 1}-Q1"
    path.write_text(GOOD["exchange"].replace('date: "2019-11"', f'date: "{this_quarter}"'))
    assert "in the future" in run_check(docs).output


@pytest.mark.parametrize("kind", ["exchange", "community", "case-study", "toolkit", "brief"])
def test_kb_new_writes_each_kind_into_its_folder_and_check_refuses_it_until_filled(tmp_path, kind):
    docs = tiny_tree(tmp_path / "docs")
    r = runner.invoke(
        app, ["new", kind, "--title", "Tulsa to Memphis: RTCC", "--area", "technology", "--docs", str(docs)]
    )
    assert r.exit_code == 0, r.output
    folder = {"brief": "briefs", **FOLDER}[kind]
    path = docs / folder / "tulsa-to-memphis-rtcc.md"
    assert path.is_file()
    text = path.read_text()
    assert 'title: "Tulsa to Memphis: RTCC"' in text and "  - technology" in text
    result = run_check(docs)
    assert result.exit_code == 1
    assert f"{path}:" in result.output and "template placeholder 'TODO'" in result.output


def test_kb_new_refuses_an_unknown_kind(tmp_path):
    docs = tiny_tree(tmp_path / "docs")
    r = runner.invoke(app, ["new", "webinar", "--title", "X", "--area", "technology", "--docs", str(docs)])
    assert r.exit_code == 1
    assert "unknown kind 'webinar'; allowed: brief, exchange, community, case-study, toolkit" in (r.output)


def test_exchange_sites_reach_the_search_filters(tmp_path):
    """An exchange is about its host and visitors: the `site` filter finds it by either."""
    from kb.chunking import chunk_document
    from kb.documents import parse_document
    from kb.facets import facet_schema
    from kb.rendering import render_page
    from kb.taxonomy import load_taxonomy

    docs = _tree(tmp_path)
    rel = Path("exchanges/good-exchange.md")
    taxonomy = load_taxonomy()
    doc, problems = parse_document(docs / rel, rel, taxonomy)
    assert doc is not None and not problems
    chunks = chunk_document(doc, render_page(doc.body, MKDOCS).sections, facet_schema(taxonomy))
    assert chunks and all(c.facets["site"] == ["milwaukee-wi", "kansas-city-mo"] for c in chunks)
