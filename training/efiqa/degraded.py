"""Good photos with one LOCAL synthetic degradation, for stage-2 training and the localisation check.

The degradation is applied to the 512 px FOV square (the vessel segmenter's
input); the adapter's S px square is its area-resize, as `prepare` makes
smaller squares. The region mask says which patches were really degraded.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from training.degradations import LOCAL_KINDS, apply_local

from ..squares import fov_square

BIG = 512


def local_variant(sq_big: np.ndarray, kind: str, rng: np.random.Generator, size: int):
    """(degraded big square, adapter square of `size`, region mask at big size)."""
    deg, mask = apply_local(sq_big, kind, rng)
    return deg, cv2.resize(deg, (size, size), interpolation=cv2.INTER_AREA), mask


def grid_mean(a: np.ndarray, grid: int) -> np.ndarray:
    """Mean of a square map over each cell of a grid x grid partition."""
    return cv2.resize(a.astype(np.float32), (grid, grid), interpolation=cv2.INTER_AREA)


def fov_patches(grid: int) -> np.ndarray:
    """Patches at least half inside the FOV circle (the only ones a map can speak for)."""
    yy, xx = np.mgrid[:BIG, :BIG]
    c = (BIG - 1) / 2
    return grid_mean(((xx - c) ** 2 + (yy - c) ** 2 <= (BIG / 2) ** 2), grid) >= 0.5


def localisation_set(paths: list[Path], size: int, vessel_min_side: int, cache_dir, seed: int, per_photo: int = 2):
    """Seeded local degradations of held-out good photos: kinds cycle so every kind is covered."""
    out = []
    rng = np.random.default_rng(seed)
    k = 0
    for p in paths:
        sq = fov_square(p, BIG, vessel_min_side, cache_dir)
        for _ in range(per_photo):
            kind = LOCAL_KINDS[k % len(LOCAL_KINDS)]
            k += 1
            deg, small, mask = local_variant(sq, kind, rng, size)
            out.append({"path": p, "kind": kind, "big": deg, "square": small, "mask": mask})
    return out
