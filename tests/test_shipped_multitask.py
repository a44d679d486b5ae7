"""The shipped quality_multitask still reaches, on photos it never saw, the numbers its card states."""

from __future__ import annotations

import math

import pytest

from riqa_desktop.models.registry import load_model
from riqa_desktop.resources import models_dir
from training import degradations_physical as B

CHECKED = ("eyeq_accuracy", "eyeq_macro_f1", "eyeq_f1_good", "eyeq_f1_usable", "eyeq_f1_reject", "eyeq_qwk",
           "drimdb_f1_good", "drimdb_f1_bad", "drimdb_f1_outlier", "app_eyeq_accuracy", "app_eyeq_macro_f1",
           "app_drimdb_f1_good", "app_drimdb_f1_bad", "app_drimdb_f1_outlier", "app_clean_good_kept",
           *(f"heldout_{k}_app_not_good" for k in B.KINDS), "heldout_clean_left_alone", "resolution_agreement",
           "laterality_accuracy_answered", "laterality_coverage", "app_laterality_accuracy_answered",
           "app_laterality_coverage", "nonfundus_val_recall", "outer_eye_val_recall",
           *(f"heldout_{k}_detected" for k in B.KINDS))


@pytest.fixture(scope="module")
def shipped(shared_data):
    from training.multitask.report import measure_all

    model, card = load_model("quality_multitask", models_dir())
    return card, measure_all(model, card, shared_data)


def test_card_is_complete(shipped):
    card, _ = shipped
    for key in ("version", "input_size", "min_side", "preprocessing", "calibration", "thresholds", "training_data",
                "split", "config", "trained_on", "metrics", "license_notes", "tuning", "single_task_baseline"):
        assert key in card, key
    assert set(card["calibration"]) == {"grade", "not_fundus", "illumination", "clarity", "contrast", "laterality"}
    assert all(t > 0 for t in card["calibration"].values())
    assert 0.5 <= card["thresholds"]["laterality"] < 1.0
    ci = card["single_task_baseline"]["paired_bootstrap_multitask_minus_single"]["macro_f1_difference_95ci"]
    assert ci[0] <= ci[1]


@pytest.mark.parametrize("metric", CHECKED)
def test_shipped_weights_reach_the_card(shipped, metric):
    card, measured = shipped
    stated = card["metrics"][metric]
    assert not math.isnan(measured[metric])
    assert measured[metric] >= stated - 1e-6, f"{metric}: measured {measured[metric]:.4f} < card {stated:.4f}"
