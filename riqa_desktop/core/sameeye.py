"""Decide whether two photos show the same eye, so only real re-shots are compared.

Metadata decides when it can: two DICOM photos with the same patient ID and
laterality taken within the time window are one eye; another patient or the
other eye never is. Without that, photos must fall within the time window,
must not have different known eyes (metadata, file name or a confident
inference), and their vessel patterns must match: an "eye print" is the
map of thin dark lines (vessels) in the frame's central square at a fixed
size, and two prints match when many small blocks of each find their best
position in the other at one alignment (the best small rotation, then one
shift that both directions agree on). Anatomy common to every eye (disc
side, arcades) lines up a few blocks; the same retina lines up many, even
with a shadow or blur over part of it. What stays put in a camera's frame
(lens scratches, reflections, the compression grid) lines up blocks of any
two of its photos with (almost) no movement, so such a match needs far more.
Unsure means "not the same eye". The rates are printed by `python -m bench.sameeye`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from . import imageops
from .laterality import METADATA_SOURCES

SIDE = 128  # prints are made at this size whatever the photo's resolution (thumbnails are <= 256 px)
ANGLES = np.arange(-7.5, 7.6, 2.5)  # a re-shot's rotation, degrees
TURN_MARGIN = 0.05  # correlation by which a rotation must beat none to be used
BLOCK = 19  # block side in print pixels
SEARCH = 13  # each block searches +-SEARCH px independently
BLOCK_MIN_NCC = 0.4
AGREE_PX = 2  # blocks agree when their shifts differ by at most this
MATCH_SCORE = 38  # `match_score` needed to call two prints the same eye (bench.sameeye)
SURE_SCORE = 50  # ... and to overrule an inferred eye that differs
STILL_SCORE = 76  # ... when the match is with the frames as they are (see `match`)
STILL_PX, STILL_DEG = 3, 2.5  # "as they are": give or take the resampling of a cropped or rescaled frame
WINDOW_S = 300.0
RIDGE_SIGMA = 1.0  # smoothing before the Hessian, print pixels
BLOB = 2.0  # ridge = l1 - BLOB * |l2|: lines stay, round spots (lens dust, drusen) go
THIN = 9  # print px: dark structures narrower than this are kept (vessels, even blurred), wider go
# The print keeps this share of the field, its strongest lines: enough that the faint vessels of a dim,
# hazy or blurred photo survive beside the strong stripes of a lash's or a crescent's shadow.
KEEP_TOP = 0.3


def _disc_mask(side: int, shrink: float) -> np.ndarray:
    yy, xx = np.ogrid[:side, :side]
    c = (side - 1) / 2
    return (xx - c) ** 2 + (yy - c) ** 2 <= (shrink * side / 2) ** 2


_INNER = _disc_mask(SIDE, 0.8)
_BLOCKS = np.array([(y, x) for y in range(SEARCH, SIDE - BLOCK - SEARCH + 1, BLOCK // 2)
                    for x in range(SEARCH, SIDE - BLOCK - SEARCH + 1, BLOCK // 2) if _INNER[y: y + BLOCK, x: x + BLOCK].all()])
_BY = _BLOCKS[:, 0, None, None] + np.arange(BLOCK)[None, :, None]  # index arrays: every block's pixels
_BX = _BLOCKS[:, 1, None, None] + np.arange(BLOCK)[None, None, :]
_NO_TURN = int(np.argmin(np.abs(ANGLES)))
_THIN = imageops.ellipse_kernel(THIN)
_EDGE = imageops.ellipse_kernel(9)


def _lines(flat: np.ndarray, sigma: float) -> np.ndarray:
    """Hessian line measure at `sigma`: high on dark lines, low on round spots and flat parts."""
    sm = imageops.gaussian_blur(flat, sigma)
    dxx = imageops.sobel(sm, 2, 0)
    dyy = imageops.sobel(sm, 0, 2)
    dxy = imageops.sobel(sm, 1, 1)
    root = np.sqrt((dxx - dyy) ** 2 + 4 * dxy**2)
    l1, l2 = (dxx + dyy + root) / 2, (dxx + dyy - root) / 2
    return np.clip(l1 - BLOB * np.abs(l2), 0, None)


def eye_print(thumb: np.ndarray | None) -> np.ndarray | None:
    """The vessel ridge map (SIDE x SIDE uint8) of a photo's thumbnail, or None when there is no field."""
    if thumb is None or thumb.ndim != 3 or thumb.shape[2] != 3 or min(thumb.shape[:2]) < 32:
        return None
    # Re-shots come from one camera, whose field stays put in the frame: the frame's central square,
    # not a detected field, so a shadow that hides part of the field cannot change the scale.
    h, w = thumb.shape[:2]
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    sq = imageops.resize(thumb[y0: y0 + side, x0: x0 + side], (SIDE, SIDE), "area" if side > SIDE else "linear")
    g = sq[..., 1].astype(np.float32)
    v = sq.max(axis=2)
    c = SIDE // 16
    bg = float(np.median(np.concatenate([v[:c, :c].ravel(), v[:c, -c:].ravel(), v[-c:, :c].ravel(),
                                         v[-c:, -c:].ravel()])))
    # The field is clearly brighter than the frame's corners; in an underexposed photo that is only a
    # few levels, so the margin is at most a tenth of the photo's light.
    top = float(np.percentile(v, 99))
    inside = (v > min(max(20.0, bg + 12), bg + max(3.0, 0.1 * (top - bg)))).astype(np.float32)
    # Divide by the local brightness (a shadow or vignetting is multiplicative); keep only dark
    # structures thinner than THIN (black top-hat), so the edge of a shadow or crescent, a lash's broad
    # stripe and the rim of a bright speck draw no line; then a Hessian line measure: high on the
    # centre line of dark, thin structures (vessels), low on round spots.
    sigma = SIDE / 20
    light = imageops.gaussian_blur(g * inside, sigma) / (imageops.gaussian_blur(inside, sigma) + 1e-3)
    flat = np.where(inside > 0, g / (light + 4.0), 1.0).astype(np.float32)
    ridge = _lines(flat - imageops.closing(flat, _THIN), RIDGE_SIGMA)  # minus the black top-hat
    keep = imageops.erode(inside.astype(np.uint8), _EDGE) > 0
    if keep.sum() < 0.2 * SIDE * SIDE:
        return None
    ridge[~keep] = 0
    # Keep the strongest lines: the vessels, whatever the photo's contrast.
    ridge = np.clip(ridge - float(np.percentile(ridge[keep], 100 * (1 - KEEP_TOP))), 0, None)
    top = float(ridge.max())
    if top <= 0:
        return None
    return np.round(ridge * (255.0 / top)).astype(np.uint8)


def _best_rotation(a: np.ndarray, b: np.ndarray) -> float:
    """The angle that best lines `b` up with `a`, found cheaply at half size; none unless another is clearly
    better, so that what stays put in the frame is compared with the frames as they are (see `match`)."""
    a2, b2 = imageops.pyr_down(a), imageops.pyr_down(b)
    n = a2.shape[0]
    t = int(n * 0.4)
    tpl = a2[n // 2 - t: n // 2 + t, n // 2 - t: n // 2 + t]
    scores = []
    for ang in ANGLES:
        rot = imageops.warp_affine(b2, imageops.rotation_matrix(((n - 1) / 2, (n - 1) / 2), float(ang)), (n, n))
        scores.append(float(imageops.match_template(rot, tpl).max()))
    k = int(np.argmax(scores))
    return 0.0 if scores[_NO_TURN] >= scores[k] - TURN_MARGIN else float(ANGLES[k])


def _rotate(p: np.ndarray, angle: float) -> np.ndarray:
    c = (SIDE - 1) / 2
    return imageops.warp_affine(p, imageops.rotation_matrix((c, c), angle), (SIDE, SIDE))


def _window_sums(v: np.ndarray) -> np.ndarray:
    """Sum of every BLOCK x BLOCK window of `v`."""
    c = np.pad(v.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    return c[BLOCK:, BLOCK:] - c[:-BLOCK, BLOCK:] - c[BLOCK:, :-BLOCK] + c[:-BLOCK, :-BLOCK]


def _shifts(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, 2) x, y: where in `b` each block of `a` that has vessels finds a clear best match, relative to it.
    All blocks at once (normalised cross-correlation by FFT): this runs for every earlier shot at the camera."""
    blks = a[_BY, _BX]
    keep = np.count_nonzero(blks, axis=(1, 2)) >= 0.05 * BLOCK * BLOCK  # else no vessels (or a shadow)
    if not keep.any():
        return np.zeros((0, 2), np.float32)
    span, n = BLOCK + 2 * SEARCH, 2 * SEARCH + 1
    oy, ox = _BLOCKS[keep, 0, None, None] - SEARCH, _BLOCKS[keep, 1, None, None] - SEARCH
    b = b.astype(np.float64)
    reg = b[oy + np.arange(span)[:, None], ox + np.arange(span)]
    t = blks[keep] - blks[keep].mean(axis=(1, 2), keepdims=True)
    f = (span, span)  # the circular correlation of a block and its search area does not wrap
    num = np.fft.irfft2(np.fft.rfft2(reg) * np.conj(np.fft.rfft2(t, f)), f)[:, :n, :n]
    # Each window's sum and sum of squares, from integral images of `b`.
    s1, s2 = (_window_sums(v)[oy + np.arange(n)[:, None], ox + np.arange(n)] for v in (b, b * b))
    var = s2 - s1 * s1 / (BLOCK * BLOCK)
    den = np.sqrt(np.maximum(var, 1.0) * (t * t).sum(axis=(1, 2))[:, None, None])
    r = np.where(var > 1.0, num / den, 0.0).reshape(len(t), -1)  # a flat window: no match
    k = r.argmax(axis=1)
    best = r[np.arange(len(k)), k] > BLOCK_MIN_NCC
    py, px = np.divmod(k[best], n)
    return np.stack([px - SEARCH, py - SEARCH], axis=1).astype(np.float32)


def _near(shifts: np.ndarray, at: np.ndarray) -> np.ndarray:
    """For each shift in `at`, how many of `shifts` lie within AGREE_PX of it."""
    return ((np.abs(shifts[None, :, 0] - at[:, None, 0]) <= AGREE_PX)
            & (np.abs(shifts[None, :, 1] - at[:, None, 1]) <= AGREE_PX)).sum(axis=1)


def match(a: np.ndarray | None, b: np.ndarray | None) -> tuple[int, bool]:
    """(score, still): how many blocks of `a` in `b` and of `b` in `a` agree on one alignment (0 = no
    evidence; both ways, so either photo may be the one with a shadow, and chance agreements of one
    way rarely meet the other's), and whether that alignment is the frames as they are, where whatever
    stays put in a camera's frame (lens dust and scratches, reflections, sensor and compression
    pattern) agrees for any two of its photos."""
    if a is None or b is None or a.shape != (SIDE, SIDE) or b.shape != (SIDE, SIDE):
        return 0, False
    a, b = a.astype(np.float32), b.astype(np.float32)
    angle = _best_rotation(a, b)
    ab, ba = _shifts(a, _rotate(b, angle)), _shifts(b, _rotate(a, -angle))
    # A block of `b` found in `a` at shift s is a block of `a` found in `b` at -s, turned by the angle.
    t = np.deg2rad(angle)
    ba = -ba @ np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]], np.float32)
    both = np.concatenate([ab, ba])
    if not len(both):
        return 0, False
    votes = _near(ab, both) + _near(ba, both)
    k = int(votes.argmax())
    still = abs(angle) <= STILL_DEG and float(np.abs(both[k]).max()) <= STILL_PX
    return int(votes[k]), still


def match_score(a: np.ndarray | None, b: np.ndarray | None) -> int:
    return match(a, b)[0]


@dataclass
class Shot:
    """What the same-eye rule needs to know about one photo."""

    arrived: datetime  # when the app saw it (timezone-aware)
    acquired: datetime | None = None  # the camera's acquisition time, when recorded (timezone-aware)
    patient_id: str = ""
    laterality: str | None = None  # from metadata (DICOM or file name)
    eye: str | None = None  # metadata, else a confident inference; None = unknown
    eye_inferred: bool = False  # `eye` is an inference from the image, not metadata
    print: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def of(cls, a, arrived: datetime) -> "Shot":
        """The shot of an Assessment; its eye print is made once and kept in `a.eye_print`."""
        from .laterality import eye_of

        if a.eye_print is None and a.grade != "not_fundus":
            a.eye_print = eye_print(a.thumbnail)
        md, guess = a.metadata, eye_of(a)
        return cls(arrived=aware(arrived), acquired=parse_time(md.acquired), patient_id=md.patient_id or "",
                   laterality=md.laterality, eye=guess.eye, eye_inferred=guess.source not in METADATA_SOURCES,
                   print=a.eye_print)


def aware(t: datetime) -> datetime:
    """A naive time is the machine's local time (DICOM times carry no zone)."""
    return t if t.tzinfo else t.astimezone()


def parse_time(iso: str | None) -> datetime | None:
    try:
        return aware(datetime.fromisoformat(iso)) if iso else None
    except (ValueError, TypeError, OverflowError, OSError):
        return None


def same_eye(prev: Shot, cur: Shot, window_s: float = WINDOW_S) -> bool:
    """True only when the two shots are surely of one eye (see the module docstring)."""
    if prev.acquired and cur.acquired:
        gap = cur.acquired - prev.acquired
    else:
        gap = cur.arrived - prev.arrived
    if abs(gap.total_seconds()) > window_s:
        return False
    if prev.patient_id and cur.patient_id:
        if prev.patient_id != cur.patient_id:
            return False
        if prev.laterality and cur.laterality:
            return prev.laterality == cur.laterality
    need = MATCH_SCORE
    if prev.eye and cur.eye and prev.eye != cur.eye:
        if not (prev.eye_inferred or cur.eye_inferred):
            return False
        need = SURE_SCORE  # an inferred eye can be wrong; only a far stronger vessel match overrules it
    score, still = match(prev.print, cur.print)
    return score >= (max(need, STILL_SCORE) if still else need)
