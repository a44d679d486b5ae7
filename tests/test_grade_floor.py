"""The grade floor: a field darker than any photo graders passed is Reject, whatever the model says."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from riqa_desktop.core import grade_floor
from riqa_desktop.core.analyzer import Analyzer
from riqa_desktop.core.assessment import Assessment

from .tiny_models import tiny_models_saying_good

FLOOR = grade_floor.floor()["brightness"]


COLOUR = np.zeros((64, 64, 3), np.uint8) + np.array([40, 12, 4], np.uint8)  # a dark fundus: red well above green


def _assessment(brightness: float, grade: str = "usable", visible: float = 1.0, square=COLOUR) -> Assessment:
    a = Assessment(path="x.jpg", grade=grade, confidence=0.7, fov={"visible_fraction": visible},
                   measurements={"whole": {"brightness": brightness}},
                   grade_probs={"good": 0.05, "usable": 0.7, "reject": 0.25, "not_fundus": 0.0})
    grade_floor.apply(a, square)
    return a


def test_the_shipped_floor_was_set_on_training_photos():
    f = grade_floor.floor()
    assert 20 < FLOOR < 120
    assert f["evidence"]["below_floor_passed"] == 0 and f["evidence"]["below_floor_rejected"] > 100
    assert f["set_by"] == "python -m training.grade_floor --write"


def test_a_field_below_the_floor_is_rejected_and_says_why():
    a = _assessment(FLOOR - 1)
    assert a.grade == "reject" and a.confidence == 1.0
    assert a.grade_probs["reject"] == pytest.approx(1.0) and a.grade_probs["usable"] == 0.0
    rec = a.to_json()["grade_floor"]
    assert rec["model_grade"] == "usable" and rec["model_probs"]["usable"] == 0.7
    assert rec["brightness"] == pytest.approx(FLOOR - 1) and rec["floor"] == FLOOR


@pytest.mark.parametrize("grade", ["reject", "not_fundus"])
def test_only_good_and_usable_are_lowered(grade):
    a = _assessment(FLOOR / 4, grade=grade)
    assert a.grade == grade and "grade_floor" not in a.measurements and a.confidence == 0.7


def test_a_field_at_the_floor_or_a_cut_circle_is_left_alone():
    assert _assessment(FLOOR).grade == "usable"
    # A circle cut by the frame pads the square with black: judged on its visible part (as the advice does).
    a = _assessment(0.6 * FLOOR, visible=0.5)
    assert a.grade == "usable" and a.to_json()["grade_floor"] is None


def test_a_monochrome_photo_is_left_to_the_model(retina_rgb):
    """Red-free photos show the green channel: far darker than a colour photo's red for the same exposure."""
    grey = np.repeat(retina_rgb[..., 1:2], 3, axis=2)
    assert grade_floor.monochrome(grey) and not grade_floor.monochrome(retina_rgb)
    assert not grade_floor.monochrome((retina_rgb * 0.05).astype(np.uint8))  # very dark, still colour
    a = _assessment(FLOOR / 2, square=grey)
    assert a.grade == "usable" and "grade_floor" not in a.measurements


def test_the_analyzer_rejects_a_dark_photo_the_model_calls_good(tmp_path, retina_rgb):
    analyzer = Analyzer(models=tiny_models_saying_good(), device="cpu")
    lit, dark = tmp_path / "lit.jpg", tmp_path / "dark.jpg"
    Image.fromarray(retina_rgb).save(lit, quality=92)
    Image.fromarray((retina_rgb * 0.2).astype(np.uint8)).save(dark, quality=92)
    (a_lit,) = analyzer.assess_path(lit)
    (a_dark,) = analyzer.assess_path(dark)
    assert a_lit.grade == "good" and "grade_floor" not in a_lit.measurements
    assert a_dark.grade == "reject" and a_dark.measurements["grade_floor"]["model_grade"] == "good"
    assert a_dark.advice[0].code == "too_dark"


def test_the_floor_is_what_the_training_photos_give(shared_data):
    from training.grade_floor import calibrate

    shipped = json.loads(json.dumps(grade_floor.floor()))
    fresh = calibrate(shared_data)
    assert fresh["brightness"] == shipped["brightness"]
    assert fresh["evidence"] == shipped["evidence"]


def test_the_verdict_card_says_too_dark_to_grade(qtbot):
    from riqa_desktop.ui.verdict_panel import VerdictCard

    card = VerdictCard()
    qtbot.addWidget(card)
    card.show_assessment(_assessment(FLOOR - 1))
    assert card.word.text() == "Reject" and card.detail.text() == "too dark to grade"
    card.show_assessment(_assessment(FLOOR + 1))
    assert card.word.text() == "Usable" and card.detail.text() == "70% confident"
