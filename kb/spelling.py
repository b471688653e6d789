"""Spelling: a query word unknown to the corpus and close to a known one is corrected.

The dictionary is the index's own vocabulary (every word of every chunk, with its frequency),
plus the taxonomy's names, so that corrections always land on words the knowledge base uses.
SymSpell (symspellpy) does the lookup. Words are left alone when they are known, short,
written in capitals (NIBIN, CGIC, USAO) or contain digits.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from symspellpy import SymSpell, Verbosity

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_MIN_LENGTH = 4  # "gun", "dea", "psp": too short to correct safely
_MIN_COUNT = 2  # a word seen once in the corpus may itself be a typo


class Speller:
    def __init__(self, texts: Iterable[str], keep: Iterable[str] = ()):
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(w.lower() for w in _WORD.findall(text))
        for phrase in keep:
            counts.update({w.lower(): _MIN_COUNT for w in _WORD.findall(phrase)})
        self._known = set(counts)
        self._symspell = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for word, count in counts.items():
            if count >= _MIN_COUNT and len(word) >= _MIN_LENGTH - 1:
                self._symspell.create_dictionary_entry(word, count)

    def knows(self, word: str) -> bool:
        return word.lower() in self._known

    def unknown_share(self, q: str) -> float:
        """The share of the query's words (of 3+ letters) that the corpus never uses."""
        words = [w for w in _WORD.findall(q) if len(w) >= 3]
        return sum(not self.knows(w) for w in words) / len(words) if words else 0.0

    def correct(self, q: str) -> str | None:
        """The query with its misspelt words corrected, or None when nothing changed."""
        changed = False

        def fix(match: re.Match[str]) -> str:
            nonlocal changed
            word = match.group(0)
            if len(word) < _MIN_LENGTH or self.knows(word) or (word.isupper() and len(word) > 1):
                return word
            distance = 1 if len(word) <= 5 else 2
            found = self._symspell.lookup(word.lower(), Verbosity.TOP, max_edit_distance=distance)
            if not found:
                return word
            changed = True
            term = str(found[0].term)
            return term[:1].upper() + term[1:] if word[:1].isupper() else term

        corrected = _WORD.sub(fix, q)
        return corrected if changed and corrected.lower() != q.lower() else None
