"""Whether a query found anything: "good" matches, "weak" matches only, or "none".

A search engine that always answers teaches people to ignore it. The decision uses what the
engine already computed: the best dense similarity of any section to the query, and whether
the query is written in another language (the content is English). The thresholds are data,
chosen by ``scripts/calibrate_match.py`` on the golden sets and the negative queries in
``kb/golden_negatives.yml``; their held-out parts report how well it generalises.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml

Match = Literal["good", "weak", "none"]
CALIBRATION = Path(__file__).with_name("calibration.yml")
# Languages people in U.S. cities are likely to type in; a short query is classified among
# these only, which keeps the detector from inventing exotic labels for English fragments.
_LANGUAGES = ["en", "es", "fr", "de", "pt", "it", "vi", "zh", "ar", "ru", "ko", "ja", "ht", "tl", "pl"]


@dataclass(frozen=True)
class Thresholds:
    none_below: float  # best dense similarity under which nothing matches
    weak_below: float  # ... under which matches are weak
    # Uncalibrated models: without a word in common with the corpus, nothing matches.
    needs_shared_word: bool
    # A document whose best section is at least this close is one of the results.
    document_min_similarity: float
    # A query is in another language when the detector is this sure and at least this share
    # of its words never occur in the (English) corpus.
    language_confidence: float
    unknown_share: float


@lru_cache(maxsize=8)
def load_thresholds(model_fingerprint: str, path: Path = CALIBRATION) -> Thresholds:
    """The thresholds calibrated for these model weights; similarities differ from model to
    model, so an uncalibrated model gets the cautious defaults (only a query that nothing
    resembles at all is "none")."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    dense = data["models"].get(model_fingerprint, data["uncalibrated"])
    return Thresholds(**dense, **data["language"])


def judge(
    best_dense: float, shares_a_word: bool, foreign: bool, thresholds: Thresholds, covered: bool = False
) -> Match:
    """good / weak / none. ``covered``: one section holds every content word of the query
    (two or more), which no unanswerable query of the golden negatives does; such a query is
    at least a weak match, however its meaning scores ("clergy walking the streets at night")."""
    if foreign:
        return "none"
    if best_dense < thresholds.none_below:
        return "weak" if covered else "none"
    if thresholds.needs_shared_word and not shares_a_word:
        return "none"
    if not shares_a_word and best_dense < thresholds.weak_below:
        # Not one word in common with the library and only a faint likeness in meaning:
        # nonsense ("jjjj kkkk") lands here, a real question in other words does not.
        return "none"
    if best_dense < thresholds.weak_below:
        return "weak"
    return "good"


def is_foreign(q: str, unknown_share: float, thresholds: Thresholds) -> bool:
    """True when ``q`` reads as another language than the corpus's English."""
    letters = [ch for ch in q if ch.isalpha()]
    if not letters:
        return False
    latin = sum(unicodedata.name(ch, "").startswith("LATIN") for ch in letters)
    if latin / len(letters) < 0.5:  # Cyrillic, CJK, Arabic...: not the corpus's script
        return True
    if unknown_share < thresholds.unknown_share:
        return False
    language, confidence = _identifier().classify(q)
    return language != "en" and confidence >= thresholds.language_confidence


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(_LANGUAGES)
    return identifier
