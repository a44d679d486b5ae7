"""Per-pixel channel extremes of RGB images.

numpy reduces over the last, 3-long axis (`rgb.max(axis=2)`) some 50x slower than
it takes the maximum of the three channel planes, and these run on every photo.
"""

from __future__ import annotations

import numpy as np


def brightest(rgb: np.ndarray) -> np.ndarray:
    """The brightest channel of each pixel (same values as `rgb.max(axis=2)`)."""
    return np.maximum(np.maximum(rgb[..., 0], rgb[..., 1]), rgb[..., 2])


def darkest(rgb: np.ndarray) -> np.ndarray:
    """The darkest channel of each pixel (same values as `rgb.min(axis=2)`)."""
    return np.minimum(np.minimum(rgb[..., 0], rgb[..., 1]), rgb[..., 2])
