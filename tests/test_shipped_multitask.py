"""The shipped quality_multitask still reaches, on the real validation photos, the numbers its card states."""

from __future__ import annotations

import copy
import math

import pytest

from riqa_desktop.models.registry import load_model
from riqa_desktop.resources import models_dir
from training.common import set_dotted

CHECKED = ("drimdb_f1_good", "drimdb_f1_bad", "drimdb_f1_outlier", "drimdb_accuracy",
           "auc_illumination", "auc_clarity", "auc_contrast", "synthetic_grade_accuracy")


@pytest.fixture(scope="module")
def shipped(shared_data):
    from training.multitask.evaluate import measure

    model, card = load_model("quality_multitask", models_dir())
    return card, measure(model, card, shared_data)


def test_card_is_complete(shipped):
    card, _ = shipped
    for key in ("version", "input_size", "min_side", "preprocessing", "calibration", "thresholds", "training_data",
                "split", "config", "trained_on", "metrics", "license_notes"):
        assert key in card, key
    assert set(card["calibration"]) == {"grade", "not_fundus", "illumination", "clarity", "contrast"}
    assert set(card["thresholds"]) == {"not_fundus", "illumination", "clarity", "contrast"}
    assert all(t > 0 for t in card["calibration"].values())


@pytest.mark.parametrize("metric", CHECKED)
def test_shipped_weights_reach_the_card(shipped, metric):
    card, measured = shipped
    stated = card["metrics"][metric]
    assert not math.isnan(measured[metric])
    assert measured[metric] >= stated - 1e-6, f"{metric}: measured {measured[metric]:.4f} < card {stated:.4f}"


def test_calibration_does_not_hurt(shipped):
    _, measured = shipped
    for head, e in measured["ece"].items():
        assert e["after"] <= e["before"] + 0.02, head


def test_shipped_recipe_is_the_one_cross_validation_chose(shipped):
    """The card's config carries the overrides of the candidate `python -m training select` chose."""
    card, _ = shipped
    sel = card["recipe_selection"]
    assert sel["chosen"] in sel["candidates"]
    expected = copy.deepcopy(card["config"])
    for key, value in sel["candidates"][sel["chosen"]]["overrides"].items():
        set_dotted(expected, key, value)
    assert expected == card["config"]
