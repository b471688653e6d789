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
from dataclasses import dataclass, field, replace
from threading import BoundedSemaphore, Lock
from typing import Literal

import numpy as np

from kb.embedding import Embedder
from kb.errors import InvalidQuery, UnknownDocument
from kb.fusion import reciprocal_rank_fusion
from kb.index import IndexData
from kb.matching import Match, is_foreign, judge, load_thresholds
from kb.snippets import make_snippet
from kb.spelling import Speller
from kb.taxonomy import Taxonomy

MAX_QUERY_CHARS = 500
MAX_K = 50
MAX_DEPTH = 100  # offset + k: paging goes this deep and no further
# A document matches the query (it is a result, and counts in `total` and the facets) when one
# of its sections is close enough in meaning (a calibrated threshold: kb/calibration.yml) or it
# holds the query terms at least this well relative to the best document.
_LEXICAL_MATCH = 0.2
_QUERY_CACHE = 2048
_NAMED_AREA_BOOST = 1.5
_NAMED_TYPE_BOOST = 1.5
_FILLER = {"to", "for", "the", "a", "an", "of", "in", "on", "and", "that", "which", "what",
           "are", "is", "ways", "way", "how", "do", "we", "can", "our"}
_INTENT_REACH = 0.4  # a rated practice moves up if it scores at least this share of the best


@dataclass(frozen=True)
class Query:
    q: str
    k: int = 10
    areas: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    components: tuple[str, ...] = ()
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


def validate_query(query: Query, taxonomy: Taxonomy) -> Query:
    """Normalize ``query`` or raise InvalidQuery saying what is allowed."""
    q = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in query.q)
    q = " ".join(q.split())
    if not q:
        raise InvalidQuery("q must not be empty: type a few words, e.g. 'gun violence strategies'")
    if len(q) > MAX_QUERY_CHARS:
        raise InvalidQuery(f"q is {len(q)} characters; at most {MAX_QUERY_CHARS} are allowed")
    if not 1 <= query.k <= MAX_K:
        raise InvalidQuery(f"k must be between 1 and {MAX_K}, got {query.k}")
    if query.offset < 0 or query.offset + query.k > MAX_DEPTH:
        raise InvalidQuery(f"offset must be 0 or more, and offset + k at most {MAX_DEPTH}; "
                           f"got offset {query.offset} with k {query.k}")
    allowed = {
        "area": (query.areas, taxonomy.area_slugs),
        "type": (query.types, taxonomy.type_slugs),
        "evidence": (query.evidence, taxonomy.rating_slugs),
        "site": (query.sites, taxonomy.site_slugs),
        "component": (query.components, taxonomy.component_slugs),
    }
    for name, (values, legal) in allowed.items():
        for v in values:
            if v not in legal:
                raise InvalidQuery(f"unknown {name} '{v}'; allowed: {', '.join(legal)}")
    return replace(query, q=q)


class Searcher:
    """Queries one opened index version. Thread-safe; cheap to query, built once per version."""

    def __init__(self, data: IndexData, embedder: Embedder, taxonomy: Taxonomy, rrf_k: int = 60):
        self.data = data
        self.embedder = embedder
        self.taxonomy = taxonomy
        self.rrf_k = rrf_k
        chunks = data.chunks
        self.doc_ids: list[str] = list(dict.fromkeys(c.doc_id for c in chunks))
        position = {d: i for i, d in enumerate(self.doc_ids)}
        self._doc_of = np.array([position[c.doc_id] for c in chunks], dtype=np.int64)
        self._first_chunk = {c.doc_id: c for c in reversed(chunks)}
        self._row_of_id = {int(i): row for row, i in enumerate(_faiss_ids(data))}
        self._area_matrix = np.array(
            [[a in c.core_areas for a in taxonomy.area_slugs] for c in chunks], dtype=bool
        ).reshape(len(chunks), len(taxonomy.area_slugs))
        weights = {t.slug: t.search_weight for t in taxonomy.document_types}
        self._chunk_weight = np.array([weights.get(c.type, 1.0) for c in chunks])
        self._chunk_type = np.array([c.type for c in chunks], dtype=object)
        # "What works" queries put these ratings first (taxonomy data: evidence_first).
        first = {r.slug for r in taxonomy.evidence_ratings if r.evidence_first}
        self._evidence_first = np.array([c.evidence in first for c in chunks], dtype=bool)
        self._speller = Speller(
            [c.text for c in chunks] + [c.title for c in chunks],
            keep=[a.name for a in taxonomy.core_areas] + [s.city for s in taxonomy.sites]
            + [c.name for c in taxonomy.components])
        self._thresholds = load_thresholds(embedder.fingerprint)
        # document vectors: the normalized mean of their sections, for "related" documents
        sums = np.zeros((len(self.doc_ids), data.vectors.shape[1]), dtype=np.float64)
        np.add.at(sums, self._doc_of, data.vectors)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        self._doc_vectors = (sums / np.where(norms == 0, 1, norms)).astype(np.float32)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = Lock()
        # One model run per core: more at once only thrash the caches and slow every request.
        self._embedding_slots = BoundedSemaphore(os.cpu_count() or 1)

    # -- public verbs -------------------------------------------------------------------------

    def search(self, query: Query) -> SearchResult:
        query = validate_query(query, self.taxonomy)
        n_chunks = len(self.data.chunks)
        if n_chunks == 0:
            return SearchResult(query=query.q, total=0, results=[], facets={}, match="none",
                                notice=_notice("none", query.q, False, False))
        foreign = self.is_foreign(query.q)
        corrected = None if foreign else self._speller.correct(query.q)
        dense = self._dense_scores(query.q)
        # The lexical arm reads the corrected words: BM25 cannot match "voilence" to anything.
        lexical = self.data.lexical.scores(corrected or query.q)
        mask = self._mask(query)

        def decide(dense: np.ndarray, lexical: np.ndarray, within: np.ndarray = mask,
                   foreign: bool = foreign) -> Match:
            """good / weak / none for these arm scores over the chunks ``within``."""
            best = float(dense[within].max()) if within.any() else -1.0
            return judge(best, bool((lexical[within] > 0).any()), foreign, self._thresholds)

        match = decide(dense, lexical)
        did_you_mean = None
        if corrected is not None:
            fixed = self._dense_scores(corrected)
            better = decide(fixed, lexical, foreign=False)
            # A correction earns its place by matching at least as well; when the words as
            # typed found nothing, only a good match justifies changing them.
            if _RANK[better] >= max(_RANK[match], _RANK["weak" if match != "none" else "good"]):
                # Rank what the user meant: "gun voilence" means "gun violence" in both arms.
                did_you_mean, dense, match = corrected, fixed, better
        meant = did_you_mean or query.q
        topic = self._evidence_intent(meant)
        intent = topic is not None
        if topic is not None and topic != meant:
            # "what works to reduce shootings" is about reducing shootings; the cue words
            # decide the order (rated practices first), not the topic.
            dense, lexical = self._dense_scores(topic), self.data.lexical.scores(topic)
            on_topic = decide(dense, lexical)
            match = max(match, on_topic, key=_RANK.__getitem__)
        everywhere = np.ones_like(mask)
        if (match == "none" and not foreign and not mask.all()
                and decide(dense, lexical, everywhere) != "none"):
            # The knowledge base answers the question, just not within these filters: show the
            # closest pages inside them as weak matches rather than nothing.
            match = "weak"
        if match == "none":
            return SearchResult(query=query.q, total=0, results=[],
                                facets=self._facets(query, np.zeros(len(self.doc_ids), bool)),
                                match="none", did_you_mean=did_you_mean,
                                notice=_notice("none", query.q, foreign, False))
        arms = {
            "dense": lambda: _ranking(dense, mask),
            "lexical": lambda: _ranking(lexical, mask & (lexical > 0)),
        }
        used = list(arms) if query.method == "hybrid" else [query.method]
        rankings = [arms[a]() for a in used]
        boost = self._chunk_weight.copy()
        named = self._named_areas(meant)
        if named:
            # "gun violence strategies" names a core area: its documents are what is meant.
            boost *= np.where(self._area_matrix[:, named].any(axis=1), _NAMED_AREA_BOOST, 1.0)
        cued = self._cued_types(meant)
        if cued:
            # "which city could we visit ..." asks for a peer exchange, not the practice brief.
            boost *= np.where(np.isin(self._chunk_type, cued), _NAMED_TYPE_BOOST, 1.0)
        fused = reciprocal_rank_fusion(rankings, n_chunks, self.rrf_k) * boost
        matching = self._matching_docs(dense, lexical)
        # Only documents that match are results, so `total` and the list tell the same story.
        candidates = np.flatnonzero(mask & (fused > 0) & matching[self._doc_of])
        # best first; ties by chunk order, so results are deterministic
        order = candidates[np.lexsort((candidates, -fused[candidates]))]
        if query.group:
            _, first = np.unique(self._doc_of[order], return_index=True)
            order = order[np.sort(first)]
            # A page's score adds the fusion of the two arms' page rankings to its best
            # section's: a page one arm ranks first through one section and the other arm
            # through another is not ranked below a page with one middling section in both.
            doc_rankings = [self._doc_ranking(rows) for rows in rankings]
            doc_fused = reciprocal_rank_fusion(doc_rankings, len(self.doc_ids), self.rrf_k)
            docs = self._doc_of[order]
            fused[order] = fused[order] + doc_fused[docs] * boost[order]
            order = order[np.lexsort((docs, -fused[order]))]
        if intent:
            # "What works": practices rated effective or promising that are on topic (scored
            # within reach of the best result) come first, in their own order; nothing is hidden.
            on_topic = fused[order] >= _INTENT_REACH * fused[order[0]] if len(order) else order
            head, tail = order[on_topic], order[~on_topic]
            rated = self._evidence_first[head]
            order = np.concatenate([head[rated], head[~rated], tail])
        top = order[query.offset: query.offset + query.k]
        hits = [self._hit(int(i), float(fused[i]), meant) for i in top]
        total = len(np.unique(self._doc_of[order])) if query.group else len(order)
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
                raise InvalidQuery(f"unknown type '{t}'; allowed: "
                                   f"{', '.join(self.taxonomy.type_slugs)}")
        me = self.doc_ids.index(doc_id)
        sims = self._doc_vectors @ self._doc_vectors[me]
        out = []
        for i in np.lexsort((np.arange(len(sims)), -sims)):
            c = self._first_chunk[self.doc_ids[i]]
            if i == me or (types and c.type not in types) or c.type == "index":
                continue
            out.append(Related(id=c.doc_id, title=c.title, url=c.url.split("#")[0],
                               summary=c.summary, score=round(float(sims[i]), 4),
                               core_areas=c.core_areas, type=c.type, evidence=c.evidence))
            if len(out) == k:
                break
        return out

    def _doc_ranking(self, rows: np.ndarray) -> np.ndarray:
        """Documents in the order of their first (best) chunk in a chunk ranking."""
        docs = self._doc_of[rows]
        _, first = np.unique(docs, return_index=True)
        return docs[np.sort(first)]

    def best_similarity(self, q: str) -> float:
        """The highest dense similarity of any section to ``q``: the "no match" signal."""
        return float(self._dense_scores(q).max()) if self.data.chunks else -1.0

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

    def _dense_scores(self, q: str) -> np.ndarray:
        """Exact inner product of the query with every chunk, by FAISS, indexed by chunk row."""
        index = self.data.faiss_index
        sims, ids = index.search(self._embed_query(q)[None, :], index.ntotal)
        scores = np.full(index.ntotal, -np.inf, dtype=np.float32)
        rows = np.fromiter((self._row_of_id[int(i)] for i in ids[0]), dtype=np.int64,
                           count=len(ids[0]))
        scores[rows] = sims[0]
        return scores

    def _mask(self, query: Query) -> np.ndarray:
        return self._doc_mask(query)[self._doc_of]

    def _doc_mask(self, query: Query, skip: str = "") -> np.ndarray:
        """Documents passing every filter except ``skip``: OR within a filter, AND across."""
        keep = np.ones(len(self.doc_ids), dtype=bool)
        tests = {
            "areas": (query.areas, lambda c: c.core_areas),
            "types": (query.types, lambda c: [c.type]),
            "evidence": (query.evidence, lambda c: [c.evidence] if c.evidence else []),
            "sites": (query.sites, lambda c: c.sites),
            "components": (query.components, lambda c: c.components),
        }
        for name, (wanted, values) in tests.items():
            if wanted and name != skip:
                wanted_set = set(wanted)
                keep &= np.array([bool(wanted_set.intersection(values(self._first_chunk[d])))
                                  for d in self.doc_ids])
        return keep

    def _matching_docs(self, dense: np.ndarray, lexical: np.ndarray) -> np.ndarray:
        n = len(self.doc_ids)
        best_dense = np.full(n, -np.inf, dtype=np.float32)
        np.maximum.at(best_dense, self._doc_of, dense)
        best_lexical = np.zeros(n, dtype=np.float32)
        np.maximum.at(best_lexical, self._doc_of, lexical)
        top = best_lexical.max(initial=0.0)
        return ((best_dense >= self._thresholds.document_min_similarity)
                | ((best_lexical >= _LEXICAL_MATCH * top) & (top > 0)))

    def _facets(self, query: Query, matching: np.ndarray) -> dict[str, dict[str, int]]:
        # Each facet counts with every filter but its own, so a chip shows what clicking it gives.
        facets: dict[str, dict[str, int]] = {}
        for name, skip, values in (
            ("core_areas", "areas", lambda c: c.core_areas),
            ("type", "types", lambda c: [c.type]),
            ("evidence", "evidence", lambda c: [c.evidence] if c.evidence else []),
        ):
            counts: Counter[str] = Counter()
            for i in np.flatnonzero(matching & self._doc_mask(query, skip=skip)):
                counts.update(values(self._first_chunk[self.doc_ids[i]]))
            facets[name] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        return facets

    def _named_areas(self, q: str) -> list[int]:
        """Positions of the core areas whose name the query contains ("gun violence ...")."""
        text = f" {' '.join(q.casefold().split())} "
        return [i for i, a in enumerate(self.taxonomy.core_areas)
                if f" {a.name.casefold()} " in text]

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
        return [t.slug for t in self.taxonomy.document_types
                if any(f" {cue} " in text for cue in t.query_cues)]

    def _query_areas(self, q: str, hits: list[Hit]) -> list[str]:
        """Core areas the query is about: named in it, or the primary area of most top hits."""
        named = [self.taxonomy.core_areas[i].slug for i in self._named_areas(q)]
        weights: Counter[str] = Counter()
        for h in hits[:10]:
            if h.core_areas:
                weights[h.core_areas[0]] += h.score
        total = sum(weights.values())
        dominant = [a for a, w in weights.most_common(2) if total and w / total >= 0.5]
        return list(dict.fromkeys(named + dominant))

    def _hit(self, row: int, score: float, q: str) -> Hit:
        c = self.data.chunks[row]
        return Hit(id=c.doc_id, title=c.title, url=c.url, section=c.section, anchor=c.anchor,
                   snippet=make_snippet(c.text, q), score=round(score, 6),
                   core_areas=c.core_areas, type=c.type, evidence=c.evidence,
                   summary=c.summary, section_path=c.section_path)


_RANK = {"none": 0, "weak": 1, "good": 2}


def _notice(match: Match, q: str, foreign: bool, intent: bool) -> str | None:
    """The one sentence the page shows above the results, or None."""
    if match == "none":
        if foreign:
            return ("The knowledge base is written in English and nothing in it matches "
                    f"\u201c{q}\u201d. Try your question in English.")
        return f"Nothing in the knowledge base matches \u201c{q}\u201d."
    if match == "weak":
        return (f"No strong match for \u201c{q}\u201d: these are the closest pages, "
                "which may not answer it.")
    if intent:
        return "Showing practices with evidence first."
    return None


def _ranking(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Chunk rows allowed by ``mask``, best score first, ties by row (deterministic)."""
    rows = np.flatnonzero(mask)
    return rows[np.lexsort((rows, -scores[rows]))]


def _faiss_ids(data: IndexData) -> np.ndarray:
    import faiss

    return faiss.vector_to_array(data.faiss_index.id_map)
