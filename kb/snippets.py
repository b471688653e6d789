"""Snippets: the part of a section that best matches the query, HTML-escaped, terms in <mark>."""

from __future__ import annotations

import html
import re
from bisect import bisect_left
from functools import lru_cache

from kb.lexical import stem, stem_terms

_TOKEN = re.compile(r"(?u)\w+|\W+")
SNIPPET_WORDS = 32
_SLACK = 10  # words a snippet may move to start or end on a sentence boundary
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s")


@lru_cache(maxsize=8192)
def _read(text: str) -> tuple[list[str], list[int], list[str], list[int], list[str | None]]:
    """A section's tokens (HTML-escaped), the positions of its words, their stems, the words
    that start a sentence and each token's stem (None between words): the same for every query,
    so worked out once per section."""
    raw = _TOKEN.findall(" ".join(text.split()))
    word_pos = [i for i, t in enumerate(raw) if t[:1].isalnum() or t[:1] == "_"]
    stems = [stem(raw[i]) for i in word_pos]
    starts = [n for n in range(1, len(word_pos)) if _SENTENCE_END.search(raw[word_pos[n] - 1])]
    token_stems: list[str | None] = [None] * len(raw)
    for n, i in enumerate(word_pos):
        token_stems[i] = stems[n]
    escaped = [html.escape(t, quote=False) for t in raw]
    return escaped, word_pos, stems, starts, token_stems


def make_snippet(text: str, query: str, words: int = SNIPPET_WORDS) -> str:
    """A window of ``words`` words around the densest run of query terms.

    The result is HTML-escaped; the only markup is ``<mark>`` around words whose stem is a
    query term stem. With no query term in the text (a purely semantic match), the window is
    the start of the section.
    """
    terms = stem_terms(query)
    tokens, word_pos, stems, starts, token_stems = _read(text)
    hits = [n for n, s in enumerate(stems) if s in terms]
    start = 0
    if hits:
        # the window start (in words) that covers the most hits (hits are sorted: bisect)
        best = max(hits, key=lambda h: bisect_left(hits, h + words) - bisect_left(hits, h))
        start = max(0, best - 4)
    if not word_pos:
        return ""
    end = min(len(word_pos), start + words)
    # Cut at sentence boundaries where one is near, so a snippet reads as whole sentences.
    back = [b for b in starts if start - _SLACK <= b <= start]
    if start > 0 and back:
        start = back[-1]
    elif start > 0 and any(start < b <= start + _SLACK for b in starts):
        start = next(b for b in starts if start < b <= start + _SLACK)
    end = min(len(word_pos), start + words)
    ahead = [b for b in starts if end <= b <= end + _SLACK]
    behind = [b for b in starts if start + words // 2 <= b < end]
    if ahead:
        end = ahead[0]
    elif behind:
        end = behind[-1]
    first_word, last_word = word_pos[start], word_pos[end - 1]
    out = []
    # A snippet that ends on a sentence boundary keeps the sentence's closing punctuation.
    last = word_pos[end] - 1 if end < len(word_pos) and end in starts else word_pos[end - 1]
    for i in range(first_word, last + 1):
        marked = i <= last_word and token_stems[i] in terms
        out.append(f"<mark>{tokens[i]}</mark>" if marked else tokens[i])
    prefix = "… " if start > 0 and start not in starts else ""
    suffix = " …" if end < len(word_pos) and end not in starts else ""
    return prefix + "".join(out).rstrip() + suffix
