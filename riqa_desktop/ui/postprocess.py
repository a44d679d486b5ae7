"""What the app adds after the analyzer: the clinic's grade thresholds, advice, re-shot comparison.

Runs on the analysis thread (Qt-free). Thresholds come before advice so the
advice always matches the verdict the photographer sees.
"""

from __future__ import annotations

from ..core.assessment import Assessment


def apply_thresholds(a: Assessment, reject_min: float, good_min: float) -> None:
    """Make the model's grade stricter, never looser: Reject from `reject_min`, Good only from `good_min`.

    The defaults (0.5, 0.0) keep the model's own choice; probabilities are
    those of the three grades given that the photo is a fundus photo.
    """
    if not a.ok or a.grade in (None, "not_fundus"):
        return
    norm = sum(a.grade_probs.get(k, 0.0) for k in ("good", "usable", "reject")) or 1.0
    g = {k: a.grade_probs.get(k, 0.0) / norm for k in ("good", "usable", "reject")}
    if g["reject"] >= reject_min:
        a.grade = "reject"
    if a.grade == "good" and g["good"] < good_min:
        a.grade = "usable"
    a.confidence = g[a.grade]


class PostProcessor:
    """Thresholds, then advice (core.advice), then the re-shot comparison (core.reshoot)."""

    def __init__(self, reject_min: float = 0.5, good_min: float = 0.0):
        from ..core.reshoot import ReshootTracker

        self.reject_min, self.good_min = reject_min, good_min
        self._tracker = ReshootTracker()

    def resume(self, store) -> None:
        """Pick up the eye groups of the photos just before a restart (called on the analysis thread)."""
        self._tracker.resume(store)

    def __call__(self, a: Assessment, track: bool = True) -> Assessment:
        """`track=False` for batch reviews: an old folder is not the camera's re-shot sequence, and the
        same-eye check (milliseconds per earlier shot) would only slow a 500-photo review."""
        from ..core.advice import advise

        apply_thresholds(a, self.reject_min, self.good_min)
        if a.ok:
            a.advice = advise(a)
            if track:
                a.eye()  # the eye the panel names, worked out here rather than on the GUI thread
                self._tracker.update(a)  # sets a.comparison and a.eye_group
        return a
