"""Rendering and chunking: anchors as the site renders them, edge cases one line each."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from conftest import MKDOCS

from kb.chunking import WINDOW_PIECES, WINDOW_WORDS, chunk_document
from kb.documents import Document, FrontMatter
from kb.rendering import render_page


def doc(body: str, doc_id: str = "briefs/x") -> Document:
    meta = FrontMatter(
        title="Title",
        summary="Summary.",
        type="program",
        updated=dt.date(2025, 1, 1),
        core_areas=["gun-violence"],
    )
    return Document(id=doc_id, path=Path(doc_id + ".md"), meta=meta, body=body, body_line=1)


def chunks(body: str):
    d = doc(body)
    return chunk_document(d, render_page(body, MKDOCS).sections)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "Intro text.\n\n## How it works\n\nBody.",
            [("page-summary", "Title"), ("how-it-works", "How it works")],
        ),
        ("No headings at all, just text.", [("page-summary", "Title")]),
        ("## A\n\n```\n# not a heading\n```\n", [("page-summary", "Title"), ("a", "A")]),
        (
            "## Steps\n\nx\n\n## Steps\n\ny",
            [("page-summary", "Title"), ("steps", "Steps"), ("steps_1", "Steps")],
        ),
        (
            "## Évaluation des résultats\n\nx",
            [("page-summary", "Title"), ("evaluation-des-resultats", "Évaluation des résultats")],
        ),
        ("## Custom {#my-id}\n\nx", [("page-summary", "Title"), ("my-id", "Custom")]),
        ("## Related resources\n\n- [a](a.md)", [("page-summary", "Title")]),
    ],
)
def test_sections_and_anchors(body, expected):
    got = [(c.anchor, c.section) for c in chunks(body)]
    assert got == expected


def test_text_before_the_first_heading_belongs_to_the_page():
    first = chunks("Lead paragraph here.\n\n## Next\n\nmore")[0]
    assert first.anchor == "page-summary" and first.url == "/briefs/x/#page-summary"
    assert "Summary." in first.text and "Lead paragraph here." in first.text


def test_section_path_nests_h3_under_h2():
    c = [
        c for c in chunks("## Implementing it\n\nx\n\n### First 90 days\n\ny") if c.anchor == "first-90-days"
    ][0]
    assert c.section_path == ["Implementing it", "First 90 days"]
    assert c.url == "/briefs/x/#first-90-days"
    assert c.embed_text.startswith("Title > Implementing it > First 90 days\n")


def test_code_text_is_kept_but_heading_marks_are_not_taken_for_headings():
    c = chunks("## A\n\n```\n# not a heading\n```\n")[1]
    assert "# not a heading" in c.text


def test_long_sections_are_windowed_and_keep_their_anchor():
    words = " ".join(f"w{i}" for i in range(WINDOW_WORDS * 3))
    parts = [c for c in chunks(f"## Long\n\n{words}") if c.anchor == "long"]
    assert len(parts) >= 3
    assert all(len(p.text.split()) <= WINDOW_WORDS for p in parts)
    assert len({p.key for p in parts}) == len(parts)
    assert "w0" in parts[0].text and f"w{WINDOW_WORDS * 3 - 1}" in parts[-1].text


def test_punctuation_heavy_templates_are_windowed_by_word_pieces_too():
    # 60 "words" of a fill-in table are ~480 word pieces: one window would be cut off by the model
    row = "| [ ... ] | [date] | [ ... ] |"
    table = "\n".join([row] * 60)
    parts = [c for c in chunks(f"## Template: plan\n\n{table}") if c.anchor == "template-plan"]
    assert len(parts) >= 2
    for p in parts:
        assert len(re.findall(r"\w+|[^\w\s]", p.text)) <= WINDOW_PIECES


def test_content_hash_changes_with_text_only():
    a = chunks("## A\n\none")[1]
    b = chunks("## A\n\none")[1]
    c = chunks("## A\n\ntwo")[1]
    assert a.hash == b.hash != c.hash


def test_urls_follow_directory_urls():
    assert doc("x", "index").url == "/"
    assert doc("x", "briefs/index").url == "/briefs/"
    assert doc("x", "sites/memphis-tn").url == "/sites/memphis-tn/"


def test_pages_excluded_from_search_have_no_chunks():
    d = doc("Some text.\n\n## A\n\nmore")
    d.meta.search = {"exclude": True}
    assert chunk_document(d, render_page(d.body, MKDOCS).sections) == []
