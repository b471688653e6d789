"""``kb bench --scale``: the engine alone on a corpus grown to N chunks, without model work.

The real chunks are replicated to N: copy j of a chunk belongs to a document of its own
("<doc>~j"), carries the same text and filters, and has the chunk's vector plus Gaussian noise
(renormalized, about 0.93 cosine to the original), so every copy is a distinct, plausible
neighbour. Query vectors are computed once, before timing, and replayed by a lookup embedder,
so the figures are the engine's own: masks, retrieval, fusion, grouping, facets and snippets.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import replace
from typing import Any

import numpy as np

from kb.embedding import Embedder
from kb.index import IndexData, new_faiss_index
from kb.lexical import LexicalIndex
from kb.search import Query, Searcher
from kb.taxonomy import Taxonomy

NOISE = 0.02  # per dimension; a copy keeps ~0.93 cosine with its original
DEFAULT_SIZES = (1_000, 10_000, 100_000)


class ReplayEmbedder:
    """Answers with vectors computed in advance by the real model (no model work timed)."""

    def __init__(self, real: Embedder, texts: list[str]):
        self.name = real.name
        self.backend = real.backend
        self.fingerprint = real.fingerprint
        self.dimension = real.dimension
        self._real = real
        self._vectors = dict(zip(texts, real.embed(texts), strict=True))

    def embed(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        # A query the engine derives (a spelling fix, a "what works" topic) is embedded once,
        # in the warm-up round, and replayed after that.
        missing = [t for t in texts if t not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self._real.embed(missing), strict=True))
        return np.stack([self._vectors[t] for t in texts])


def replicate(data: IndexData, n: int, seed: int = 0) -> IndexData:
    """``data`` grown (or cut) to ``n`` chunks as the module docstring describes."""
    base = len(data.chunks)
    rng = np.random.default_rng(seed)
    chunks, rows = [], []
    for i in range(n):
        copy, row = divmod(i, base)
        c = data.chunks[row]
        if copy:
            c = replace(
                c,
                key=f"{c.key}~{copy}",
                doc_id=f"{c.doc_id}~{copy}",
                url=c.url.replace("/#", f"-{copy}/#", 1),
            )
        chunks.append(c)
        rows.append(row)
    vectors = data.vectors[rows].copy()
    copies = np.arange(n) >= base
    vectors[copies] += rng.normal(0, NOISE, size=(int(copies.sum()), vectors.shape[1]))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors.astype(np.float32)
    index = new_faiss_index(vectors.shape[1])
    index.add(vectors)
    lexical = LexicalIndex.build([c.embed_text for c in chunks])
    return IndexData(
        path=data.path,
        version=f"{data.version}-x{n}",
        manifest=data.manifest,
        chunks=chunks,
        vectors=vectors,
        faiss_index=index,
        lexical=lexical,
    )


def scale_bench(
    data: IndexData,
    embedder: Embedder,
    taxonomy: Taxonomy,
    queries: list[str],
    sizes: tuple[int, ...] = DEFAULT_SIZES,
    rounds: int = 3,
) -> list[dict[str, Any]]:
    """Engine p50/p99 per size, plain and with an area filter; ``rounds`` runs each."""
    import faiss

    faiss.omp_set_num_threads(1)  # as the server runs it: one math thread per request
    replay = ReplayEmbedder(embedder, queries)
    area = taxonomy.area_slugs[0]
    out = []
    for n in sizes:
        grown = replicate(data, n)
        searcher = Searcher(grown, replay, taxonomy)
        for q in queries:  # warm the code paths and the replayed vectors of derived queries
            searcher.search(Query(q=q))
            searcher.search(Query(q=q, filters={"area": (area,)}))
        row: dict[str, Any] = {"chunks": n, "documents": len(searcher.doc_ids)}
        for label, filters in (("plain", {}), ("filtered", {"area": (area,)})):
            runs = []
            for _ in range(rounds):
                ms = []
                for q in queries:
                    started = time.perf_counter()
                    searcher.search(Query(q=q, filters=filters))
                    ms.append((time.perf_counter() - started) * 1000)
                qs = statistics.quantiles(ms, n=100, method="inclusive")
                runs.append((qs[49], qs[98]))
            row[label] = {"p50_ms": _spread([r[0] for r in runs]), "p99_ms": _spread([r[1] for r in runs])}
        out.append(row)
    return out


def _spread(values: list[float]) -> dict[str, float]:
    """Median of the runs and their min-max spread."""
    return {
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
    }


def format_scale(rows: list[dict[str, Any]]) -> str:
    lines = [
        f"{'chunks':>8}  {'documents':>9}  {'p50 ms':>16}  {'p99 ms':>16}  "
        f"{'p50 filtered':>16}  {'p99 filtered':>16}"
    ]

    def cell(s: dict[str, float]) -> str:
        return f"{s['median']} ({s['min']}-{s['max']})"

    for r in rows:
        lines.append(
            f"{r['chunks']:>8}  {r['documents']:>9}  {cell(r['plain']['p50_ms']):>16}  "
            f"{cell(r['plain']['p99_ms']):>16}  {cell(r['filtered']['p50_ms']):>16}  "
            f"{cell(r['filtered']['p99_ms']):>16}"
        )
    return "\n".join(lines)
