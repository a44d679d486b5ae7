"""Training views of a photo: the app's own square, geometry, scale and compression.

The app sees 1,500-5,000 px originals; EyeQ_thumbs200 holds 200 px JPEGs
(quality 75, field 125-176 px). The grade must not depend on which: every
photo reaches the model through `prepare` at `input_size` (the field reduced
to ~160 px, the thumbnails' own scale), and training shows sharp photos as
thumbnails too (`as_thumbnail`) and thumbnails recompressed (`recompress`),
so neither sharpness nor JPEG blocking can stand for a grade.
"""

from __future__ import annotations

import cv2
import numpy as np

from riqa_desktop.core.loading import read_image
from riqa_desktop.core.preprocess import circle_mask, prepare

from .data import load_squares

BIG = 256  # the Analyzer's largest square (EFIQA, measurements): smaller ones are INTER_AREA copies of it
MIN_SIDE = 512  # the Analyzer's decode size (max over both cards and its sizes)


def app_squares(paths, size: int) -> np.ndarray:
    """The squares `Analyzer.assess_images` feeds a model of input `size` (cached under runs/)."""
    return _reduced(load_squares(paths, BIG, MIN_SIDE), size)


def thumb_squares(paths, size: int) -> np.ndarray:
    """The same for small photos, uncached: decoding a 200 px JPEG is quicker than reading the cache."""
    return _reduced(np.stack([prepare(read_image(p).rgb, (BIG,)).squares[BIG] for p in paths]), size)


def _reduced(big: np.ndarray, size: int) -> np.ndarray:
    """What `prepare` does for a smaller model: an INTER_AREA copy of the largest square."""
    if size == BIG:
        return big
    return np.stack([cv2.resize(s, (size, size), interpolation=cv2.INTER_AREA) for s in big]) if len(big) else \
        np.zeros((0, size, size, 3), np.uint8)


def jpeg(square: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", square[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])


def as_thumbnail(square: np.ndarray, field: int, quality: int) -> np.ndarray:
    """What the photo looks like after EyeQ_thumbs200's treatment, seen again through the app."""
    size = square.shape[0]
    small = jpeg(cv2.resize(square, (field, field), interpolation=cv2.INTER_AREA), quality)
    out = cv2.resize(small, (size, size), interpolation=cv2.INTER_LINEAR)
    out[~circle_mask(size)] = 0
    return out


def geometry(square: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """Random flip / rotation / zoom; returns (view, flipped): a flip turns a right eye into a left one."""
    size = square.shape[0]
    flipped = bool(rng.uniform() < 0.5)
    out = square[:, ::-1] if flipped else square
    m = cv2.getRotationMatrix2D(((size - 1) / 2, (size - 1) / 2), rng.uniform(-20, 20), rng.uniform(0.95, 1.06))
    out = cv2.warpAffine(np.ascontiguousarray(out), m, (size, size), flags=cv2.INTER_LINEAR, borderValue=0)
    out[~circle_mask(size)] = 0
    return out, flipped


def scale_and_compression(square: np.ndarray, rng: np.random.Generator, sharp: bool) -> np.ndarray:
    """Sharp sources become thumbnails half the time; thumbnails are recompressed half the time."""
    if sharp and rng.uniform() < 0.5:
        return as_thumbnail(square, int(rng.integers(125, 177)), int(rng.integers(55, 92)))
    if not sharp and rng.uniform() < 0.5:
        return jpeg(square, int(rng.integers(40, 96)))
    return square
