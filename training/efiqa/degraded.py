"""Good photos with one LOCAL synthetic degradation, for stage-2 training and the localisation check.

The degradation is applied to the 512 px FOV square (the vessel segmenter's
input); the adapter's S px square is its area-resize, as `prepare` makes
smaller squares. The region mask says which patches were really degraded.
Local defects come from generator A (`training.degradations.apply_local`) or
C (`training.local_defects_c.apply_c`); generator B never trains (it reports).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from training.degradations import LOCAL_KINDS, apply_local
from training.local_defects_c import KINDS_C, apply_c

from ..squares import fov_square

BIG = 512
GENERATORS = {"A": (LOCAL_KINDS, apply_local), "C": (KINDS_C, apply_c)}  # B is held out: never here


def defect_kinds(generators) -> list[tuple[str, str]]:
    """(generator, kind) of every training defect, interleaved so a cycle over them mixes generators."""
    lists = [[(g, k) for k in GENERATORS[g][0]] for g in generators]
    out = []
    for i in range(max(len(v) for v in lists)):
        out += [v[i] for v in lists if i < len(v)]
    return out


def apply_defect(square: np.ndarray, gen: str, kind: str, rng: np.random.Generator):
    """One local defect of a training generator: (uint8 square, float32 mask)."""
    if gen not in GENERATORS:
        raise ValueError(f"generator '{gen}' does not train (training generators: {', '.join(GENERATORS)})")
    return GENERATORS[gen][1](square, kind, rng)


def local_variant(sq_big: np.ndarray, kind: str, rng: np.random.Generator, size: int, gen: str = "A"):
    """(degraded big square, adapter square of `size`, region mask at big size)."""
    deg, mask = apply_defect(sq_big, gen, kind, rng)
    return deg, cv2.resize(deg, (size, size), interpolation=cv2.INTER_AREA), mask


def grid_mean(a: np.ndarray, grid: int) -> np.ndarray:
    """Mean of a square map over each cell of a grid x grid partition."""
    return cv2.resize(a.astype(np.float32), (grid, grid), interpolation=cv2.INTER_AREA)


def fov_patches(grid: int) -> np.ndarray:
    """Patches at least half inside the FOV circle (the only ones a map can speak for)."""
    yy, xx = np.mgrid[:BIG, :BIG]
    c = (BIG - 1) / 2
    return grid_mean(((xx - c) ** 2 + (yy - c) ** 2 <= (BIG / 2) ** 2), grid) >= 0.5


def localisation_set(paths: list[Path], size: int, vessel_min_side: int, cache_dir, seed: int, per_photo: int = 2,
                     gen: str = "A"):
    """Seeded local degradations of held-out good photos: kinds cycle so every kind is covered.

    `gen` "A" or "C" (training generators) or "B" (the held-out one, for reports only).
    """
    if gen == "B":
        from training.local_defects_b import KINDS_B, apply_b

        kinds, fn = KINDS_B, apply_b
    else:
        kinds, fn = GENERATORS[gen]
    out = []
    rng = np.random.default_rng(seed)
    k = 0
    for p in paths:
        sq = fov_square(p, BIG, vessel_min_side, cache_dir)
        for _ in range(per_photo):
            kind = kinds[k % len(kinds)]
            k += 1
            deg, mask = fn(sq, kind, rng)
            small = cv2.resize(deg, (size, size), interpolation=cv2.INTER_AREA)
            out.append({"path": p, "kind": kind, "big": deg, "square": small, "mask": mask})
    return out
