"""Re-shot comparison with the previous photo of the same eye, and the lens-spot memory."""

from __future__ import annotations

import numpy as np
import pytest

from riqa_desktop.core.advice import make_item
from riqa_desktop.core.assessment import Assessment
from riqa_desktop.core.loading import PhotoMetadata
from riqa_desktop.core.reshoot import ReshootTracker
from training import degradations as D
from training.advice_eval import load_square
from training.splits import clean_sources


def shot(grade, score, codes, pid="p1", eye="R", when=""):
    """A shot with DICOM-like metadata (same patient and eye by default): the comparison wording under test."""
    a = Assessment(path="x", grade=grade, quality_score=score,
                   metadata=PhotoMetadata(patient_id=pid, laterality=eye, acquired=when))
    a.advice = [make_item(c, "warning", r, {"test": 1.0}) for c, r in codes]
    return a


def test_better_names_the_fix_and_what_remains():
    t = ReshootTracker()
    assert t.update(shot("reject", 0.4, [("blur_all", "whole"), ("upper_shadow", "upper")])) is None
    cur = shot("usable", 0.7, [("upper_shadow", "upper")])
    assert t.update(cur) == "Better: blur fixed. Still dark in the upper part."
    assert cur.comparison == "Better: blur fixed. Still dark in the upper part."


def test_worse_names_the_new_problem():
    t = ReshootTracker()
    t.update(shot("good", 0.9, [("good", "whole")]))
    assert t.update(shot("reject", 0.5, [("too_dark", "whole")])) == "Worse: new darkness."


def test_same_quality():
    t = ReshootTracker()
    t.update(shot("usable", 0.7, [("haze_all", "whole")]))
    assert t.update(shot("usable", 0.71, [("haze_all", "whole")])) == "About the same as the last photo. Still hazy."


def test_other_patient_or_eye_or_late_is_not_compared():
    t = ReshootTracker(window_s=300)
    t.update(shot("reject", 0.4, [("blur_all", "whole")], "p1", "R", "2024-01-01T10:00:00"))
    assert t.update(shot("good", 0.9, [], "p1", "L", "2024-01-01T10:01:00")) is None
    assert t.update(shot("good", 0.9, [], "p2", "L", "2024-01-01T10:02:00")) is None
    assert t.update(shot("good", 0.9, [], "p2", "L", "2024-01-01T10:30:00")) is None
    assert t.update(shot("good", 0.95, [], "p2", "L", "2024-01-01T10:31:00")) is not None


@pytest.fixture(scope="module")
def clean_squares(shared_data):
    return [load_square(p)[0] for p in clean_sources(shared_data)["val"][:12]]


def feed(squares):
    t, flagged = ReshootTracker(), []
    for s in squares:
        a = Assessment(path="x", grade="good")
        a.thumbnail = s
        t.update(a)
        flagged.append(any(i.code == "dust" for i in a.advice))
    return flagged


def test_lens_spots_repeating_across_photos_are_reported(clean_squares):
    # The same lens dust (same seed = same frame positions) on different patients' photos.
    dusty = [D.apply(s, "dust", 0.5, np.random.default_rng(7)) for s in clean_squares[:6]]
    flagged = feed(dusty)
    assert not any(flagged[:2]) and all(flagged[2:])


def test_no_lens_spots_on_clean_photos(clean_squares):
    assert sum(feed(clean_squares)) <= 1

