"""Search on a tiny index with the fake embedder: filters, facets, k, grouping, determinism."""

from __future__ import annotations

import pytest
from conftest import brief_text, write_tree

from kb.errors import InvalidQuery
from kb.fusion import reciprocal_rank_fusion
from kb.matching import Thresholds
from kb.search import Query
from kb.snippets import make_snippet
from kb.workflow import open_searcher, update_index


@pytest.fixture
def searcher(tiny_settings, fake_embedder):
    update_index(tiny_settings, embedder=fake_embedder)
    return open_searcher(tiny_settings, embedder=fake_embedder)


def test_rrf_matches_the_formula():
    import numpy as np

    scores = reciprocal_rank_fusion([np.array([2, 0]), np.array([0, 1])], 3, k=60)
    assert scores[0] == pytest.approx(1 / 61 + 1 / 62)
    assert scores[1] == pytest.approx(1 / 62)
    assert scores[2] == pytest.approx(1 / 61)


def test_one_result_per_document_with_its_best_section(searcher):
    result = searcher.search(Query(q="witnesses afraid to testify", k=10))
    ids = [h.id for h in result.results]
    assert len(ids) == len(set(ids))
    assert ids[0] == "briefs/witness"
    assert result.results[0].url.startswith("/briefs/witness/")


def test_group_false_returns_sections(searcher):
    result = searcher.search(Query(q="witnesses afraid to testify", k=10, group=False))
    assert len({h.id for h in result.results}) < len(result.results)


@pytest.mark.parametrize(
    ("q", "filters", "check"),
    [
        ("violence", {"area": ("gun-violence",)}, lambda h: "gun-violence" in h.core_areas),
        (
            "violence",
            {"area": ("gun-violence", "investigations")},
            lambda h: {"gun-violence", "investigations"} & set(h.core_areas),
        ),
        ("operations and diagnostic team approaches", {"type": ("program",)}, lambda h: h.type == "program"),
        ("camera registries", {"evidence": ("mixed",)}, lambda h: h.evidence == "mixed"),
        (
            "violence",
            {"area": ("gun-violence",), "evidence": ("promising",)},
            lambda h: "gun-violence" in h.core_areas and h.evidence == "promising",
        ),
    ],
)
def test_filters_return_only_matching_documents(searcher, q, filters, check):
    result = searcher.search(Query(q=q, k=10, filters=filters))
    assert result.results
    assert all(check(h) for h in result.results)


def test_filters_by_site_and_component(searcher):
    by_site = searcher.search(Query(q="witnesses afraid", filters={"site": ("memphis-tn",)}))
    assert [h.id for h in by_site.results] == ["briefs/witness"]
    by_component = searcher.search(Query(q="gang members call-ins", filters={"component": ("atf",)}))
    assert [h.id for h in by_component.results] == ["briefs/gvi"]


def test_a_query_that_matches_nothing_returns_nothing_and_says_so(searcher):
    result = searcher.search(Query(q="zebra quantum", k=4, filters={"type": ("practice-brief",)}))
    assert result.match == "none" and result.results == [] and result.total == 0
    assert result.notice and "zebra quantum" in result.notice


def test_total_counts_only_documents_that_match_and_offset_pages_on(searcher):
    first = searcher.search(Query(q="violence shootings", k=1))
    assert first.match != "none" and first.total >= 2
    pages = [
        searcher.search(Query(q="violence shootings", k=1, offset=i)).results[0].id
        for i in range(first.total)
    ]
    assert len(set(pages)) == first.total  # every matching document once, in order
    assert searcher.search(Query(q="violence shootings", k=1, offset=first.total)).results == []


@pytest.mark.parametrize(("offset", "k"), [(-1, 10), (95, 10), (100, 1)])
def test_paging_stops_at_a_depth_of_100(searcher, offset, k):
    with pytest.raises(InvalidQuery, match="offset must be 0 or more, and offset \\+ k at most 100"):
        searcher.search(Query(q="violence", k=k, offset=offset))


def test_facets_count_matching_documents_ignoring_their_own_filter(searcher):
    everything = searcher.search(Query(q="gun violence shootings", k=10))
    filtered = searcher.search(Query(q="gun violence shootings", k=10, filters={"area": ("technology",)}))
    # the area facet does not shrink when an area is chosen, so chips show what a click gives
    assert filtered.facets["core_areas"] == everything.facets["core_areas"]
    # the type facet does follow the area filter
    assert sum(filtered.facets["type"].values()) <= sum(everything.facets["type"].values())
    assert filtered.facets["type"].get("practice-brief") == filtered.total


def test_the_same_query_gives_the_same_answer(searcher):
    a = searcher.search(Query(q="violence", k=10))
    b = searcher.search(Query(q="violence", k=10))
    assert a == b


def test_named_core_area_is_detected(searcher):
    result = searcher.search(Query(q="gun violence strategies", k=5))
    assert "gun-violence" in result.query_areas


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (Query(q="   "), "q must not be empty"),
        (Query(q="x" * 501), "at most 500"),
        (Query(q="x", k=0), "k must be between 1 and 50"),
        (Query(q="x", k=51), "k must be between 1 and 50"),
        (Query(q="x", filters={"area": ("guns",)}), "unknown area 'guns'; allowed: federal-partnerships"),
        (Query(q="x", filters={"type": ("memo",)}), "unknown type 'memo'; allowed: practice-brief"),
        (Query(q="x", filters={"evidence": ("great",)}), "unknown evidence 'great'; allowed: effective"),
    ],
)
def test_invalid_queries_say_what_is_allowed(searcher, query, message):
    with pytest.raises(InvalidQuery, match=message):
        searcher.search(query)


def test_control_characters_are_dropped(searcher):
    assert searcher.search(Query(q="gun\x00\x1b violence")).query == "gun violence"


def test_snippet_marks_query_terms_and_escapes_everything_else():
    text = "Shooting reviews <script>alert(1)</script> & <img src=x onerror=alert(2)> help."
    snippet = make_snippet(text, "shootings review")
    assert "<mark>Shooting</mark>" in snippet and "<mark>reviews</mark>" in snippet
    assert "<script>" not in snippet and "<img" not in snippet
    assert "&lt;script&gt;" in snippet and "&amp;" in snippet
    assert snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0


def test_snippet_windows_around_the_matches():
    text = " ".join(["filler"] * 100 + ["ballistic", "evidence"] + ["tail"] * 100)
    snippet = make_snippet(text, "ballistic evidence")
    assert snippet.startswith("… ") and snippet.endswith(" …")
    assert "<mark>ballistic</mark> <mark>evidence</mark>" in snippet


def test_related_documents(searcher, tiny_settings):
    related = searcher.related("briefs/gvi", k=3, types=("practice-brief",))
    assert len(related) == 3
    assert "briefs/gvi" not in [r.id for r in related]
    assert all(r.type == "practice-brief" for r in related)


def test_any_folder_of_markdown_can_be_indexed(tmp_path, fake_embedder):
    from conftest import MKDOCS

    from kb.settings import Settings

    docs = write_tree(
        tmp_path / "docs", {"notes/one.md": brief_text("Only one").replace("- [Other](other.md)", "")}
    )
    settings = Settings(docs_dir=docs, index_dir=tmp_path / "i", mkdocs_config=MKDOCS)
    update_index(settings, embedder=fake_embedder)
    s = open_searcher(settings, embedder=fake_embedder)
    assert [h.id for h in s.search(Query(q="only", k=5)).results] == ["notes/one"]


def test_a_section_holding_every_word_of_the_query_is_at_least_a_weak_match():
    from kb.lexical import LexicalIndex
    from kb.matching import judge

    index = LexicalIndex.build(
        ["clergy walking the streets at night", "streets and lights", "night shift staffing"]
    )
    assert index.covering("clergy walking the streets at night").tolist() == [0]
    assert index.covering("streets at night").tolist() == [0]  # both terms in one section only
    assert index.covering("night").tolist() == []  # one word proves nothing
    assert index.covering("night pizza").tolist() == []  # a word the corpus lacks
    t = THRESHOLDS
    assert judge(0.30, True, False, t) == "none"
    assert judge(0.30, True, False, t, covered=True) == "weak"
    assert judge(0.30, True, True, t, covered=True) == "none"  # another language stays none


def test_no_shared_word_and_a_faint_likeness_is_no_match():
    from kb.matching import judge

    t = THRESHOLDS
    assert judge(0.40, False, False, t) == "none"  # "jjjj kkkk": nothing in common
    assert judge(0.40, True, False, t) == "weak"
    assert judge(0.50, False, False, t) == "good"  # close in meaning, other words: a match


THRESHOLDS = Thresholds(
    none_below=0.36,
    weak_below=0.44,
    needs_shared_word=False,
    document_min_similarity=0.25,
    language_confidence=0.55,
    unknown_share=0.5,
)
