"""The contract every local-defect generator keeps (training.local_defects_b / _c): shared by their tests."""

from __future__ import annotations

import numpy as np


def checked_defect(apply, square: np.ndarray, kind: str, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`apply(square, kind, rng)` checked for determinism, a [0, 1] float32 mask, and nothing changed outside
    the field; returns (out, mask, per-pixel largest channel change)."""
    out, mask = apply(square, kind, np.random.default_rng(seed))
    again, mask2 = apply(square, kind, np.random.default_rng(seed))
    assert (out == again).all() and (mask == mask2).all()  # deterministic
    assert mask.dtype == np.float32 and 0 <= mask.min() and mask.max() <= 1 and mask.max() > 0.5
    n = square.shape[0]
    yy, xx = np.mgrid[:n, :n]
    outside = np.hypot(xx - (n - 1) / 2, yy - (n - 1) / 2) > n / 2
    assert (out[outside] == square[outside]).all() and mask[outside].max() == 0
    return out, mask, np.abs(out.astype(int) - square.astype(int)).max(axis=2)
