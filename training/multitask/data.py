"""Training inputs: decoded FOV squares (cached under runs/) and non-fundus pictures.

Every photo goes through the app's own path, `prepare(read_image(p, min_side).rgb, (S,))`,
so training sees exactly what the Analyzer feeds the model. Decoding the big
HRF JPEGs is slow, so squares are cached (`training/squares.py`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from riqa_desktop.core.preprocess import prepare

from ..squares import fov_square

CACHE = Path(__file__).resolve().parents[2] / "runs" / "cache"


# scikit-image sample pictures that ship inside the wheel (no download). `retina` and
# `microaneurysms` are fundus pictures and are deliberately absent.
NON_FUNDUS = ("astronaut", "brick", "camera", "cat", "chelsea", "checkerboard", "clock", "coffee", "coins",
              "colorwheel", "grass", "gravel", "horse", "hubble_deep_field", "immunohistochemistry", "logo",
              "moon", "page", "rocket", "text")


def square_of(rgb: np.ndarray, size: int) -> np.ndarray:
    return prepare(rgb, (size,)).squares[size]


def load_squares(paths, size: int, min_side: int) -> np.ndarray:
    if not paths:
        return np.zeros((0, size, size, 3), np.uint8)
    return np.stack([fov_square(p, size, min_side, CACHE) for p in paths])


def non_fundus_squares(size: int, n_black: int = 12, seed: int = 0) -> np.ndarray:
    """scikit-image sample pictures plus synthetic black / dark frames, as the app would crop them."""
    from skimage import data

    out = []
    for name in NON_FUNDUS:
        try:
            img = np.asarray(getattr(data, name)())
        except Exception:  # a picture that needs a download on this install
            continue
        if img.dtype == bool:
            img = img.astype(np.uint8) * 255
        if img.dtype != np.uint8:
            img = (255 * (img.astype(np.float32) - img.min()) / max(float(np.ptp(img)), 1e-6)).astype(np.uint8)
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        out.append(square_of(np.ascontiguousarray(img[..., :3]), size))
    rng = np.random.default_rng(seed)
    for _ in range(n_black):
        h, w = int(rng.integers(400, 800)), int(rng.integers(500, 900))
        frame = rng.normal(rng.uniform(0, 25), rng.uniform(0, 6), (h, w, 3)).clip(0, 255).astype(np.uint8)
        out.append(square_of(frame, size))
    return np.stack(out)


def split_non_fundus(squares: np.ndarray) -> dict[str, np.ndarray]:
    """Every 4th non-fundus picture is held out for validation."""
    idx = np.arange(len(squares))
    return {"train": squares[idx % 4 != 3], "val": squares[idx % 4 == 3]}
