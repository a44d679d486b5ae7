"""Compare a re-shot with the previous photo of the same eye, and remember lens spots.

No anchor system tells the photographer whether the new shot fixed the old
problem; this does: "Better: blur fixed. Still dark in the upper part."
A photo is compared only with an earlier shot of the same eye as decided by
`sameeye.same_eye` (metadata, time window, vessel pattern); shots of one eye
share an `eye_group`, which the store keeps so the rule survives a restart.

Dust or a smudge on the lens stays at the same place *in the frame* whatever
the eye does, so small dark round spots seen at the same frame position in
several recent photos are reported as lens spots ("clean the lens").
Limitation: re-shots of one eye with the same fixation also repeat real dark
lesions at the same place, so spots must repeat in `DUST_MIN_PHOTOS` photos.
"""

from __future__ import annotations

import uuid
from collections import deque
from datetime import datetime, timedelta, timezone

import numpy as np

from . import imageops
from .advice import MAX_ITEMS, make_item, texts
from .assessment import Assessment
from .sameeye import WINDOW_S, Shot, parse_time, same_eye

GRADE_RANK = {"not_fundus": 0, "reject": 1, "usable": 2, "good": 3}
SCORE_STEP = 0.05  # quality-score change that counts as better / worse
DUST_MIN_PHOTOS = 3  # the current photo and at least two earlier ones
DUST_HISTORY = 5
DUST_MATCH = 0.02  # same spot when within 2 % of the frame width
FOVEA_ZONE = 0.12  # spots this close to the frame centre are ignored
NEUTRAL = {"good", "usable"}
RECENT = 8  # earlier shots a new photo is checked against, newest first


def lens_spots(thumb: np.ndarray | None) -> list[tuple[float, float]]:
    """Centres (x, y as fractions of the frame) of small, round, dark blobs inside the bright field.

    A closing removes dark structures narrower than the kernel (vessels and
    spots); an opening of that residue keeps only the round ones (spots).
    """
    if thumb is None or thumb.ndim != 3:
        return []
    h, w = thumb.shape[:2]
    g = imageops.gaussian_blur(np.ascontiguousarray(thumb[..., 1]), ksize=3)
    field = imageops.erode((thumb.max(axis=2) > 25).astype(np.uint8), 9)
    k = max(5, int(round(max(h, w) * 0.06)) | 1)
    dark = imageops.closing(g, imageops.ellipse_kernel(k)) - g  # a closing never darkens: no wrap-around
    kk = max(3, (k // 2) | 1)
    spots = imageops.opening(dark, imageops.ellipse_kernel(kk))
    spots = np.where(field > 0, spots, 0).astype(np.uint8)
    n, labels = imageops.label(spots > 12)
    areas, cents = imageops.component_stats(labels, n)
    out = []
    for i in range(1, n):
        x, y = float(cents[i][0] / w), float(cents[i][1] / h)
        # The fovea is a dark round spot at the middle of every macula-centred photo.
        if areas[i] >= 4 and np.hypot(x - 0.5, y - 0.5) > FOVEA_ZONE:
            out.append((x, y))
    return out


def _problems(a: Assessment) -> dict[str, str]:
    """{code: region} of the defects in an Assessment's advice."""
    return {i.code: i.region for i in a.advice if i.code not in NEUTRAL}


class ReshootTracker:
    """Feed every new Assessment in arrival order; read back the comparison sentence and the eye group."""

    def __init__(self, window_s: float = WINDOW_S, lang: str = "en"):
        self.window_s = window_s
        self.lang = lang
        self.recent: deque[tuple[Shot, Assessment]] = deque(maxlen=RECENT)
        self.spot_history: deque[list[tuple[float, float]]] = deque(maxlen=DUST_HISTORY)

    def update(self, a: Assessment, arrived: datetime | None = None) -> str | None:
        """Compare with the latest earlier shot of the same eye; sets `a.comparison` and `a.eye_group`."""
        a.comparison = None
        if not a.ok:
            return None
        self._dust(a)
        shot = Shot.of(a, arrived or datetime.now(timezone.utc))
        prev = next((p for s, p in reversed(self.recent) if same_eye(s, shot, self.window_s)), None)
        a.eye_group = prev.eye_group if prev is not None else uuid.uuid4().hex[:12]
        self.recent.append((shot, a))
        if prev is not None:
            a.comparison = self.compare(prev, a)
        return a.comparison

    def resume(self, store) -> None:
        """Remember the results store's shots of the last `window_s` so a restart keeps the eye groups."""
        from .store import assessment_from_row

        since = datetime.now(timezone.utc) - timedelta(seconds=self.window_s)
        for row in reversed(store.rows(since=since.isoformat(timespec="seconds"), limit=RECENT)):
            a = assessment_from_row(row)
            arrived = parse_time(row.get("assessed_at"))
            if a.ok and a.eye_group and arrived is not None:
                self.recent.append((Shot.of(a, arrived), a))

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
