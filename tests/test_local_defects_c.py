"""Generator C (trains the EFIQA adapter with A) and how the training set keeps generator B out."""

from __future__ import annotations

import numpy as np
import pytest

from riqa_desktop.core.preprocess import prepare
from training.advice_local_eval import truth_regions
from training.local_defects_c import KINDS_C, apply_c

from .local_defect_checks import checked_defect


@pytest.fixture(scope="module")
def square(retina_rgb):
    return prepare(retina_rgb, (256,)).squares[256]


@pytest.mark.parametrize("kind", KINDS_C)
def test_each_kind_changes_only_its_masked_part_of_the_field(square, kind):
    out, mask, diff = checked_defect(apply_c, square, kind, 5)
    assert out.dtype == np.uint8 and out.shape == square.shape
    assert mask[diff > 12].mean() > 0.2  # the mask says where it changed
    assert diff[mask < 0.02].mean() < 3  # and nothing much changed where it says no


@pytest.mark.parametrize("kind", ("lid_shadow", "lash_shadow", "dust", "edge_crescent"))
def test_dark_kinds_darken_and_glare_brightens(square, kind):
    for seed in range(3):
        out, mask = apply_c(square, kind, np.random.default_rng(seed))
        hit = mask >= 0.5
        if kind != "dust" or hit.any():
            assert out[hit].astype(float).mean() < square[hit].astype(float).mean()
    out, mask = apply_c(square, "glare_spot", np.random.default_rng(0))
    assert out[mask >= 0.5].astype(float).mean() > square[mask >= 0.5].astype(float).mean() + 20


def test_local_blur_removes_detail_inside_its_mask(square):
    import cv2

    out, mask = apply_c(square, "local_blur", np.random.default_rng(1))
    lap = lambda im: np.abs(cv2.Laplacian(im[..., 1].astype(np.float32), cv2.CV_32F))  # noqa: E731
    hit = mask >= 0.8
    assert hit.sum() > 500 and lap(out)[hit].mean() < 0.7 * lap(square)[hit].mean()


def test_lid_shadow_is_mostly_upper_and_unknown_kind_is_named(square):
    ups = sum("upper" in truth_regions(apply_c(square, "lid_shadow", np.random.default_rng(s))[1]) for s in range(8))
    assert ups >= 4
    with pytest.raises(ValueError, match="lash_shadow"):
        apply_c(np.zeros((64, 64, 3), np.uint8), "smudge", np.random.default_rng(0))


def test_training_generators_are_a_and_c_never_b():
    from training.efiqa.degraded import GENERATORS, apply_defect, defect_kinds

    assert set(GENERATORS) == {"A", "C"}
    kinds = defect_kinds(["A", "C"])
    assert {g for g, _ in kinds} == {"A", "C"} and len(kinds) == len(set(kinds)) == 11
    assert kinds[:2] == [("A", "sector_shadow"), ("C", "lid_shadow")]  # interleaved
    with pytest.raises(ValueError, match="does not train"):
        apply_defect(np.zeros((64, 64, 3), np.uint8), "B", "dust", np.random.default_rng(0))
