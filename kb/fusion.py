"""Reciprocal rank fusion (Cormack, Clarke & Buettcher, 2009): pure, no I/O."""

from __future__ import annotations

from collections.abc import Sequence


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = 60) -> dict[int, float]:
    """Fuse ranked lists of item ids: score(d) = sum over lists of 1 / (k + rank(d)).

    Ranks start at 1. An item missing from a list gets nothing from it.
    """
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return scores
