"""Brightness, sharpness and contrast per region of the field of view.

The advice engine reads these to say *where* a photo is too dark or blurred
in words a photographer uses. Measured on the FOV square (model input), so
they are independent of the camera's resolution.

Regions: upper, lower, left, right (of the picture), centre (inner 40 % of
the radius) and edge (outer ring beyond 80 %), plus the whole field.
Brightness is the mean of the brightest channel (0-255); sharpness is the
mean absolute Laplacian of the green channel (vessel detail); contrast is the
standard deviation of the green channel.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from . import imageops
from .pixels import brightest


def region_masks(size: int) -> dict[str, np.ndarray]:
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    c = (size - 1) / 2
    dx, dy = (xx - c) / (size / 2), (yy - c) / (size / 2)
    r = np.hypot(dx, dy)
    inside = r <= 0.97
    ang = np.degrees(np.arctan2(dy, dx))  # 0 = right, 90 = down (image y grows downwards)
    body = inside & (r > 0.4)
    return {
        "upper": body & (ang < -45) & (ang > -135),
        "lower": body & (ang > 45) & (ang < 135),
        "left": body & ((ang > 135) | (ang < -135)),
        "right": body & (ang > -45) & (ang < 45),
        "centre": r <= 0.4,
        "edge": inside & (r > 0.8),
        "whole": inside,
    }


@lru_cache(maxsize=4)
def _region_pixels(size: int) -> dict[str, np.ndarray]:
    """Flat pixel indices of each region: taking them is several times faster than a boolean mask."""
    return {name: np.flatnonzero(m) for name, m in region_masks(size).items() if m.any()}


def measure_regions(square: np.ndarray) -> dict:
    """{region: {"brightness", "sharpness", "contrast"}} plus glare and dark fractions."""
    regions = _region_pixels(square.shape[0])
    bright = brightest(square).astype(np.float32).ravel()
    green = square[..., 1].astype(np.float32)
    lap = np.abs(imageops.laplacian(imageops.gaussian_blur(green, ksize=3))).ravel()
    green = green.ravel()
    out: dict = {}
    for name, idx in regions.items():
        out[name] = {
            "brightness": round(float(bright[idx].mean()), 2),
            "sharpness": round(float(lap[idx].mean()), 3),
            "contrast": round(float(green[idx].std()), 2),
        }
    whole = bright[regions["whole"]]
    out["glare_fraction"] = round(float((whole >= 250).mean()), 4)
    out["dark_fraction"] = round(float((whole < 25).mean()), 4)
    return out
