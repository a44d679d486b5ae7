"""Training inputs: decoded FOV squares (cached under runs/), non-fundus pictures, augmentation.

Every photo goes through the app's own path, `prepare(read_image(p, min_side).rgb, (S,))`,
so training sees exactly what the Analyzer feeds the model. Decoding the big
HRF JPEGs is slow, so squares are cached as PNGs keyed by path, size and a
fingerprint of the loading / FOV / preprocessing code, so a change there can
never be hidden by a stale cache (the cache lives under runs/, which git
ignores; shared photos never enter the repo).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np

from riqa_desktop.core.loading import read_image
from riqa_desktop.core.preprocess import circle_mask, prepare

CACHE = Path(__file__).resolve().parents[2] / "runs" / "cache"


def _preprocessing_fingerprint() -> str:
    import inspect

    from riqa_desktop.core import fov, loading, preprocess

    src = "".join(inspect.getsource(m) for m in (loading, fov, preprocess))
    return hashlib.sha1(src.encode()).hexdigest()[:12]


PREP_ID = _preprocessing_fingerprint()

# scikit-image sample pictures that ship inside the wheel (no download). `retina` and
# `microaneurysms` are fundus pictures and are deliberately absent.
NON_FUNDUS = ("astronaut", "brick", "camera", "cat", "chelsea", "checkerboard", "clock", "coffee", "coins",
              "colorwheel", "grass", "gravel", "horse", "hubble_deep_field", "immunohistochemistry", "logo",
              "moon", "page", "rocket", "text")


def square_of(rgb: np.ndarray, size: int) -> np.ndarray:
    return prepare(rgb, (size,)).squares[size]


def load_square(path: Path, size: int, min_side: int, cache: Path = CACHE) -> np.ndarray:
    """The FOV square of one photo file, through the app's loader (cached)."""
    key = hashlib.sha1(f"{Path(path).resolve()}|{size}|{min_side}|{PREP_ID}".encode()).hexdigest()[:20]
    f = cache / f"sq{size}" / f"{key}.png"
    if f.is_file():
        return cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB)
    sq = square_of(read_image(path, min_side=min_side).rgb, size)
    f.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(f), cv2.cvtColor(sq, cv2.COLOR_RGB2BGR))
    return sq


def load_squares(paths, size: int, min_side: int) -> np.ndarray:
    return np.stack([load_square(p, size, min_side) for p in paths]) if paths else np.zeros((0, size, size, 3), np.uint8)


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


def augment(square: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Geometry-only augmentation (flip, rotation, small zoom): keeps every quality label true."""
    size = square.shape[0]
    out = square[:, ::-1] if rng.uniform() < 0.5 else square
    m = cv2.getRotationMatrix2D(((size - 1) / 2, (size - 1) / 2), rng.uniform(-25, 25), rng.uniform(0.95, 1.08))
    out = cv2.warpAffine(np.ascontiguousarray(out), m, (size, size), flags=cv2.INTER_LINEAR, borderValue=0)
    out[~circle_mask(size)] = 0
    return out


def split_non_fundus(squares: np.ndarray) -> dict[str, np.ndarray]:
    """Every 4th non-fundus picture is held out for validation."""
    idx = np.arange(len(squares))
    return {"train": squares[idx % 4 != 3], "val": squares[idx % 4 == 3]}
