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


EYEQ_GRADES = {"good": 0, "usable": 1, "reject": 2}
EYEQ_FRACTIONS = {"val": 0.2, "tune": 0.12}  # of patients; the rest trains


def eyeq_thumbs(root: Path) -> dict[str, list[tuple[Path, int, str]]]:
    """EyeQ_thumbs200 by patient: {'train'|'tune'|'val': [(path, grade 0/1/2, eye 'R'|'L')]}.

    Both eyes of a patient fall in one split. `val` is reported and never
    trained or tuned on; `tune` chooses the recipe, calibrates and sets thresholds.
    """
    rows = []
    with open(root / "EyeQ_thumbs200" / "labels.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            patient, side = row["filename"].rsplit(".", 1)[0].rsplit("_", 1)
            rows.append((patient, root / "EyeQ_thumbs200" / "images" / row["filename"],
                         EYEQ_GRADES[row["label"]], "R" if side == "right" else "L"))
    patients = sorted({r[0] for r in rows})
    rng = random.Random(SPLIT_SEED)
    rng.shuffle(patients)
    n_val, n_tune = (round(len(patients) * EYEQ_FRACTIONS[k]) for k in ("val", "tune"))
    which = {p: "val" for p in patients[:n_val]}
    which.update({p: "tune" for p in patients[n_val:n_val + n_tune]})
    out: dict[str, list] = {"train": [], "tune": [], "val": []}
    for patient, path, grade, eye in sorted(rows, key=lambda r: r[1]):
        out[which.get(patient, "train")].append((path, grade, eye))
    return out
