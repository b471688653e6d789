"""Evaluation: the golden query set against hybrid search, each arm alone, and the site's own
built-in keyword search (Material's lunr index, evaluated with the lunr Python package)."""

from __future__ import annotations

import html
import re
import warnings
from pathlib import Path
from typing import Any

import yaml

from kb.errors import KBError
from kb.search import Query, Searcher

DEFAULT_GOLDEN = Path(__file__).with_name("golden.yml")
DEFAULT_NEGATIVES = Path(__file__).with_name("golden_negatives.yml")
METRICS = ["ndcg@10", "mrr@10", "recall@5", "recall@20"]
METHODS = ["hybrid", "dense", "lexical", "builtin"]
DEPTH = 20


def load_golden(path: Path) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        queries = data["queries"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise KBError(f"{path}: cannot read the golden set: {exc}") from exc
    return queries


def evaluate(searcher: Searcher, golden: Path, site_dir: Path) -> dict[str, Any]:
    """Score every method on the golden set; returns {method: {metric: value}, ...}."""
    queries = load_golden(golden)
    known = set(searcher.document_ids())
    missing = sorted({d for q in queries for d in q["relevant"] if d not in known})
    if missing:
        raise KBError(f"{golden}: relevant documents not in the index: {', '.join(missing)}")
    builtin = BuiltinSearch(site_dir, known)
    runs: dict[str, dict[str, list[str]]] = {m: {} for m in METHODS}
    for i, q in enumerate(queries):
        for method in ("hybrid", "dense", "lexical"):
            result = searcher.search(Query(q=q["q"], k=DEPTH, method=method))
            runs[method][f"q{i}"] = [h.id for h in result.results]
        runs["builtin"][f"q{i}"] = builtin.search(q["q"], DEPTH)
    graded = {f"q{i}": {d: int(g) for d, g in q["relevant"].items()} for i, q in enumerate(queries)}
    report: dict[str, Any] = {"queries": len(queries), "methods": _scores(graded, runs, list(graded))}
    report["per_query"] = [
        {"q": q["q"], **{m: runs[m][f"q{i}"][:3] for m in METHODS}} for i, q in enumerate(queries)
    ]
    # Tagged subsets ("peer-learning", "what-works"), scored on their own.
    report["subsets"] = {}
    for tag in sorted({t for q in queries for t in q.get("tags", [])}):
        ids = [f"q{i}" for i, q in enumerate(queries) if tag in q.get("tags", [])]
        report["subsets"][tag] = {"queries": len(ids), "methods": _scores(graded, runs, ids)}
    return report


def _scores(
    graded: dict[str, dict[str, int]], runs: dict[str, dict[str, list[str]]], ids: list[str]
) -> dict[str, dict[str, float]]:
    """Every method's metrics over the queries ``ids``."""
    from ranx import Qrels, Run
    from ranx import evaluate as ranx_evaluate

    qrels = Qrels({qid: graded[qid] for qid in ids})
    out = {}
    for method, ranked in runs.items():
        run = Run(
            {qid: {d: 1.0 / (r + 1) for r, d in enumerate(ranked[qid])} or {"__none__": 0.0} for qid in ids}
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numba's type-safety notes from inside ranx
            scores = ranx_evaluate(qrels, run, METRICS, make_comparable=True)
        out[method] = {m: round(float(scores[m]), 4) for m in METRICS}
    return out


def evaluate_no_match(searcher: Searcher, golden: Path, negatives: Path, part: str) -> dict[str, Any]:
    """Precision and recall of the "none" decision: the golden queries are answerable, the
    negatives (nonsense, out of scope, other languages) of the given part are not."""
    try:
        data = yaml.safe_load(negatives.read_text(encoding="utf-8"))
        unanswerable = [n["q"] for n in data[part]]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise KBError(f"{negatives}: cannot read the '{part}' negatives: {exc}") from exc
    answerable = [q["q"] for q in load_golden(golden)]
    said_none = {q for q in answerable + unanswerable if searcher.search(Query(q=q, k=1)).match == "none"}
    true_none = said_none & set(unanswerable)
    return {
        "part": part,
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "precision": round(len(true_none) / len(said_none), 4) if said_none else 1.0,
        "recall": round(len(true_none) / len(unanswerable), 4) if unanswerable else 1.0,
        "wrongly_none": sorted(said_none - set(unanswerable)),
        "missed": sorted(set(unanswerable) - said_none),
    }


def negatives_part(golden: Path) -> str:
    """The negatives that go with a golden file: its held-out part for a held-out file."""
    return "holdout" if "holdout" in golden.stem else "train"


def format_table(report: dict[str, Any]) -> str:
    lines = [
        f"golden set: {report['queries']} queries",
        f"{'method':<10}" + "".join(f"{m:>11}" for m in METRICS),
    ]
    for method, scores in report["methods"].items():
        lines.append(f"{method:<10}" + "".join(f"{scores[m]:>11.3f}" for m in METRICS))
    for tag, sub in report.get("subsets", {}).items():
        lines.append(f"subset '{tag}': {sub['queries']} queries")
        for method, scores in sub["methods"].items():
            lines.append(f"{method:<10}" + "".join(f"{scores[m]:>11.3f}" for m in METRICS))
    nm = report.get("no_match")
    if nm:
        lines.append(
            f"no match ({nm['part']} negatives: {nm['unanswerable']} unanswerable, "
            f"{nm['answerable']} answerable): precision {nm['precision']:.3f}, "
            f"recall {nm['recall']:.3f}"
        )
        if nm["wrongly_none"]:
            lines.append("  answerable but said none: " + "; ".join(nm["wrongly_none"]))
        if nm["missed"]:
            lines.append("  unanswerable but answered: " + "; ".join(nm["missed"]))
    return "\n".join(lines)


class BuiltinSearch:
    """The site's own keyword search, rebuilt from ``site/search/search_index.json``.

    Material indexes title (boost 1000), text and tags with lunr and adds a trailing wildcard to
    each query term; we mirror that with the lunr Python port and keep each page's best section.
    """

    def __init__(self, site_dir: Path, known_ids: set[str]):
        import json

        from lunr import lunr

        path = site_dir / "search" / "search_index.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise KBError(f"{path}: the built site's search index is missing; run 'kb site'") from exc
        self._known = known_ids
        docs = [
            {
                "location": d["location"],
                "title": _plain(d.get("title", "")),
                "text": _plain(d.get("text", "")),
                "tags": " ".join(d.get("tags") or []),
            }
            for d in data["docs"]
        ]
        self._index = lunr(
            ref="location",
            fields=[
                {"field_name": "title", "boost": 1000},
                {"field_name": "text"},
                {"field_name": "tags", "boost": 1000000},
            ],
            documents=docs,
        )

    def search(self, q: str, k: int) -> list[str]:
        terms = [t for t in re.split(r"[\s\-]+", q.lower()) if re.fullmatch(r"\w+", t)]
        if not terms:
            return []
        query = " ".join(f"{t} {t}*" for t in terms)
        out: list[str] = []
        for hit in self._index.search(query):
            doc_id = self._doc_id(hit["ref"])
            if doc_id not in out:
                out.append(doc_id)
            if len(out) == k:
                break
        return out

    def _doc_id(self, location: str) -> str:
        """'briefs/x/#a' → 'briefs/x'; 'areas/' → 'areas/index'; '' → 'index'."""
        path = location.split("#", 1)[0].strip("/")
        if not path:
            return "index"
        return path if path in self._known else f"{path}/index"


def _plain(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", text))
