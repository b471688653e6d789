"""Choose the "no match" thresholds for the current model and write them to kb/calibration.yml.

    python scripts/calibrate_match.py            # calibrate, report, write
    python scripts/calibrate_match.py --dry-run  # calibrate and report only

Training data: the answerable queries of kb/golden.yml and the `train` negatives of
kb/golden_negatives.yml. `none_below` is the similarity threshold with the best F1 for "none"
(the middle of the best interval, so that it sits between the classes); `weak_below` is the
5th percentile of the answerable queries' best similarity, so that about one real question in
twenty is told its matches are weak. The held-out golden set and negatives are then scored
with the chosen thresholds and reported, never used to choose them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb.evaluation import load_golden  # noqa: E402
from kb.matching import CALIBRATION  # noqa: E402
from kb.settings import Settings  # noqa: E402
from kb.workflow import open_searcher  # noqa: E402

_HEADER = """\
# The "no match" decision's thresholds (see kb/matching.py). Written by
# scripts/calibrate_match.py from the training parts of kb/golden.yml and
# kb/golden_negatives.yml; the held-out parts are never used to choose them.
# models: by model weights (sha256), since similarities are not comparable across models.
# document_min_similarity: a document whose best section is this close is a result (chosen
# with kb eval on the training golden set: 0.35 -> 0.25 raised its nDCG@10 0.789 -> 0.799).
# uncalibrated: any other model; a query with no word in common with the corpus is "none".
# language: a query is in another language when the detector is this sure and at least this
# share of its words never occur in the (English) corpus.
"""


def _signals(searcher, queries: list[str]) -> list[tuple[float, bool]]:
    return [(searcher.best_similarity(q), searcher.is_foreign(q)) for q in queries]


def _pr(none_below: float, pos, neg) -> tuple[float, float]:
    said = [s < none_below or f for s, f in pos + neg]
    truth = [False] * len(pos) + [True] * len(neg)
    tp = sum(a and b for a, b in zip(said, truth, strict=True))
    precision = tp / max(sum(said), 1)
    recall = tp / max(len(neg), 1)
    return precision, recall


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args()
    searcher = open_searcher(Settings())
    negatives = yaml.safe_load((ROOT / "kb" / "golden_negatives.yml").read_text())
    pos = _signals(searcher, [q["q"] for q in load_golden(ROOT / "kb" / "golden.yml")])
    neg = _signals(searcher, [n["q"] for n in negatives["train"]])
    grid = np.round(np.arange(0.20, 0.50, 0.005), 3)
    f1 = []
    for t in grid:
        p, r = _pr(t, pos, neg)
        f1.append(2 * p * r / (p + r) if p + r else 0.0)
    best = max(f1)
    chosen = grid[[i for i, v in enumerate(f1) if v == best]]
    none_below = round(float(chosen.mean()), 3)
    weak_below = round(max(float(np.percentile([s for s, _ in pos], 5)), none_below), 3)
    p, r = _pr(none_below, pos, neg)
    print(
        f"train: {len(pos)} answerable, {len(neg)} unanswerable; none_below {none_below} "
        f"(F1 {best:.3f} on [{chosen.min()}, {chosen.max()}]), precision {p:.3f}, "
        f"recall {r:.3f}; weak_below {weak_below}"
    )
    hpos = _signals(searcher, [q["q"] for q in load_golden(ROOT / "kb" / "golden_holdout.yml")])
    hneg = _signals(searcher, [n["q"] for n in negatives["holdout"]])
    hp, hr = _pr(none_below, hpos, hneg)
    print(f"held out: {len(hpos)} answerable, {len(hneg)} unanswerable; precision {hp:.3f}, recall {hr:.3f}")
    if args.dry_run:
        return 0
    data = yaml.safe_load(CALIBRATION.read_text())
    key = searcher.embedder.fingerprint
    # The document threshold is chosen with kb eval on the training set (the results list);
    # recalibrating the "none" decision keeps it.
    kept = data["models"].get(key, {}).get("document_min_similarity", 0.25)
    data["models"][key] = {
        "none_below": none_below,
        "weak_below": weak_below,
        "needs_shared_word": False,
        "document_min_similarity": kept,
    }
    CALIBRATION.write_text(_HEADER + yaml.safe_dump(data, sort_keys=False))
    print(f"wrote {CALIBRATION} for model weights {key[:12]}...")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
