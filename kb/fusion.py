"""Reciprocal rank fusion (Cormack, Clarke & Buettcher, 2009): pure, no I/O."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def reciprocal_rank_fusion(rankings: Sequence[np.ndarray], n_items: int, k: int = 60) -> np.ndarray:
    """Fuse rankings of item ids 0..n_items-1: score(d) = sum over rankings of 1/(k + rank(d)).

    Each ranking lists item ids best first; ranks start at 1; an item missing from a ranking
    gets nothing from it. Returns the fused score of every item (0 for items in no ranking).
    """
    scores = np.zeros(n_items, dtype=np.float64)
    for ranking in rankings:
        ranking = np.asarray(ranking, dtype=np.int64)
        scores[ranking] += 1.0 / (k + np.arange(1, len(ranking) + 1))
    return scores
