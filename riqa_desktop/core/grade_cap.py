"""Never Good with a large part of the field marked degraded: the verdict agrees with the map and the advice.

The quality model grades the whole field at 160 px, the scale of its only real grades. A defocus the
256 px EFIQA map still sees, or a shadow over a quarter of the field, can leave that grade at Good
while the map marks much of the field and the advice names the defect. The advice never says "Good to
grade" once a quarter of the field is marked (`large_share` in `resources/advice/map_thresholds.json`,
a policy of `training.advice_calibrate`); this caps the verdict at Usable there too, so the word the
photographer reads and the advice agree. The model's own probabilities stay in the record beside the reason.
"""

from __future__ import annotations

from . import mapregions as M


def apply(a) -> None:
    """Lower a Good verdict to Usable when the map marks at least `large_share` of the field."""
    if a.grade != "good":
        return
    ev = M.evidence(a)
    if ev is None or ev.degraded_share < float(ev.cal["large_share"]):
        return
    a.lower_grade("usable", "grade_cap", {"degraded_share": round(ev.degraded_share, 3),
                                          "large_share": float(ev.cal["large_share"])})
