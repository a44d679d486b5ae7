"""Fixed, stratified splits of the shared photos, the same for every model.

The validation photos are chosen by a seeded shuffle within each class and
never trained on by any stage. `python -m training splits` prints them.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

SPLIT_SEED = 20261122
VAL_FRACTION = 0.3


def _split(items: list[str], frac: float, seed: int) -> tuple[list[str], list[str]]:
    items = sorted(items)
    rng = random.Random(seed)
    rng.shuffle(items)
    n_val = max(1, round(len(items) * frac))
    return sorted(items[n_val:]), sorted(items[:n_val])


def drimdb(root: Path) -> dict[str, list[tuple[Path, str]]]:
    """DRIMDB photos by split: {'train': [(path, label)], 'val': [...]}; labels good/bad/outlier."""
    by_label: dict[str, list[str]] = {}
    with open(root / "DRIMDB" / "labels.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            by_label.setdefault(row["label"], []).append(row["filename"])
    out = {"train": [], "val": []}
    for label, files in sorted(by_label.items()):
        tr, va = _split(files, VAL_FRACTION, SPLIT_SEED)
        out["train"] += [(root / "DRIMDB" / f, label) for f in tr]
        out["val"] += [(root / "DRIMDB" / f, label) for f in va]
    return out


def clean_sources(root: Path) -> dict[str, list[Path]]:
    """Good photos used as clean sources for synthetic degradations, by split.

    HRF (37), DRIVE (40), CHASE_DB1 (28) and DRIMDB good: validation holds 30 %
    of each source, and DRIMDB good follows `drimdb()` so no validation photo
    of one model is a training photo of another.
    """
    out = {"train": [], "val": []}
    sources = {
        "HRF": sorted((root / "HRF" / "images").glob("*")),
        "DRIVE": sorted((root / "DRIVE").glob("*/images/*")),
        "CHASEDB1": sorted((root / "CHASEDB1").glob("*/images/*")),
    }
    for name, files in sources.items():
        tr, va = _split([str(f) for f in files], VAL_FRACTION, SPLIT_SEED)
        out["train"] += [Path(f) for f in tr]
        out["val"] += [Path(f) for f in va]
    d = drimdb(root)
    for split in ("train", "val"):
        out[split] += [p for p, lab in d[split] if lab == "good"]
    return out
