"""The app's FOV square of a photo (read_image + prepare), cached as PNG under runs/.

Every training stage crops exactly as the Analyzer does. Decoding the big HRF
JPEGs is slow, so squares are cached, keyed by path, size, decode size and a
fingerprint of the loading / FOV / preprocessing code: a change there can never
be hidden by a stale cache (the cache lives under runs/, which git ignores;
shared photos never enter the repo).
"""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path

import cv2
import numpy as np

from riqa_desktop.core import fov, imageops, loading, preprocess
from riqa_desktop.core.loading import read_image
from riqa_desktop.core.preprocess import prepare

PREP_ID = hashlib.sha1("".join(inspect.getsource(m) for m in (loading, fov, preprocess, imageops)).encode()).hexdigest()[:12]


def fov_square(path: Path, size: int, min_side: int, cache_dir: Path | None = None) -> np.ndarray:
    """The FOV square of one photo file; cached in `cache_dir` when one is given."""
    f = None
    if cache_dir is not None:
        key = hashlib.sha1(f"{Path(path).resolve()}|{size}|{min_side}|{PREP_ID}".encode()).hexdigest()[:20]
        f = Path(cache_dir) / f"sq{size}_{key}.png"
        if f.is_file():
            return cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB)
    sq = prepare(read_image(path, min_side=min_side).rgb, (size,)).squares[size]
    if f is not None:
        f.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(f), cv2.cvtColor(sq, cv2.COLOR_RGB2BGR))
    return sq
