"""Which eye a photo shows, so advice can say "nasal" and "temporal".

DICOM or the file name (read by `loading`) are trusted. Otherwise the quality
model's laterality head answers when its model has one (trained on EyePACS
names; it abstains below a calibrated confidence, when the disc clearly sits on
the other side, and when the disc stands out at the centre of the field: its cues are
partly EyePACS's own, and it learned macula-centred fields). Without it the eye is
inferred from where the optic disc sits: in a standard photo the disc lies
on the nose side, which is the right of the picture for a right eye and the
left for a left eye. The disc is the brightest blob of its size in the field;
the guess is used only when the blob stands out and lies clearly off-centre
(a disc-centred photo says nothing about the eye). Accuracy on CHASE_DB1 is
printed by `python -m training.advice_eval --laterality`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import imageops
from .fov import detect_fov

WORK_SIDE = 128
MIN_CONFIDENCE = 0.6  # below this the eye is treated as unknown
OFF_CENTRE = 0.25  # FOV radii: a disc nearer the centre than this says nothing about the eye
STANDS_OUT = (2.0, 4.0)  # disc prominence at which the blob starts to count, and counts fully
METADATA_SOURCES = ("dicom", "filename", "metadata")  # an eye the file gave; any other was read from the photo


@dataclass(frozen=True)
class EyeGuess:
    eye: str | None  # "R", "L" or None
    source: str  # "dicom", "filename", "disc" or ""
    confidence: float
    disc_xy: tuple[float, float] | None = None  # disc centre in FOV radii from its centre (x right, y down)
    centred: bool = False  # the disc stands out fully within OFF_CENTRE of the centre: a disc-centred photo

    def as_dict(self) -> dict:
        return {"eye": self.eye, "source": self.source, "confidence": round(self.confidence, 3),
                "disc_xy": None if self.disc_xy is None else [round(v, 3) for v in self.disc_xy]}


def find_disc(rgb: np.ndarray) -> tuple[tuple[float, float], float] | None:
    """(disc centre in FOV radii, prominence) of the brightest disc-sized blob, or None."""
    h, w = rgb.shape[:2]
    f = WORK_SIDE / max(h, w)
    small = imageops.shrink_to(rgb, f) if f < 1 else rgb
    fov = detect_fov(small)
    r = fov.r if fov.found else min(small.shape[:2]) / 2
    inside = fov.mask() if fov.found else np.ones(small.shape[:2], bool)
    inner = inside & ((np.arange(small.shape[1])[None, :] - fov.cx) ** 2
                      + (np.arange(small.shape[0])[:, None] - fov.cy) ** 2 <= (0.92 * r) ** 2)
    if inner.sum() < 100:
        return None
    # Green carries the disc best; divide by the slowly varying illumination so a
    # bright rim or uneven flash does not win over the disc.
    g = small[..., 1].astype(np.float32) + 1.0
    fill = float(np.median(g[inner]))
    g = np.where(inner, g, fill)
    # Background: a blur of about a third of the radius, done cheaply by shrinking.
    bg = imageops.resize(imageops.resize(g, (8, 8), "area"), g.shape[::-1], "cubic")
    bg = np.maximum(bg, 1.0)
    rel = g / bg
    blob = imageops.gaussian_blur(rel, r * 0.06)
    blob = np.where(inner, blob, 0)
    y, x = np.unravel_index(int(np.argmax(blob)), blob.shape)
    vals = blob[inner]
    prominence = float((blob[y, x] - np.median(vals)) / (np.std(vals) + 1e-6))
    return ((x - fov.cx) / r, (y - fov.cy) / r), prominence


def infer_from_image(rgb: np.ndarray) -> EyeGuess:
    """Eye from the disc position; confidence grows with prominence and horizontal offset."""
    found = find_disc(rgb)
    if found is None:
        return EyeGuess(None, "", 0.0)
    (dx, dy), prom = found
    off = float(np.clip((abs(dx) - OFF_CENTRE) / 0.15, 0.0, 1.0))
    stands_out = float(np.clip((prom - STANDS_OUT[0]) / (STANDS_OUT[1] - STANDS_OUT[0]), 0.0, 1.0))
    conf = 0.5 + 0.5 * off * stands_out
    return EyeGuess("R" if dx > 0 else "L", "disc", conf, (dx, dy), centred=off == 0.0 and stands_out == 1.0)


def from_model(p_right: float, threshold: float) -> EyeGuess:
    """The quality model's laterality head: an eye when its calibrated confidence reaches `threshold`.

    Below it the answer is unknown, never a guess: some archives store photos
    mirrored, and such a picture honestly reads as the other eye.
    """
    conf = max(p_right, 1.0 - p_right)
    if conf >= threshold:
        return EyeGuess("R" if p_right >= 0.5 else "L", "model", conf)
    return EyeGuess(None, "model", conf)


def checked_by_disc(guess: EyeGuess, disc: EyeGuess) -> EyeGuess:
    """The model's eye, unless the disc says otherwise: then unknown, never a guess.

    The disc clearly on the other side means a photo stored inverted or mirrored, or the
    model's EyePACS cues misleading it (it reads EyePACS's rotated photos by the cameras'
    notch and rim, and HRF's photos the wrong way round: 26 of 28). The disc standing out at the centre means a
    disc-centred photo, which EyePACS's macula-centred fields did not teach the model: on
    CHASE_DB1's disc-centred photos it was wrong on 5 of the 24 it answered, 1 of 7 after this check.
    """
    if guess.eye and (disc.centred or (disc.confidence >= MIN_CONFIDENCE and disc.eye != guess.eye)):
        return EyeGuess(None, "model", guess.confidence, disc.disc_xy)
    return guess


def eye_of(assessment) -> EyeGuess:
    """The eye of an Assessment: metadata first, then the model's laterality, else the disc if confident."""
    md = assessment.metadata
    if md.laterality in ("R", "L"):
        return EyeGuess(md.laterality, md.laterality_source or "metadata", 1.0)
    em = getattr(assessment, "eye_model", None)
    if em and assessment.grade != "not_fundus":
        guess = from_model(float(em["p_right"]), float(em["threshold"]))
        if guess.eye and assessment.thumbnail is not None:
            return checked_by_disc(guess, infer_from_image(assessment.thumbnail))
        return guess
    if assessment.thumbnail is not None and assessment.grade != "not_fundus":
        guess = infer_from_image(assessment.thumbnail)
        if guess.confidence >= MIN_CONFIDENCE:
            return guess
        return EyeGuess(None, "", guess.confidence, guess.disc_xy)
    return EyeGuess(None, "", 0.0)
