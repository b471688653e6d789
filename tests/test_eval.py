"""Quality against the golden set: hybrid must beat each arm alone and the site's own search."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.evaluation import (
    DEFAULT_GOLDEN,
    DEFAULT_NEGATIVES,
    METHODS,
    evaluate,
    evaluate_no_match,
    format_table,
    load_golden,
)
from kb.search import Query

HOLDOUT = Path(DEFAULT_GOLDEN).with_name("golden_holdout.yml")

pytestmark = pytest.mark.model


def test_the_golden_set_is_large_and_graded():
    queries = load_golden(DEFAULT_GOLDEN)
    assert len(queries) >= 60
    assert len({q["q"] for q in queries}) == len(queries)
    for q in queries:
        assert q["relevant"] and max(q["relevant"].values()) == 3
        assert all(g in (1, 2, 3) for g in q["relevant"].values())


@pytest.fixture(scope="module")
def report(real_env):
    settings, searcher, _ = real_env
    return evaluate(searcher, DEFAULT_GOLDEN, settings.site_dir)


def test_hybrid_beats_each_single_arm_and_the_builtin_search(report):
    scores = {m: report["methods"][m]["ndcg@10"] for m in METHODS}
    print("\n" + format_table(report))
    for other in ("dense", "lexical", "builtin"):
        assert scores["hybrid"] > scores[other], scores


def test_hybrid_meets_the_quality_target(report):
    # The set grew in December 2026 (peer-learning and what-works queries, and pooled judgments
    # of the new pages), which raised every query's ideal DCG: the engine before that work
    # scored 0.789 / 0.884 on it, this one 0.799 / 0.889.
    hybrid = report["methods"]["hybrid"]
    assert hybrid["ndcg@10"] >= 0.79
    assert hybrid["recall@20"] >= 0.88


@pytest.fixture(scope="module")
def holdout(real_env):
    settings, searcher, _ = real_env
    return evaluate(searcher, HOLDOUT, settings.site_dir)


def test_held_out_quality_and_subsets(holdout):
    print("\n" + format_table(holdout))
    scores = {m: holdout["methods"][m]["ndcg@10"] for m in METHODS}
    assert scores["hybrid"] >= 0.80 and scores["hybrid"] > scores["lexical"] > scores["builtin"]
    for tag in ("peer-learning", "what-works"):
        sub = holdout["subsets"][tag]["methods"]
        assert sub["hybrid"]["ndcg@10"] >= 0.75
        assert sub["hybrid"]["ndcg@10"] > sub["builtin"]["ndcg@10"]


def test_the_golden_sets_carry_peer_learning_and_what_works_queries():
    train, held = load_golden(DEFAULT_GOLDEN), load_golden(HOLDOUT)
    for tag, least in (("peer-learning", 15), ("what-works", 8)):
        tagged = [q for q in train + held if tag in q.get("tags", [])]
        assert len(tagged) >= least
        assert any(tag in q.get("tags", []) for q in held), f"no held-out {tag} queries"


@pytest.mark.parametrize(("golden", "part"), [(DEFAULT_GOLDEN, "train"), (HOLDOUT, "holdout")])
def test_no_match_is_precise_and_finds_the_unanswerable(real_env, golden, part):
    _, searcher, _ = real_env
    result = evaluate_no_match(searcher, golden, DEFAULT_NEGATIVES, part)
    print(f"\nno match ({part}): precision {result['precision']}, recall {result['recall']}")
    assert result["unanswerable"] >= 15
    assert result["precision"] >= 0.95 and result["recall"] >= 0.9, result


def test_gun_violence_strategies_puts_rated_practices_and_focused_deterrence_first(real_env):
    _, searcher, _ = real_env
    result = searcher.search(Query(q="gun violence strategies", k=5))
    ids = [h.id for h in result.results]
    assert "briefs/focused-deterrence-gvi" in ids[:3]
    for hit in result.results:
        assert hit.id == "areas/gun-violence" or (
            "gun-violence" in hit.core_areas and hit.evidence in ("effective", "promising")
        ), hit
    assert result.notice == "Showing practices with evidence first."


def test_a_peer_learning_question_finds_the_exchange_first(real_env):
    _, searcher, _ = real_env
    result = searcher.search(Query(q="which city could we visit to see a shooting review?"))
    assert result.results[0].id == "exchanges/kansas-city-to-milwaukee-shooting-review-2019"


def test_builtin_search_is_evaluated_on_the_real_lunr_index(report):
    # the baseline is live, not a stub: it finds things, and ranks differently from ours
    builtin = report["methods"]["builtin"]
    assert 0.2 < builtin["ndcg@10"] < report["methods"]["hybrid"]["ndcg@10"]
    assert any(row["builtin"] != row["hybrid"] for row in report["per_query"])


def test_the_int8_encoder_moves_quality_by_less_than_0005(real_env, tmp_path):
    """The int8 copy of the export (KB_EMBEDDER=onnx-int8) against the served fp32: the same
    content indexed and queried each way scores within 0.005 nDCG@10 on both golden sets."""
    from kb.workflow import embedder_for, open_searcher, update_index

    settings, searcher, _ = real_env
    assert searcher.embedder.backend == "onnx-fp32"
    int8 = settings.model_copy(update={"embedder": "onnx-int8", "index_dir": tmp_path / "int8"})
    update_index(int8, embedder=embedder_for(int8, threads=2))
    quantized = open_searcher(int8)
    assert quantized.embedder.backend == "onnx-int8"
    for golden in (HOLDOUT, DEFAULT_GOLDEN):
        low = evaluate(quantized, golden, settings.site_dir)["methods"]["hybrid"]["ndcg@10"]
        full = evaluate(searcher, golden, settings.site_dir)["methods"]["hybrid"]["ndcg@10"]
        print(f"\n{golden.name}: int8 {low:.3f}, fp32 {full:.3f}")
        assert abs(low - full) < 0.005
