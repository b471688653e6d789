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

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for ``query`` (zeros where no query term occurs)."""
        terms = bm25s.tokenize([query], stopwords="en", stemmer=_stemmer(), return_ids=False,
                               show_progress=False)[0]
        known = [t for t in terms if t in self._bm25.vocab_dict]
        n = int(self._bm25.scores["num_docs"])
        if not known:
            return np.zeros(n, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)
