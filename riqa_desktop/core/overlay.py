"""Draw a quality map over a photo: colour-blind-safe (cividis), transparent where fine.

Transparency rises with the value, so intact areas of the photo stay visible.
Used by the HTML report and the CLI; the GUI builds the same ramp as a LUT.
"""

from __future__ import annotations

import cv2
import numpy as np


def colorize(values: np.ndarray) -> np.ndarray:
    """[0, 1] floats -> (H, W, 3) uint8 RGB with OpenCV's cividis map."""
    v = np.clip(values * 255.0, 0, 255).astype(np.uint8)
    return cv2.applyColorMap(v, cv2.COLORMAP_CIVIDIS)[..., ::-1]


def blend(rgb: np.ndarray, values: np.ndarray, opacity: float = 0.65) -> np.ndarray:
    """Photo with the map on top; alpha = opacity * value (so 0 leaves the photo untouched)."""
    if values.shape != rgb.shape[:2]:
        values = cv2.resize(values, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
    alpha = (np.clip(values, 0, 1) * opacity)[..., None]
    out = rgb.astype(np.float32) * (1 - alpha) + colorize(values).astype(np.float32) * alpha
    return np.clip(out, 0, 255).astype(np.uint8)
