"""Search: hybrid retrieval over an opened index.

dense (FAISS, exact inner product) + lexical (BM25) → filters as exact masks → reciprocal rank
fusion → best section per document → facets, snippets and the core areas the query is about.
The same index and query always give the same answer (ties break by chunk order).
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from threading import BoundedSemaphore, Lock
from typing import Literal

import numpy as np

from kb.embedding import Embedder
from kb.errors import InvalidQuery, UnknownDocument
from kb.facets import Facet, facet_schema
from kb.fusion import reciprocal_rank_fusion
from kb.index import IndexData
from kb.matching import Match, is_foreign, judge, load_thresholds
from kb.snippets import make_snippet
from kb.spelling import Speller
from kb.taxonomy import Taxonomy

MAX_QUERY_CHARS = 500
MAX_K = 50
MAX_DEPTH = 100  # offset + k: paging goes this deep and no further
# Chunks each retrieval arm hands to fusion. Far more than MAX_DEPTH pages need, so the top of
# the ranking is the exhaustive one (tests compare on the golden set); matching documents and
# facet counts are counted among them.
CANDIDATES = 1000
# Up to this many chunks the dense arm is exact (a flat scan costs under a millisecond); past it
# an inverted-file index (about 4 x sqrt(n) lists, 32 probed) keeps a query's cost nearly flat
# as the corpus grows: recall@100 against the exact scan is about 0.98 at 100,000 chunks
# (kb bench --scale reports it).
EXACT_UP_TO = 20_000
_PROBES = 32
# A document matches the query (it is a result, and counts in `total` and the facets) when one
# of its sections is close enough in meaning (a calibrated threshold: kb/calibration.yml) or it
# holds the query terms at least this well relative to the best document.
_LEXICAL_MATCH = 0.2
_QUERY_CACHE = 2048
_NAMED_AREA_BOOST = 1.5
_NAMED_TYPE_BOOST = 1.5
_FILLER = {
    "to",
    "for",
    "the",
    "a",
    "an",
    "of",
    "in",
    "on",
    "and",
    "that",
    "which",
    "what",
    "are",
    "is",
    "ways",
    "way",
    "how",
    "do",
    "we",
    "can",
    "our",
}
_INTENT_REACH = 0.4  # a rated practice moves up if it scores at least this share of the best


@dataclass(frozen=True)
class Query:
    q: str
    k: int = 10
    # filter param (kb.facets, from the taxonomy) -> wanted values: any of them (OR); several
    # filters combine with AND.
    filters: Mapping[str, Sequence[str]] = field(default_factory=dict)
    group: bool = True
    offset: int = 0
    # Both arms fused (the product), or one arm alone (the baselines `kb eval` compares).
    method: Literal["hybrid", "dense", "lexical"] = "hybrid"


@dataclass(frozen=True)
class Hit:
    id: str
    title: str
    url: str
    section: str
    anchor: str
    snippet: str
    score: float
    core_areas: list[str]
    type: str
    evidence: str | None
    summary: str
    section_path: list[str]


@dataclass(frozen=True)
class SearchResult:
    query: str
    total: int
    results: list[Hit]
    facets: dict[str, dict[str, int]]
    query_areas: list[str] = field(default_factory=list)
    match: Match = "good"
    did_you_mean: str | None = None
    notice: str | None = None


@dataclass(frozen=True)
class Related:
    id: str
    title: str
    url: str
    summary: str
    score: float
    core_areas: list[str]
    type: str
    evidence: str | None


def validate_query(query: Query, facets: Sequence[Facet]) -> Query:
    """Normalize ``query`` or raise InvalidQuery saying what is allowed."""
    # Length first: a huge q is refused before any per-character work.
    if len(query.q) > MAX_QUERY_CHARS * 4:
        raise InvalidQuery(f"q is {len(query.q)} characters; at most {MAX_QUERY_CHARS} are allowed")
    q = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in query.q)
    q = " ".join(q.split())
    if not q:
        raise InvalidQuery("q must not be empty: type a few words, e.g. 'gun violence strategies'")
    if len(q) > MAX_QUERY_CHARS:
        raise InvalidQuery(f"q is {len(q)} characters; at most {MAX_QUERY_CHARS} are allowed")
    if not 1 <= query.k <= MAX_K:
        raise InvalidQuery(f"k must be between 1 and {MAX_K}, got {query.k}")
    if query.offset < 0 or query.offset + query.k > MAX_DEPTH:
        raise InvalidQuery(
            f"offset must be 0 or more, and offset + k at most {MAX_DEPTH}; "
            f"got offset {query.offset} with k {query.k}"
        )
    by_param = {f.param: f for f in facets}
    for name, values in query.filters.items():
        if name not in by_param:
            raise InvalidQuery(f"unknown filter '{name}'; allowed: {', '.join(by_param)}")
        for v in values:
            if v not in by_param[name].values:
                raise InvalidQuery(f"unknown {name} '{v}'; allowed: {', '.join(by_param[name].values)}")
    filters = {name: tuple(values) for name, values in query.filters.items() if values}
    return replace(query, q=q, filters=filters)


@dataclass(frozen=True)
class _Arms:
    """What the two retrieval arms found for one query text."""

    rows: np.ndarray  # dense: the closest chunks within the filters, best first
    sims: np.ndarray  # their cosine similarities
    all_rows: np.ndarray  # dense without the filters (the same arrays when none are set)
    all_sims: np.ndarray
    lexical: np.ndarray  # BM25 score of every chunk (0 where no query term occurs)
    worded: np.ndarray  # the rows where lexical > 0 (what the lexical arm can rank)
    covering: np.ndarray  # the rows that hold every term of the query (kb.matching.judge)


class Searcher:
    """Queries one opened index version. Thread-safe; cheap to query, built once per version.

    A query costs in proportion to its answer, not to the corpus: each arm hands fusion its top
    CANDIDATES chunks (FAISS filters inside the search when filters are set), filters are
    precomputed document-by-value matrices, and facets are column sums over them."""

    def __init__(self, data: IndexData, embedder: Embedder, taxonomy: Taxonomy, rrf_k: int = 60):
        self.data = data
        self.embedder = embedder
        self.taxonomy = taxonomy
        self.facets = facet_schema(taxonomy)
        self.rrf_k = rrf_k
        chunks = data.chunks
        self.doc_ids: list[str] = list(dict.fromkeys(c.doc_id for c in chunks))
        position = {d: i for i, d in enumerate(self.doc_ids)}
        self._doc_of = np.array([position[c.doc_id] for c in chunks], dtype=np.int64)
        self._first_chunk = {c.doc_id: c for c in reversed(chunks)}
        first = [self._first_chunk[d] for d in self.doc_ids]
        # One boolean matrix per filter: document x value, so a mask is a column OR and a facet
        # count a column sum.
        self._values = {
            f.param: np.array(
                [[v in c.facets.get(f.param, ()) for v in f.values] for c in first], dtype=bool
            ).reshape(len(first), len(f.values))
            for f in self.facets
        }
        self._area_matrix = np.array(
            [[a in c.core_areas for a in taxonomy.area_slugs] for c in chunks], dtype=bool
        ).reshape(len(chunks), len(taxonomy.area_slugs))
        weights = {t.slug: t.search_weight for t in taxonomy.document_types}
        self._chunk_weight = np.array([weights.get(c.type, 1.0) for c in chunks])
        self._chunk_type = np.array([c.type for c in chunks], dtype=object)
        # "What works" queries put these ratings first (taxonomy data: evidence_first).
        first_ratings = {r.slug for r in taxonomy.evidence_ratings if r.evidence_first}
        self._evidence_first = np.array([c.evidence in first_ratings for c in chunks], dtype=bool)
        self._speller = Speller(
            [c.text for c in chunks] + [c.title for c in chunks],
            keep=[a.name for a in taxonomy.core_areas]
            + [s.city for s in taxonomy.sites]
            + [c.name for c in taxonomy.components],
        )
        self._thresholds = load_thresholds(embedder.fingerprint)
        # document vectors: the normalized mean of their sections, for "related" documents
        sums = np.zeros((len(self.doc_ids), data.vectors.shape[1]), dtype=np.float64)
        np.add.at(sums, self._doc_of, data.vectors)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        self._doc_vectors = (sums / np.where(norms == 0, 1, norms)).astype(np.float32)
        self._dense_index = _dense_index(data)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = Lock()
        # One model run per core: more at once only thrash the caches and slow every request.
        self._embedding_slots = BoundedSemaphore(os.cpu_count() or 1)

    # -- public verbs -------------------------------------------------------------------------

    def search(self, query: Query) -> SearchResult:
        query = validate_query(query, self.facets)
        if not self.data.chunks:
            return SearchResult(
                query=query.q,
                total=0,
                results=[],
                facets={},
                match="none",
                notice=_notice("none", query.q, False, False),
            )
        foreign = self.is_foreign(query.q)
        corrected = None if foreign else self._speller.correct(query.q)
        doc_mask = self._doc_mask(query.filters)
        mask = doc_mask[self._doc_of]
        # The lexical arm reads the corrected words: BM25 cannot match "voilence" to anything.
        arms = self._arms(query.q, corrected or query.q, mask if query.filters else None)

        def decide(arms: _Arms, foreign: bool = foreign, everywhere: bool = False) -> Match:
            """good / weak / none for these arms, within the filters unless ``everywhere``."""
            sims = arms.all_sims if everywhere else arms.sims
            best = float(sims[0]) if len(sims) else -1.0
            within = None if everywhere else mask
            words = _within(arms.worded, within)
            covered = bool(len(_within(arms.covering, within)))
            return judge(best, bool(len(words)), foreign, self._thresholds, covered)

        match = decide(arms)
        did_you_mean = None
        if corrected is not None:
            fixed = replace(
                self._arms(corrected, None, mask),
                lexical=arms.lexical,
                worded=arms.worded,
                covering=arms.covering,
            )
            better = decide(fixed, foreign=False)
            # A correction earns its place by matching at least as well; when the words as
            # typed found nothing, only a good match justifies changing them.
            if _RANK[better] >= max(_RANK[match], _RANK["weak" if match != "none" else "good"]):
                # Rank what the user meant: "gun voilence" means "gun violence" in both arms.
                did_you_mean, arms, match = corrected, fixed, better
        meant = did_you_mean or query.q
        topic = self._evidence_intent(meant)
        intent = topic is not None
        if topic is not None and topic != meant:
            # "what works to reduce shootings" is about reducing shootings; the cue words
            # decide the order (rated practices first), not the topic.
            arms = self._arms(topic, topic, mask)
            match = max(match, decide(arms), key=_RANK.__getitem__)
        if match == "none" and not foreign and query.filters and decide(arms, everywhere=True) != "none":
            # The knowledge base answers the question, just not within these filters: show the
            # closest pages inside them as weak matches rather than nothing.
            match = "weak"
        if match == "none":
            return SearchResult(
                query=query.q,
                total=0,
                results=[],
                facets=self._facets(query, np.zeros(len(self.doc_ids), bool)),
                match="none",
                did_you_mean=did_you_mean,
                notice=_notice("none", query.q, foreign, False),
            )
        rankings = {"dense": arms.rows, "lexical": _top(arms.lexical, _within(arms.worded, mask))}
        used = [rankings[a] for a in (("dense", "lexical") if query.method == "hybrid" else (query.method,))]
        # Everything from here on is sized by the candidates (both arms' top chunks), not n.
        rows = np.unique(np.concatenate(used))
        fused = self._fuse(used, rows)
        boost = self._boost(rows, meant)
        fused *= boost
        matching = self._matching_docs(arms)
        # Only documents that match are results, so `total` and the list tell the same story.
        keep = matching[self._doc_of[rows]] & (mask[rows] if mask is not None else True)
        # positions into rows, best first; ties by chunk order, so results are deterministic
        order = np.flatnonzero(keep)
        order = order[np.lexsort((rows[order], -fused[order]))]
        if query.group:
            docs = self._doc_of[rows[order]]
            _, first = np.unique(docs, return_index=True)
            order = order[np.sort(first)]
            # A page's score adds the fusion of the two arms' page rankings to its best
            # section's: a page one arm ranks first through one section and the other arm
            # through another is not ranked below a page with one middling section in both.
            doc_rankings = [self._doc_ranking(r) for r in used]
            page_ids = np.unique(np.concatenate(doc_rankings))
            doc_fused = self._fuse(doc_rankings, page_ids, cut=[len(r) == CANDIDATES for r in used])
            docs = self._doc_of[rows[order]]
            fused[order] = fused[order] + doc_fused[np.searchsorted(page_ids, docs)] * boost[order]
            order = order[np.lexsort((docs, -fused[order]))]
        if intent and len(order):
            # "What works": practices rated effective or promising that are on topic (scored
            # within reach of the best result) come first, in their own order; nothing is hidden.
            on_topic = fused[order] >= _INTENT_REACH * fused[order[0]]
            head, tail = order[on_topic], order[~on_topic]
            rated = self._evidence_first[rows[head]]
            order = np.concatenate([head[rated], head[~rated], tail])
        top = order[query.offset : query.offset + query.k]
        hits = [self._hit(int(rows[i]), float(fused[i]), meant) for i in top]
        total = len(np.unique(self._doc_of[rows[order]])) if query.group else len(order)
        return SearchResult(
            query=query.q,
            total=total,
            results=hits,
            facets=self._facets(query, matching),
            query_areas=self._query_areas(meant, hits),
            match=match,
            did_you_mean=did_you_mean,
            notice=_notice(match, query.q, foreign, intent),
        )

    def related(self, doc_id: str, k: int = 5, types: tuple[str, ...] = ()) -> list[Related]:
        if doc_id not in self._first_chunk:
            raise UnknownDocument(f"no document with id '{doc_id}'")
        if not 1 <= k <= MAX_K:
            raise InvalidQuery(f"k must be between 1 and {MAX_K}, got {k}")
        for t in types:
            if t not in self.taxonomy.type_slugs:
                raise InvalidQuery(f"unknown type '{t}'; allowed: {', '.join(self.taxonomy.type_slugs)}")
        me = self.doc_ids.index(doc_id)
        sims = self._doc_vectors @ self._doc_vectors[me]
        out = []
        for i in np.lexsort((np.arange(len(sims)), -sims)):
            c = self._first_chunk[self.doc_ids[i]]
            if i == me or (types and c.type not in types) or c.type == "index":
                continue
            out.append(
                Related(
                    id=c.doc_id,
                    title=c.title,
                    url=c.url.split("#")[0],
                    summary=c.summary,
                    score=round(float(sims[i]), 4),
                    core_areas=c.core_areas,
                    type=c.type,
                    evidence=c.evidence,
                )
            )
            if len(out) == k:
                break
        return out

    def best_similarity(self, q: str) -> float:
        """The highest dense similarity of any section to ``q``: the "no match" signal."""
        if not self.data.chunks:
            return -1.0
        return float(self._dense(self._embed_query(q), 1, None)[1][0])

    def is_foreign(self, q: str) -> bool:
        """Whether ``q`` reads as another language than the corpus's English."""
        return is_foreign(q, self._speller.unknown_share(q), self._thresholds)

    def area_counts(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for doc_id in self.doc_ids:
            counts.update(self._first_chunk[doc_id].core_areas)
        return {a: counts.get(a, 0) for a in self.taxonomy.area_slugs}

    def document_ids(self) -> list[str]:
        return list(self.doc_ids)

    # -- internals ----------------------------------------------------------------------------

    def _arms(self, dense_text: str, lexical_text: str | None, mask: np.ndarray | None) -> _Arms:
        """Both arms for one text (the lexical arm may read another, or none: zeros)."""
        vector = self._embed_query(dense_text)
        all_rows, all_sims = self._dense(vector, CANDIDATES, None)
        rows, sims = (all_rows, all_sims) if mask is None else self._dense(vector, CANDIDATES, mask)
        lexical = (
            self.data.lexical.scores(lexical_text)
            if lexical_text is not None
            else np.zeros(len(self.data.chunks), dtype=np.float32)
        )
        # Coverage reads the words as written (never a spelling correction's guesses).
        return _Arms(
            rows=rows,
            sims=sims,
            all_rows=all_rows,
            all_sims=all_sims,
            lexical=lexical,
            worded=np.flatnonzero(lexical),
            covering=self.data.lexical.covering(dense_text),
        )

    def _dense(self, vector: np.ndarray, n: int, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` chunks closest to ``vector`` (within ``mask``, filtered inside FAISS):
        rows and similarities, best first, ties by row."""
        import faiss

        index = self._dense_index
        approximate = isinstance(index, faiss.IndexIVF)
        selector = None
        if mask is not None:
            n = min(n, int(mask.sum()))
            bits = np.packbits(mask, bitorder="little")  # alive until the search returns
            selector = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits))
        params = (
            faiss.SearchParametersIVF(sel=selector, nprobe=_PROBES)
            if approximate
            else faiss.SearchParameters(sel=selector)
            if selector is not None
            else None
        )
        n = min(n, index.ntotal)
        if n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        sims, ids = index.search(vector[None, :], n, params=params)
        keep = ids[0] >= 0
        rows, sims = ids[0][keep], sims[0][keep]
        order = np.lexsort((rows, -sims))
        return rows[order], sims[order]

    def _embed_query(self, q: str) -> np.ndarray:
        with self._lock:
            if q in self._cache:
                self._cache.move_to_end(q)
                return self._cache[q]
        with self._embedding_slots:
            vector = self.embedder.embed([q])[0]
        with self._lock:
            self._cache[q] = vector
            if len(self._cache) > _QUERY_CACHE:
                self._cache.popitem(last=False)
        return vector

    def _boost(self, rows: np.ndarray, q: str) -> np.ndarray:
        """Score multipliers of these chunks for ``q``: type weight, named area, cued type."""
        boost = self._chunk_weight[rows].copy()
        named = self._named_areas(q)
        if named:
            # "gun violence strategies" names a core area: its documents are what is meant.
            boost *= np.where(self._area_matrix[rows][:, named].any(axis=1), _NAMED_AREA_BOOST, 1.0)
        cued = self._cued_types(q)
        if cued:
            # "which city could we visit ..." asks for a peer exchange, not the practice brief.
            boost *= np.where(np.isin(self._chunk_type[rows], cued), _NAMED_TYPE_BOOST, 1.0)
        return boost

    def _fuse(
        self, rankings: list[np.ndarray], items: np.ndarray, cut: list[bool] | None = None
    ) -> np.ndarray:
        """Reciprocal rank fusion of ``rankings`` over ``items`` (sorted ids). An arm cut at
        CANDIDATES ranks everything it left out below its last: those items get the score of
        the next rank, which is what the exhaustive ranking gives them, give or take its tail."""
        fused = reciprocal_rank_fusion([np.searchsorted(items, r) for r in rankings], len(items), self.rrf_k)
        for ranking, was_cut in zip(rankings, cut or [len(r) == CANDIDATES for r in rankings], strict=True):
            if was_cut:
                left_out = ~np.isin(items, ranking)
                fused[left_out] += 1.0 / (self.rrf_k + len(ranking) + 1)
        return fused

    def _doc_ranking(self, rows: np.ndarray) -> np.ndarray:
        """Documents in the order of their first (best) chunk in a chunk ranking."""
        docs = self._doc_of[rows]
        _, first = np.unique(docs, return_index=True)
        return docs[np.sort(first)]

    def _doc_mask(self, filters: Mapping[str, Sequence[str]], skip: str = "") -> np.ndarray:
        """Documents passing every filter except ``skip``: OR within a filter, AND across."""
        keep = np.ones(len(self.doc_ids), dtype=bool)
        for f in self.facets:
            wanted = filters.get(f.param)
            if wanted and f.param != skip:
                columns = [f.values.index(v) for v in wanted]
                keep &= self._values[f.param][:, columns].any(axis=1)
        return keep

    def _matching_docs(self, arms: _Arms) -> np.ndarray:
        n = len(self.doc_ids)
        best_dense = np.full(n, -np.inf, dtype=np.float32)
        np.maximum.at(best_dense, self._doc_of[arms.all_rows], arms.all_sims)
        np.maximum.at(best_dense, self._doc_of[arms.rows], arms.sims)
        best_lexical = np.zeros(n, dtype=np.float32)
        np.maximum.at(best_lexical, self._doc_of[arms.worded], arms.lexical[arms.worded])
        top = best_lexical.max(initial=0.0)
        return (best_dense >= self._thresholds.document_min_similarity) | (
            (best_lexical >= _LEXICAL_MATCH * top) & (top > 0)
        )

    def _facets(self, query: Query, matching: np.ndarray) -> dict[str, dict[str, int]]:
        # Each facet counts with every filter but its own, so a chip shows what clicking it gives.
        out: dict[str, dict[str, int]] = {}
        docs = np.flatnonzero(matching)  # the answer: counting costs what it holds
        for f in self.facets:
            if not f.counted:
                continue
            within = docs
            if any(p != f.param for p in query.filters):
                within = docs[self._doc_mask(query.filters, skip=f.param)[docs]]
            counts = np.count_nonzero(self._values[f.param][within], axis=0)
            present = [(f.values[i], int(counts[i])) for i in np.flatnonzero(counts)]
            out[f.key] = dict(sorted(present, key=lambda kv: (-kv[1], kv[0])))
        return out

    def _named_areas(self, q: str) -> list[int]:
        """Positions of the core areas whose name the query contains ("gun violence ...")."""
        text = f" {' '.join(q.casefold().split())} "
        return [i for i, a in enumerate(self.taxonomy.core_areas) if f" {a.name.casefold()} " in text]

    def _evidence_intent(self, q: str) -> str | None:
        """For a query that asks what works ("proven", "what works", "gun violence
        strategies"), the query without its cue words; None for any other query."""
        intent = self.taxonomy.evidence_intent
        words = re.findall(r"[a-z0-9]+", q.casefold())
        text = f" {' '.join(words)} "
        cues = [c for c in intent.cues if f" {c} " in text]
        if self._named_areas(q):
            cues += [c for c in intent.with_area if f" {c} " in text]
        if not cues:
            return None
        for cue in sorted(cues, key=len, reverse=True):
            text = text.replace(f" {cue} ", " ")
        topic = " ".join(w for w in text.split() if w not in _FILLER)
        return topic or q

    def _cued_types(self, q: str) -> list[str]:
        """Document types whose query cues the query contains ("visit" → peer-exchange)."""
        text = f" {' '.join(re.findall(r'[a-z0-9]+', q.casefold()))} "
        return [
            t.slug for t in self.taxonomy.document_types if any(f" {cue} " in text for cue in t.query_cues)
        ]

    def _query_areas(self, q: str, hits: list[Hit]) -> list[str]:
        """Core areas the query is about: named in it, or the primary area of most top hits."""
        named = [self.taxonomy.core_areas[i].slug for i in self._named_areas(q)]
        weights: dict[str, float] = {}
        for h in hits[:10]:
            if h.core_areas:
                weights[h.core_areas[0]] = weights.get(h.core_areas[0], 0.0) + h.score
        total = sum(weights.values())
        top_two = sorted(weights.items(), key=lambda aw: -aw[1])[:2]
        dominant = [a for a, w in top_two if total and w / total >= 0.5]
        return list(dict.fromkeys(named + dominant))

    def _hit(self, row: int, score: float, q: str) -> Hit:
        c = self.data.chunks[row]
        return Hit(
            id=c.doc_id,
            title=c.title,
            url=c.url,
            section=c.section,
            anchor=c.anchor,
            snippet=make_snippet(c.text, q),
            score=round(score, 6),
            core_areas=c.core_areas,
            type=c.type,
            evidence=c.evidence,
            summary=c.summary,
            section_path=c.section_path,
        )


_RANK = {"none": 0, "weak": 1, "good": 2}


def _notice(match: Match, q: str, foreign: bool, intent: bool) -> str | None:
    """The one sentence the page shows above the results, or None."""
    if match == "none":
        if foreign:
            return (
                "The knowledge base is written in English and nothing in it matches "
                f"\u201c{q}\u201d. Try your question in English."
            )
        return f"Nothing in the knowledge base matches \u201c{q}\u201d."
    if match == "weak":
        return f"No strong match for \u201c{q}\u201d: these are the closest pages, which may not answer it."
    if intent:
        return "Showing practices with evidence first."
    return None


def _dense_index(data: IndexData):
    """The index the dense arm searches: the version's exact one, or for a corpus past
    EXACT_UP_TO an inverted-file index over the same vectors (ids stay chunk rows)."""
    import faiss

    n, dim = data.vectors.shape
    if n <= EXACT_UP_TO:
        return data.faiss_index
    lists = int(4 * np.sqrt(n))
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
    ivf.cp.niter = 10
    sample = np.random.default_rng(0).choice(n, min(n, lists * 40), replace=False)
    ivf.train(data.vectors[np.sort(sample)])
    ivf.add(data.vectors)
    return ivf


def _within(rows: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The ``rows`` that ``mask`` allows (all of them without a mask)."""
    return rows if mask is None else rows[mask[rows]]


def _top(scores: np.ndarray, rows: np.ndarray, n: int = 0) -> np.ndarray:
    """The ``n`` (default CANDIDATES) best of ``rows``, best first, ties by row."""
    n = n or CANDIDATES
    if len(rows) > n:
        rows = rows[np.argpartition(-scores[rows], n - 1)[:n]]
    return rows[np.lexsort((rows, -scores[rows]))]
