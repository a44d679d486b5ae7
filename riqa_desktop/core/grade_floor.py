"""Too dark to grade: a field darker than any photo graders passed is Reject, whatever the model says.

The quality model learned EyeQ's grades on EyePACS photos. A very dark photo from another camera
whose vessels can still be traced can look Usable to it, while every grader whose labels we hold
rejected every training photo that dark. The floor is the brightness of the darkest photo they passed
(EyeQ training and tune patients, DRIMDB training photos, the clean sources), measured exactly as the
app measures it; `python -m training.grade_floor --write` sets it in
`resources/advice/grade_floor.json`, never by hand. It only ever lowers a grade to Reject: the three
grades' probability goes to Reject (every graded photo that dark was rejected), so the clinic's
thresholds and every view agree, and the model's own probabilities stay in the record beside the reason.
"""

from __future__ import annotations

import json
from functools import lru_cache

from .measure import visible_brightness


@lru_cache(maxsize=1)
def floor() -> dict:
    """{"brightness": the floor, "evidence": how it was set}."""
    from ..resources import resources_dir

    return json.loads((resources_dir() / "advice" / "grade_floor.json").read_text(encoding="utf-8"))


def below(brightness: float) -> bool:
    """A field this bright (`measure.visible_brightness`) is darker than any photo graders passed."""
    return brightness < float(floor()["brightness"])


def too_dark(measurements: dict, visible_fraction: float | None) -> float | None:
    """The field's visible brightness when it lies below the floor, else None."""
    b = visible_brightness(measurements, visible_fraction)
    return b if below(b) else None


def apply(a) -> None:
    """Lower a Good or Usable verdict of a field below the floor to Reject, the reason in `measurements`."""
    if a.grade not in ("good", "usable"):
        return
    b = too_dark(a.measurements, (a.fov or {}).get("visible_fraction"))
    if b is None:
        return
    a.measurements["grade_floor"] = {"brightness": round(b, 2), "floor": float(floor()["brightness"]),
                                     "model_grade": a.grade,
                                     "model_probs": {k: round(v, 4) for k, v in a.grade_probs.items()}}
    fundus = sum(a.grade_probs.get(k, 0.0) for k in ("good", "usable", "reject"))
    a.grade_probs = {**a.grade_probs, "good": 0.0, "usable": 0.0, "reject": fundus}
    a.grade, a.confidence = "reject", 1.0
