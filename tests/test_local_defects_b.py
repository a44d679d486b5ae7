"""Generator B (held out from calibration) and the helpers of the local-defect report."""

from __future__ import annotations

import numpy as np
import pytest

from riqa_desktop.core.preprocess import prepare
from training.advice_calibrate import fit_logistic
from training.advice_local_eval import truth_regions
from training.local_defects_b import KINDS_B, apply_b

from .local_defect_checks import checked_defect


@pytest.fixture(scope="module")
def square(retina_rgb):
    return prepare(retina_rgb, (256,)).squares[256]


@pytest.mark.parametrize("kind", KINDS_B)
def test_each_kind_changes_only_its_masked_part_of_the_field(square, kind):
    _, mask, diff = checked_defect(apply_b, square, kind, 3)
    changed = diff > 12
    assert changed.any() and mask[changed].mean() > 0.2  # the mask says where it changed


def test_unknown_kind_is_named():
    with pytest.raises(ValueError, match="dust"):
        apply_b(np.zeros((64, 64, 3), np.uint8), "smudge", np.random.default_rng(0))


def test_truth_regions_of_a_lid_shadow_is_the_upper_part(square):
    out, mask = apply_b(square, "lid_shadow", np.random.default_rng(0))
    assert "upper" in truth_regions(mask) and "lower" not in truth_regions(mask)
    assert truth_regions(np.zeros((256, 256), np.float32)) == set()


def test_logistic_fit_separates_and_orders_features():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 2))
    y = (x[:, 0] + 0.1 * rng.normal(size=2000) > 0.5).astype(float)
    w, b = fit_logistic(x, y)
    assert w[0] > 2 and abs(w[1]) < 0.5 * w[0] and b < 0
