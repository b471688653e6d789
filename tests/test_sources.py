"""Sources a reader can open: structured sources and their checks (`kb check`, `--strict`),
in-text citations linked to the page's source list, and the index of every cited work."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import brief_text, write_tree
from test_check import assert_reported, run_check, sub

from kb.citations import author_surnames, link_citations
from kb.documents import parse_documents
from kb.sources import Source, cited_works
from kb.taxonomy import load_taxonomy

BRAGA = """  - authors: "Braga, A. A., Weisburd, D., & Turchan, B."
    year: 2018
    title: "Focused deterrence strategies and crime control"
    venue: "Criminology & Public Policy, 17(1), 205-250"
    doi: "10.1111/1745-9133.12353"
"""
KENNEDY = """  - authors: "Kennedy, D. M."
    year: 2011
    title: "Don't Shoot"
    venue: "Bloomsbury"
    url: "https://example.org/dont-shoot"
"""
RATING_URL = '  url: "https://doi.org/10.1111/1745-9133.12353"\n'


def linked_brief(title: str, areas: tuple[str, ...] = ("gun-violence",)) -> str:
    """A brief in the structured form: linked sources, its rating's source, in-text citations."""
    text = brief_text(
        title,
        areas,
        how="Call-ins deliver the message (Braga, Weisburd & Turchan, 2018); Kennedy (2011) tells the story.",
    )
    head, rest = text.split("sources:\n", 1)
    head = head.replace('meta-analysis."\n', 'meta-analysis."\n' + RATING_URL, 1)
    return head + "sources:\n" + BRAGA + KENNEDY + "---\n" + rest.split("---\n", 1)[1]


GOOD = linked_brief("Linked brief")


def _linked_tree(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "docs", {"briefs/other.md": linked_brief("Other brief")})


def _last_line_with(needle: str):
    return lambda text: [i for i, x in enumerate(text.split("\n"), 1) if needle in x][-1]


# (case, edit applied to a valid linked brief, where the problem is reported (a needle, or a
# function of the text), words the message must contain, `kb check` options)
CASES = [
    (
        "no link under --strict",
        sub('    url: "https://example.org/dont-shoot"\n', ""),
        '  - authors: "Kennedy',
        "this source needs a 'url' or a 'doi' so readers can open it",
        ("--strict",),
    ),
    (
        "plain string under --strict",
        sub(KENNEDY, '  - "Kennedy, D. M. (2011). Don\'t Shoot."\n'),
        '  - "Kennedy, D. M.',
        "this source needs a link: write it as fields",
        ("--strict",),
    ),
    (
        "malformed doi",
        sub('doi: "10.1111/1745-9133.12353"', 'doi: "doi.org/10.1111/x"'),
        "doi:",
        "'doi' 'doi.org/10.1111/x' is not a DOI; write it as 10.xxxx/suffix",
        (),
    ),
    (
        "malformed url",
        sub('url: "https://example.org/dont-shoot"', 'url: "example.org/x"'),
        'url: "example.org/x"',
        "'url' 'example.org/x' is not a web address",
        (),
    ),
    (
        "url that would end its href",
        sub(
            'url: "https://example.org/dont-shoot"', """url: 'https://example.org/x"onmouseover="alert(1)'"""
        ),
        "onmouseover",
        "is not a web address",
        (),
    ),
    (
        "duplicate url",
        sub(KENNEDY, KENNEDY + KENNEDY.replace("Don't Shoot", "Don't Shoot, again")),
        _last_line_with("url:"),
        "the same url is cited twice (also source 2); cite each work once",
        (),
    ),
    (
        "duplicate doi",
        sub(KENNEDY, KENNEDY + BRAGA.replace("2018", "2019")),
        _last_line_with("doi:"),
        "the same doi is cited twice (also source 1)",
        (),
    ),
    (
        "doi cited again as its doi.org url",
        sub('url: "https://example.org/dont-shoot"', 'url: "https://doi.org/10.1111/1745-9133.12353"'),
        _last_line_with("url:"),
        "the same url is cited twice (also source 1)",
        (),
    ),
    (
        "evidence.url not among the sources",
        sub(RATING_URL, '  url: "https://example.org/review"\n'),
        "https://example.org/review",
        "'evidence.url' 'https://example.org/review' is not the url of any of this page's sources",
        (),
    ),
    (
        "rated brief without evidence.url under --strict",
        sub(RATING_URL, ""),
        "evidence:",
        "a brief rated 'promising' needs 'evidence.url'",
        ("--strict",),
    ),
]


@pytest.mark.parametrize(("case", "edit", "where", "message", "options"), CASES, ids=[c[0] for c in CASES])
def test_each_bad_source_is_reported_precisely(tmp_path, case, edit, where, message, options):
    docs = _linked_tree(tmp_path)
    assert_reported(tmp_path, docs, docs / "briefs" / "zz-new.md", edit(GOOD), where, message, *options)


def test_a_brief_with_linked_sources_passes_strict(tmp_path):
    docs = _linked_tree(tmp_path)
    (docs / "briefs" / "new.md").write_text(GOOD)
    result = run_check(docs, "--strict")
    assert result.exit_code == 0, result.output
    assert "ok: 2 documents (2 practice briefs)" in result.output and "warning" not in (result.output)


def test_plain_string_sources_warn_and_fail_only_under_strict(tmp_path):
    docs = _linked_tree(tmp_path)
    path = docs / "briefs" / "old.md"
    path.write_text(brief_text("Old form"))  # plain-string sources, no evidence.url
    line = next(i for i, x in enumerate(path.read_text().split("\n"), 1) if x.startswith('  - "'))

    plain = run_check(docs)
    assert plain.exit_code == 0, plain.output
    assert f"{path}:{line}: warning: this source needs a link" in plain.output
    assert "warning(s), which --strict refuses" in plain.output

    strict = run_check(docs, "--strict")
    assert strict.exit_code == 1
    assert f"{path}:{line}: this source needs a link" in strict.output
    assert "warning:" not in strict.output


def test_a_not_rated_brief_needs_no_evidence_url(tmp_path):
    docs = _linked_tree(tmp_path)
    (docs / "briefs" / "new.md").write_text(
        GOOD.replace("rating: promising", "rating: not-rated").replace(RATING_URL, "")
    )
    assert run_check(docs, "--strict").exit_code == 0


# ---- in-text citations ---------------------------------------------------------------------

SOURCES: list[Source | str] = [
    Source(
        authors="Braga, A. A., Weisburd, D., & Turchan, B.",
        year=2018,
        title="Focused deterrence",
        doi="10.1111/1745-9133.12353",
    ),
    "Kennedy, D. M. (2011). Don't Shoot. Bloomsbury.",  # plain text: counted, never matched
    Source(
        authors="O'Shea, T. C., & Nicholls, K.",
        year=2003,
        title="Crime analysis in America",
        url="https://example.org/oshea.pdf",
    ),
    Source(
        authors="Santos, R. B., & Taylor, B.",
        year=2014,
        title="Integration",
        url="https://example.org/santos",
    ),
    Source(
        authors="International Association of Crime Analysts",
        year=2014,
        title="Definition and types of crime analysis",
        url="https://example.org/iaca",
    ),
    Source(
        authors="Engel, R. S., McManus, H. D., & Herold, T. D.",
        year=2020,
        title="Does de-escalation training work?",
        doi="10.1111/1745-9133.12467",
    ),
    Source(
        authors="Engel, R. S., Corsaro, N., Isaza, G. T., & McManus, H. D.",
        year=2020,
        title="Examining the impact of ICAT",
        url="https://example.org/icat",
    ),
    Source(authors="Cook, P. J.", year=2019, title="B title", url="https://example.org/cook-b"),
    Source(authors="Cook, P. J.", year=2019, title="A title", url="https://example.org/cook-a"),
]


def cite(html: str) -> list[tuple[str, str]]:
    """(link text, href) of every citation link in the linked HTML."""
    import re

    out = link_citations(html, SOURCES)
    return [
        (" ".join(t.split()).replace("&amp;", "&"), h)
        for h, t in re.findall(r'<a class="kb-cite" href="([^"]+)"[^>]*>(.*?)</a>', out, re.DOTALL)
    ]


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>It works (Braga et al., 2018).</p>", [("Braga et al., 2018", "#source-1")]),
        (
            "<p>(O'Shea &amp; Nicholls, 2003; Santos &amp; Taylor, 2014)</p>",
            [("O'Shea & Nicholls, 2003", "#source-3"), ("Santos & Taylor, 2014", "#source-4")],
        ),
        ("<p>Santos &amp; Taylor (2014) define it.</p>", [("Santos & Taylor (2014)", "#source-4")]),
        (
            "<p>(International Association of Crime Analysts, 2014)</p>",
            [("International Association of Crime Analysts, 2014", "#source-5")],
        ),
        (
            "<p>(International Association of\nCrime Analysts, 2014)</p>",
            [("International Association of Crime Analysts, 2014", "#source-5")],
        ),
        ("<p>(O\u2019Shea &amp; Nicholls, 2003)</p>", [("O\u2019Shea & Nicholls, 2003", "#source-3")]),
        ("<p>(see Braga et al., 2018, p. 212)</p>", [("Braga et al., 2018, p. 212", "#source-1")]),
        ("<p>Braga, Weisburd &amp; Turchan (2018)</p>", [("Braga, Weisburd & Turchan (2018)", "#source-1")]),
        (
            "<p>Engel, McManus &amp; Herold (2020)</p>",  # two Engel 2020 works: the 2nd author decides
            [("Engel, McManus & Herold (2020)", "#source-6")],
        ),
        (
            "<p>Engel, Corsaro, Isaza &amp; McManus (2020)</p>",
            [("Engel, Corsaro, Isaza & McManus (2020)", "#source-7")],
        ),
        ("<p>(Engel et al., 2020)</p>", []),  # still two candidates: plain text, never a guess
        (
            "<p>(Cook, 2019a) and (Cook, 2019b)</p>",  # letters follow the order of the titles
            [("Cook, 2019a", "#source-9"), ("Cook, 2019b", "#source-8")],
        ),
        ("<p>(Kennedy, 2011)</p>", []),  # a plain-string source
        ("<p>(Smith, 2010) and (Braga et al., 2017)</p>", []),  # no such source, wrong year
        ("<h2 id='x'>Braga et al. (2018)</h2>", []),  # headings keep their permalink
        ("<p><code>(Braga et al., 2018)</code></p>", []),
        ("<pre><code>Braga et al. (2018)</code></pre>", []),
        ('<p><a href="https://example.org">Braga et al. (2018)</a></p>', []),  # already a link
        ("<p>In 2018 (a good year) crime fell.</p>", []),
    ],
)
def test_in_text_citations_link_to_their_entry(html, expected):
    assert cite(html) == expected


def test_linking_keeps_the_rest_of_the_html_as_it_was():
    html = '<p class="x">A &lt;b&gt; (Braga et al., 2018)<br>and <em>more</em>.</p>'
    out = link_citations(html, SOURCES)
    assert out == (
        '<p class="x">A &lt;b&gt; (<a class="kb-cite" href="#source-1" '
        'title="Focused deterrence">Braga et al., 2018</a>)<br>and <em>more</em>.</p>'
    )
    assert link_citations(html, ["plain only"]) == html


def test_author_surnames_read_apa_lists_and_organisations():
    assert author_surnames("Braga, A. A., Weisburd, D., & Turchan, B.") == ["Braga", "Weisburd", "Turchan"]
    assert author_surnames("O'Shea, T. C., and Nicholls, K.") == ["O'Shea", "Nicholls"]
    assert author_surnames("Police Executive Research Forum") == ["Police Executive Research Forum"]


# ---- the index of cited works --------------------------------------------------------------


def test_cited_works_are_deduplicated_and_most_cited_first(tmp_path):
    again = BRAGA.replace('doi: "10.1111/1745-9133.12353"', 'url: "https://doi.org/10.1111/1745-9133.12353"')
    docs_dir = write_tree(
        tmp_path / "docs",
        {
            "briefs/other.md": linked_brief("Other brief"),
            "briefs/gvi.md": linked_brief("Group violence").replace(BRAGA, again),
            "briefs/solo.md": linked_brief("Solo").replace(BRAGA, ""),
        },
    )
    docs, _ = parse_documents(docs_dir, load_taxonomy())
    works = cited_works(docs)
    assert [len(w.citations) for w in works] == [3, 2]
    kennedy, braga = works
    assert kennedy.source.title == "Don't Shoot"
    # one work by its DOI, whether a page gives the DOI or its doi.org URL
    assert braga.source.link == "https://doi.org/10.1111/1745-9133.12353"
    assert sorted(d.id for d, _ in braga.citations) == ["briefs/gvi", "briefs/other"]
    assert {n for _, n in braga.citations} == {1}
