"""The grade cap: never Good while the map marks a large part of the field, so the verdict and the advice agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from riqa_desktop.core import grade_cap
from riqa_desktop.core import mapregions as M
from riqa_desktop.core.advice import advise
from riqa_desktop.core.analyzer import Analyzer
from riqa_desktop.core.assessment import QualityMap
from riqa_desktop.core.preprocess import Geometry, prepare
from training.advice_eval import assessment_for

from .tiny_models import TinyMap, tiny_models_saying_good


@pytest.fixture(scope="module")
def square(retina_rgb):
    return prepare(retina_rgb, (256,)).squares[256]


def _capped(square, grid, grade="good"):
    a = assessment_for(square, 1.0)
    a.quality_map = QualityMap(grid=np.asarray(grid, np.float32), geometry=Geometry(0, 0, 256, 256, 256))
    a.grade, a.confidence = grade, 0.8
    a.grade_probs = {"good": 0.8, "usable": 0.15, "reject": 0.05, "not_fundus": 0.0}
    grade_cap.apply(a)
    return a


def _half_marked() -> np.ndarray:
    grid = np.full((16, 16), 0.05, np.float32)
    grid[:, :9] = 0.97  # the left half
    return grid


def test_good_with_a_large_part_marked_becomes_usable(square):
    a = _capped(square, _half_marked())
    rec = a.to_json()["grade_cap"]
    assert a.grade == "usable" and a.confidence == pytest.approx(0.95)
    assert a.grade_probs["good"] == 0.0 and a.grade_probs["usable"] == pytest.approx(0.95)
    assert rec["model_grade"] == "good" and rec["model_probs"]["good"] == 0.8
    assert rec["degraded_share"] >= rec["large_share"] == M.thresholds()["large_share"]
    assert "good" not in [i.code for i in advise(a)]  # the word and the advice agree


def test_a_clean_map_or_a_worse_verdict_is_left_alone(square):
    clean = np.full((16, 16), 0.05, np.float32)
    assert _capped(square, clean).grade == "good"
    for grade in ("usable", "reject", "not_fundus"):
        a = _capped(square, _half_marked(), grade)
        assert a.grade == grade and "grade_cap" not in a.measurements


def test_without_a_map_nothing_changes(square):
    a = assessment_for(square, 1.0)
    a.grade, a.grade_probs = "good", {"good": 1.0}
    grade_cap.apply(a)
    assert a.grade == "good" and a.to_json()["grade_cap"] is None


def test_the_analyzer_caps_a_good_verdict_the_map_contradicts(retina_jpeg):
    models = tiny_models_saying_good()
    qmap = TinyMap(grid=16)  # the shipped map's grid, which the advice's calibration is for
    with torch.no_grad():  # a map that marks every patch degraded
        qmap.conv.weight.zero_()
        qmap.conv.bias.fill_(8.0)
    models["map"] = (qmap, models["map"][1])
    (a,) = Analyzer(models=models, device="cpu").assess_path(retina_jpeg)
    assert a.grade == "usable" and a.measurements["grade_cap"]["model_grade"] == "good"
    assert "good" not in [i.code for i in a.advice]


def test_the_verdict_card_says_why(qtbot, square):
    from riqa_desktop.ui.verdict_panel import VerdictCard

    card = VerdictCard()
    qtbot.addWidget(card)
    card.show_assessment(_capped(square, _half_marked()))
    assert card.word.text() == "Usable" and card.detail.text() == "a large part of the field is degraded"
