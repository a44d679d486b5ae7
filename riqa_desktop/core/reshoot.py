"""Compare a re-shot with the previous photo of the same eye, and remember lens spots.

No anchor system tells the photographer whether the new shot fixed the old
problem; this does: "Better: blur fixed. Still dark in the upper part."
Same eye = same patient and laterality taken within `window_s` seconds; with
no metadata at all, simply the previous photo (a watched folder in order).

Dust or a smudge on the lens stays at the same place *in the frame* whatever
the eye does, so small dark round spots seen at the same frame position in
several recent photos are reported as lens spots ("clean the lens").
Limitation: re-shots of one eye with the same fixation also repeat real dark
lesions at the same place, so spots must repeat in `DUST_MIN_PHOTOS` photos.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime

import cv2
import numpy as np

from .advice import MAX_ITEMS, make_item, texts
from .assessment import Assessment

GRADE_RANK = {"not_fundus": 0, "reject": 1, "usable": 2, "good": 3}
SCORE_STEP = 0.05  # quality-score change that counts as better / worse
DUST_MIN_PHOTOS = 3  # the current photo and at least two earlier ones
DUST_HISTORY = 5
DUST_MATCH = 0.02  # same spot when within 2 % of the frame width
FOVEA_ZONE = 0.12  # spots this close to the frame centre are ignored
NEUTRAL = {"good", "usable"}


def lens_spots(thumb: np.ndarray | None) -> list[tuple[float, float]]:
    """Centres (x, y as fractions of the frame) of small, round, dark blobs inside the bright field.

    A closing removes dark structures narrower than the kernel (vessels and
    spots); an opening of that residue keeps only the round ones (spots).
    """
    if thumb is None or thumb.ndim != 3:
        return []
    h, w = thumb.shape[:2]
    g = cv2.GaussianBlur(thumb[..., 1], (3, 3), 0)
    field = cv2.erode((thumb.max(axis=2) > 25).astype(np.uint8), np.ones((9, 9), np.uint8))
    k = max(5, int(round(max(h, w) * 0.06)) | 1)
    dark = cv2.subtract(cv2.morphologyEx(g, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))), g)
    kk = max(3, (k // 2) | 1)
    spots = cv2.morphologyEx(dark, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kk, kk)))
    spots = np.where(field > 0, spots, 0).astype(np.uint8)
    n, _, stats, cents = cv2.connectedComponentsWithStats((spots > 12).astype(np.uint8))
    out = []
    for i in range(1, n):
        x, y = float(cents[i][0] / w), float(cents[i][1] / h)
        # The fovea is a dark round spot at the middle of every macula-centred photo.
        if stats[i, cv2.CC_STAT_AREA] >= 4 and np.hypot(x - 0.5, y - 0.5) > FOVEA_ZONE:
            out.append((x, y))
    return out


def _problems(a: Assessment) -> dict[str, str]:
    """{code: region} of the defects in an Assessment's advice."""
    return {i.code: i.region for i in a.advice if i.code not in NEUTRAL}


def _time(a: Assessment) -> datetime | None:
    try:
        return datetime.fromisoformat(a.metadata.acquired) if a.metadata.acquired else None
    except ValueError:
        return None


class ReshootTracker:
    """Feed every new Assessment in arrival order; read back the comparison sentence."""

    def __init__(self, window_s: float = 300.0, lang: str = "en"):
        self.window_s = window_s
        self.lang = lang
        self.previous: Assessment | None = None
        self.spot_history: deque[list[tuple[float, float]]] = deque(maxlen=DUST_HISTORY)

    def same_eye(self, prev: Assessment, cur: Assessment) -> bool:
        pm, cm = prev.metadata, cur.metadata
        if not (pm.patient_id or pm.laterality or cm.patient_id or cm.laterality):
            return True  # no metadata: the next photo in the folder is the re-shot
        if pm.patient_id != cm.patient_id or pm.laterality != cm.laterality:
            return False
        t0, t1 = _time(prev), _time(cur)
        return t0 is None or t1 is None or abs((t1 - t0).total_seconds()) <= self.window_s

    def update(self, a: Assessment) -> str | None:
        """Compare with the previous photo of the same eye; sets and returns `a.comparison`."""
        if not a.ok:
            return None
        self._dust(a)
        prev, self.previous = self.previous, a
        if prev is None or not self.same_eye(prev, a):
            a.comparison = None
            return None
        a.comparison = self.compare(prev, a)
        return a.comparison

    def compare(self, prev: Assessment, cur: Assessment) -> str:
        t = texts(self.lang)
        words, cmp = t["items"], t["comparison"]
        before, now = _problems(prev), _problems(cur)
        fixed = [cmp["fixed"].format(noun=words[c]["noun"].format(region=r)) for c, r in before.items() if c not in now]
        new = [cmp["new"].format(noun=words[c]["noun"].format(region=r)) for c, r in now.items() if c not in before]
        still = [cmp["still"].format(state=words[c]["state"].format(region=r)) for c, r in now.items() if c in before]
        rank = GRADE_RANK.get(cur.grade or "", 0) - GRADE_RANK.get(prev.grade or "", 0)
        delta = (cur.quality_score or 0.0) - (prev.quality_score or 0.0) if (
            cur.quality_score is not None and prev.quality_score is not None) else 0.0
        if rank > 0 or (rank == 0 and (delta >= SCORE_STEP or (fixed and not new))):
            what = fixed or ([cmp["now_good"]] if cur.grade == "good" else [cmp["quality_up"]])
            head = cmp["better"].format(what=cmp["join"].join(what))
        elif rank < 0 or (rank == 0 and (delta <= -SCORE_STEP or (new and not fixed))):
            head = cmp["worse"].format(what=cmp["join"].join(new or [cmp["quality_down"]]))
        else:
            head = cmp["same"]
        return " ".join([head, *still])

    def _dust(self, a: Assessment) -> None:
        """Remember this photo's dark spots; add lens-spot advice when some keep coming back."""
        spots = lens_spots(a.thumbnail) if a.grade != "not_fundus" else []
        repeated = [s for s in spots
                    if sum(any(np.hypot(s[0] - o[0], s[1] - o[1]) < DUST_MATCH for o in old)
                           for old in self.spot_history) >= DUST_MIN_PHOTOS - 1]
        self.spot_history.append(spots)
        if not repeated or any(i.code == "dust" for i in a.advice):
            return
        item = make_item("dust", "info", "whole", {"repeated_spots": len(repeated),
                                                   "spot_positions": [[round(x, 3), round(y, 3)] for x, y in repeated[:5]],
                                                   "photos_compared": len(self.spot_history)}, lang=self.lang)
        a.advice = a.advice[: MAX_ITEMS - 1] + [item]  # defects keep priority
