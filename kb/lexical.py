"""The lexical arm: BM25 over the chunks with bm25s (English stopwords, Snowball stemming)."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

_WORD = re.compile(r"(?u)\b\w\w+\b")
logging.getLogger("bm25s").setLevel(logging.WARNING)  # its DEBUG notes reach the terminal


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def stem_terms(text: str) -> set[str]:
    """The stemmed, lower-cased terms of ``text`` (minus stopwords), as BM25 sees them."""
    words = [w for w in _WORD.findall(text.lower()) if w not in bm25s.stopwords.STOPWORDS_EN]
    return set(_stemmer().stemWords(words))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    # Snippets stem every word of every result: the corpus vocabulary is small, so cache it.
    return _stemmer().stemWord(word.lower())


class LexicalIndex:
    def __init__(self, retriever: bm25s.BM25):
        self._bm25 = retriever

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        tokens = bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), show_progress=False)
        retriever = bm25s.BM25()
        retriever.index(tokens, show_progress=False)
        return cls(retriever)

    def save(self, folder: Path) -> None:
        self._bm25.save(str(folder), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        return cls(bm25s.BM25.load(str(folder), allow_pickle=False))

    def covering(self, query: str) -> np.ndarray:
        """Rows of the chunks that hold every distinct term of ``query`` (at least two terms;
        an empty array otherwise): read off the index's postings, no scoring."""
        terms = list(dict.fromkeys(self._terms(query)))
        if len(terms) < 2:
            return np.zeros(0, dtype=np.int64)
        postings = self._bm25.scores
        rows: np.ndarray | None = None
        for term in terms:
            i = self._bm25.vocab_dict.get(term)
            if i is None:
                return np.zeros(0, dtype=np.int64)
            found = postings["indices"][postings["indptr"][i] : postings["indptr"][i + 1]]
            rows = found if rows is None else np.intersect1d(rows, found, assume_unique=True)
        return np.asarray(rows, dtype=np.int64)

    @staticmethod
    @lru_cache(maxsize=4096)
    def _terms(query: str) -> list[str]:
        """The query's terms as bm25s.tokenize reads them at build time (its word pattern, lower
        case, English stopwords, Snowball stems), without its per-call progress machinery. A
        query is read twice (scores and covering) and often again (paging, repeats)."""
        words = [w for w in _WORD.findall(query.lower()) if w not in bm25s.stopwords.STOPWORDS_EN]
        return list(_stemmer().stemWords(words))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for ``query`` (zeros where no query term occurs)."""
        known = [t for t in self._terms(query) if t in self._bm25.vocab_dict]
        n = int(self._bm25.scores["num_docs"])
        if not known:
            return np.zeros(n, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)
