"""Photos with local defects and their EFIQA maps, shared by advice calibration and evaluation.

Two disjoint photo sets, so thresholds are never reported on the photos that set them:
  calibrate - even-indexed `clean_sources()['val']` + EyeQ 'tune' Good photos,
              with the training generators A (`degradations.apply_local`) and
              C (`local_defects_c`) only;
  report    - odd-indexed `clean_sources()['val']` + EyeQ 'val' Good photos,
              with generators A, C and the held-out generator B (`local_defects_b`).
None of these photos trained EFIQA (its EyeQ photos are training-split patients). Maps are cached in runs/advice_cache/ (keyed
by photo, generator, kind and seed; one file per adapter weights), so calibrating and reporting run the model once.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from riqa_desktop.core.assessment import Assessment, QualityMap
from riqa_desktop.core.preprocess import Geometry, normalize_batch

from . import degradations as D
from .local_defects_b import KINDS_B, apply_b
from .local_defects_c import KINDS_C, apply_c
from .splits import clean_sources, eyeq_thumbs

SIZE = 256
EYEQ_PER_SET = 40
CACHE = Path("runs/advice_cache")


def photo_set(root: Path, which: str) -> list[Path]:
    """The calibrate or report photos (see module doc)."""
    clean = clean_sources(root)["val"]
    eyeq = eyeq_thumbs(root)["tune" if which == "calibrate" else "val"]
    good = [p for p, grade, _ in eyeq if grade == 0]
    step = max(1, len(good) // EYEQ_PER_SET)
    return clean[(0 if which == "calibrate" else 1)::2] + good[::step][:EYEQ_PER_SET]


def variants(which: str) -> list[tuple[str, str | None]]:
    """(generator, kind) of every version of a photo: clean first."""
    out = [("clean", None)] + [("A", k) for k in D.LOCAL_KINDS] + [("C", k) for k in KINDS_C]
    return out + ([("B", k) for k in KINDS_B] if which == "report" else [])


def make_variant(square: np.ndarray, gen: str, kind: str | None, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    rng = np.random.default_rng(seed)
    if gen == "clean":
        return square, None
    return {"A": D.apply_local, "B": apply_b, "C": apply_c}[gen](square, kind, rng)


def seed_of(path: Path, gen: str, kind: str | None) -> int:
    return int(hashlib.sha1(f"{path.name}|{gen}|{kind}".encode()).hexdigest()[:8], 16)


@lru_cache(maxsize=1)
def _efiqa_and_card():
    from riqa_desktop.models.registry import load_model

    return load_model("efiqa_adapter")


def _efiqa():
    return _efiqa_and_card()[0]


def efiqa_grids(squares: list[np.ndarray]) -> np.ndarray:
    """The shipped EFIQA adapter's (N, G, G) patch probabilities for uint8 FOV squares (CPU)."""
    import torch

    with torch.inference_mode():
        logits = _efiqa()(torch.from_numpy(normalize_batch(squares))).float().numpy()
    return (1 / (1 + np.exp(-logits))).astype(np.float32)


class MapCache:
    """EFIQA grids by key, run in batches on the CPU, saved to one .npz."""

    def __init__(self, name: str):
        self.path = CACHE / f"{name}.npz"
        self.grids = dict(np.load(self.path)) if self.path.is_file() else {}

    def grids_for(self, keys: list[str], squares: list[np.ndarray]) -> list[np.ndarray]:
        todo = [i for i, k in enumerate(keys) if k not in self.grids]
        for start in range(0, len(todo), 16):
            idx = todo[start:start + 16]
            for i, g in zip(idx, efiqa_grids([squares[i] for i in idx])):
                self.grids[keys[i]] = g
        return [self.grids[k] for k in keys]

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(self.path, **self.grids)


def with_map(square: np.ndarray, vis: float, grid: np.ndarray, path: str = "") -> Assessment:
    """A model-free Assessment of the square (measurements, thumbnail) plus its EFIQA map."""
    from .advice_eval import assessment_for

    a = assessment_for(square, vis, path)
    a.quality_map = QualityMap(grid=grid, geometry=Geometry(0, 0, SIZE, SIZE, SIZE))
    a.quality_score = 1.0 - float(grid.mean())
    return a


def samples(root: Path, which: str):
    """Yield (photo, generator, kind, square, mask, Assessment with map) for a photo set."""
    from .advice_eval import load_square

    # Keyed by the shipped weights' hash: a retrained adapter never reads the old one's maps.
    cache = MapCache(f"efiqa_grids_{_efiqa_and_card()[1]['sha256'][:12]}")
    for path in photo_set(root, which):
        sq, vis = load_square(path)
        vs = variants(which)
        made = [make_variant(sq, g, k, seed_of(path, g, k)) for g, k in vs]
        keys = [f"{path.parent.parent.name}/{path.name}|{g}|{k}" for g, k in vs]
        grids = cache.grids_for(keys, [m[0] for m in made])
        for (g, k), (dsq, mask), grid in zip(vs, made, grids):
            yield path, g, k, dsq, mask, with_map(dsq, vis, grid, str(path))
    cache.save()
