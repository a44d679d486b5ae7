"""A fast rule for "is this a fundus photograph at all", run before any model.

Deliberately conservative: it only rejects what no fundus camera produces,
so a real (even very bad) fundus photo is never thrown out here; the trained
`not_fundus` head of the quality model catches the rest (outer-eye close-ups,
room scenes). Its rates on DRIMDB and on scikit-image's non-fundus pictures are
measured by tests/test_gate.py: it fires on 0 of 204 shared fundus
photos (DRIMDB good and bad, HRF, DRIVE, CHASE_DB1), on 12 of 18 scikit-image
non-fundus pictures, and on none of the 11 DRIMDB outliers (those need the model).

1. Blank frame: the 99th percentile of brightness is below 12 (lens cap, eye
   closed in the dark, black frame), or the photo is almost uniform.
2. No round field and no fundus colour: no circular field of view was found
   and red carries under 40 % of the light (fundus light is red-dominant).
"""

from __future__ import annotations

import numpy as np

from .fov import FieldOfView
from .pixels import brightest


def fundus_gate(rgb: np.ndarray, fov: FieldOfView) -> tuple[bool, str]:
    """(looks like a fundus photo, reason when it does not)."""
    step = max(1, max(rgb.shape[:2]) // 256)
    small = rgb[::step, ::step]
    bright = brightest(small).astype(np.float32)
    if np.percentile(bright, 99) < 12 or bright.std() < 2.0:
        return False, "blank or black frame (lens cap on, eye closed, or no light)"
    if not fov.found:
        total = small.reshape(-1, 3).astype(np.float32).sum(axis=0)
        red_share = total[0] / max(total.sum(), 1.0)
        if red_share < 0.40:
            return False, "no round field of view and no fundus colour: not a fundus photo"
    return True, ""
