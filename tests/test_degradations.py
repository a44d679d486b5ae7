"""The synthetic degradation engine: deterministic, FOV-only, label thresholds as documented, measurable effects."""

from __future__ import annotations

import time

import numpy as np
import pytest

from riqa_desktop.core.preprocess import circle_mask, prepare
from training import degradations as D

S = 256


@pytest.fixture(scope="module")
def square(retina_rgb):
    return prepare(retina_rgb, (S,)).squares[S]


def _lap_var(img):
    import cv2

    g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    inner = circle_mask(S, 0.8)
    return float(cv2.Laplacian(g, cv2.CV_32F)[inner].var())


def _mean(img):
    return float(img[circle_mask(S, 0.95)].mean())


@pytest.mark.parametrize("kind", D.GLOBAL_KINDS)
def test_global_kind_deterministic_inside_fov_and_fast(square, kind):
    a = D.apply(square, kind, 0.8, np.random.default_rng(5))
    b = D.apply(square, kind, 0.8, np.random.default_rng(5))
    assert a.dtype == np.uint8 and a.shape == square.shape
    assert np.array_equal(a, b)
    outside = ~circle_mask(S)
    assert np.array_equal(a[outside], square[outside])
    changed = np.abs(a.astype(int) - square.astype(int)).max(2) > 12
    assert changed[circle_mask(S)].mean() > 0.02, "severity 0.8 must visibly change the photo"
    t = time.perf_counter()
    for _ in range(5):
        D.apply(square, kind, 0.8, np.random.default_rng(1))
    assert (time.perf_counter() - t) / 5 < 0.15  # ~1-16 ms alone; generous for loaded CI machines


def test_severity_is_monotonic_in_its_physical_effect(square):
    rng = np.random.default_rng
    darks = [_mean(D.apply(square, "underexposure", s, rng(0))) for s in (0, 0.3, 0.6, 0.9)]
    assert darks == sorted(darks, reverse=True)
    brights = [_mean(D.apply(square, "overexposure", s, rng(0))) for s in (0, 0.3, 0.6, 0.9)]
    assert brights == sorted(brights)
    sharp = [_lap_var(D.apply(square, "defocus", s, rng(0))) for s in (0, 0.3, 0.6, 0.9)]
    assert sharp == sorted(sharp, reverse=True)
    stds = [float(D.apply(square, "low_contrast", s, rng(0))[circle_mask(S, 0.95)].std()) for s in (0, 0.5, 1)]
    assert stds == sorted(stds, reverse=True)


def test_labels_follow_the_documented_thresholds():
    assert D.labels("defocus", 0.29) == {"illumination": False, "clarity": False, "contrast": False}
    assert D.labels("defocus", 0.30)["clarity"] is True
    assert D.labels("underexposure", 0.9) == {"illumination": True, "clarity": False, "contrast": False}
    assert D.labels("haze", 0.5) == {"illumination": False, "clarity": True, "contrast": True}
    for kind in D.GLOBAL_KINDS:
        assert kind in D.LABEL_THRESHOLDS
        assert any(D.labels(kind, 1.0).values()), kind
        assert not any(D.labels(kind, 0.0).values()), kind
    assert D.synthetic_grade(None, 0) == 0
    assert D.synthetic_grade("motion", 0.2) == 0
    assert D.synthetic_grade("motion", 0.5) == 1
    assert D.synthetic_grade("motion", 0.9) == 2


def test_sampled_severities_avoid_the_ambiguous_band():
    rng = np.random.default_rng(0)
    for kind in D.GLOBAL_KINDS:
        for _ in range(200):
            s = D.sample_severity(kind, rng)
            assert all(abs(s - t) >= D.AMBIGUOUS_BAND for t in D.LABEL_THRESHOLDS[kind].values())


def test_unknown_kind_is_refused(square):
    with pytest.raises(ValueError):
        D.apply(square, "rain", 0.5, np.random.default_rng(0))
    with pytest.raises(ValueError):
        D.apply_local(square, "rain", np.random.default_rng(0))


@pytest.mark.parametrize("kind", D.LOCAL_KINDS)
def test_local_mask_marks_where_the_photo_changed(square, kind):
    img, mask = D.apply_local(square, kind, np.random.default_rng(3))
    again, mask2 = D.apply_local(square, kind, np.random.default_rng(3))
    assert np.array_equal(img, again) and np.array_equal(mask, mask2)
    assert mask.dtype == np.float32 and mask.shape == (S, S)
    assert 0 <= mask.min() and mask.max() <= 1 and mask.max() > 0.5
    assert mask[~circle_mask(S)].max() == 0
    diff = np.abs(img.astype(np.float32) - square.astype(np.float32)).mean(2)
    inside = circle_mask(S, 0.97)
    strong, none = inside & (mask > 0.6 * mask.max()), inside & (mask < 0.02)
    assert strong.sum() > 50 and none.sum() > 50
    assert diff[strong].mean() > 4 * diff[none].mean() + 2
