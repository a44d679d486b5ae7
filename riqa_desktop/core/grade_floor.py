"""Too dark to grade: a field darker than any photo graders passed is Reject, whatever the model says.

The quality model learned EyeQ's grades on EyePACS photos. A very dark photo from another camera
whose vessels can still be traced can look Usable to it, while every grader whose labels we hold
rejected every training photo that dark. The floor is the brightness of the darkest photo they passed
(EyeQ training and tune patients, DRIMDB training photos, the clean sources), measured exactly as the
app measures it: the brightest channel, red in a colour fundus photo. A monochrome (red-free) photo
shows what the green channel shows, far darker than red for the same exposure, so the floor, set on
colour photos, leaves it to the model. `python -m training.grade_floor --write` sets the floor in
`resources/advice/grade_floor.json`, never by hand. It only ever lowers a grade to Reject: the three
grades' probability goes to Reject (every graded photo that dark was rejected), so the clinic's
thresholds and every view agree, and the model's own probabilities stay in the record beside the reason.
"""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np

from .measure import visible_brightness

GREY = 0.05  # channel differences under this share of the brightness: monochrome (JPEG noise stays near 0.01)


@lru_cache(maxsize=1)
def floor() -> dict:
    """{"brightness": the floor, "evidence": how it was set}."""
    from ..resources import resources_dir

    return json.loads((resources_dir() / "advice" / "grade_floor.json").read_text(encoding="utf-8"))


def below(brightness: float) -> bool:
    """A field this bright (`measure.visible_brightness`) is darker than any photo graders passed."""
    return brightness < float(floor()["brightness"])


def monochrome(square: np.ndarray) -> bool:
    """Red, green and blue (nearly) equal everywhere: a red-free or grayscale photo. Judged relative to the
    brightness, so a very dark colour photo (red still well above green) stays colour."""
    s = square.astype(np.int16)
    spread = float(np.abs(s[..., 0] - s[..., 1]).mean() + np.abs(s[..., 1] - s[..., 2]).mean())
    return spread < GREY * (float(s.max(axis=2).mean()) + 1.0)


def apply(a, square: np.ndarray) -> None:
    """Lower a Good or Usable verdict of a colour field below the floor to Reject, the reason in `measurements`.

    `square` is the field square the measurements were taken on."""
    if a.grade not in ("good", "usable") or monochrome(square):
        return
    b = visible_brightness(a.measurements, (a.fov or {}).get("visible_fraction"))
    if not below(b):
        return
    a.lower_grade("reject", "grade_floor", {"brightness": round(b, 2), "floor": float(floor()["brightness"])})
