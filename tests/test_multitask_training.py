"""The pieces of the EyeQ recipe (training/multitask): split, views, frozen-trunk bank, tuning, generators B and C."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from riqa_desktop.core.preprocess import circle_mask, prepare
from training import degradations_c as C
from training import degradations_physical as B
from training.multitask import bank, tune, views
from training.multitask.net import new_model
from training.multitask.report import laterality_answer, qwk
from training.splits import eyeq_thumbs

CFG = {"backbone": "efficientnet_lite0", "dropout": 0.2, "mask_text": True, "laterality": True}


@pytest.fixture(scope="module")
def square(retina_rgb) -> np.ndarray:
    return prepare(retina_rgb, (160,)).squares[160]


def test_eyeq_split_is_by_patient_and_fixed(shared_data):
    s = eyeq_thumbs(shared_data)
    assert sum(len(v) for v in s.values()) == 6886
    patients = {k: {p.name.rsplit("_", 1)[0] for p, _, _ in v} for k, v in s.items()}
    assert not patients["train"] & patients["val"] and not patients["tune"] & patients["val"]
    assert not patients["train"] & patients["tune"]
    assert eyeq_thumbs(shared_data) == s
    for p, g, eye in s["val"][:50]:
        assert eye == ("R" if p.stem.endswith("right") else "L") and g in (0, 1, 2)


def test_top_on_trunk_features_is_the_whole_network(square):
    """Training the top on cached trunk features trains the same function the app runs."""
    torch.manual_seed(0)
    model = new_model(CFG).eval()
    x = np.stack([square, square[:, ::-1]])
    whole = bank.predict(model, x)
    feats = bank.trunk(model, x)
    for start, f in ((bank.BANK_BLOCKS, feats), (6, bank.advance(model, feats, 6))):
        split = bank.top_predict(model, f, start)
        for k in whole:
            assert np.allclose(whole[k], split[k], atol=0.05), (start, k)  # float16 cache


def test_frozen_trunk_is_imagenet_and_stays_put():
    model = new_model(CFG)
    bank.freeze_trunk(model, 6)
    frozen = list(bank.trunk_parameters(model, 6))
    assert frozen and not any(p.requires_grad for p in frozen)
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert sum(p.numel() for p in trainable) > 1_000_000  # last stage, head conv, heads
    bank.set_train_top(model, 6)
    assert not model.backbone.blocks[0].training and model.backbone.blocks[-1].training


def test_views_keep_the_field_and_report_flips(square):
    rng = np.random.default_rng(1)
    flips = set()
    for _ in range(12):
        v, flipped = views.geometry(square, rng)
        flips.add(flipped)
        assert not v[~circle_mask(160)].any()
    assert flips == {True, False}
    t = views.as_thumbnail(square, 140, 75)
    assert t.shape == square.shape and not t[~circle_mask(160)].any()
    assert np.abs(t.astype(int) - square).mean() > 0.5  # softer than the sharp square


@pytest.mark.parametrize("kind", list(B.KINDS))
def test_generator_b_changes_only_the_field_deterministically(square, kind):
    a = B.apply(square, kind, 0.8, np.random.default_rng(3))
    b = B.apply(square, kind, 0.8, np.random.default_rng(3))
    assert np.array_equal(a, b)
    outside = ~B._inside(160)
    assert np.array_equal(a[outside], square[outside])
    assert np.abs(a.astype(int) - square)[~outside].mean() > 3
    assert B.labels(kind, B.bad_severity(kind, np.random.default_rng(0)))[B.KINDS[kind][0]]
    assert not any(B.labels(kind, B.mild_severity(kind, np.random.default_rng(0))).values())


@pytest.mark.parametrize("kind", list(C.KINDS))
def test_generator_c_changes_only_the_field_and_grows_with_severity(square, kind):
    a = C.apply(square, kind, 0.8, np.random.default_rng(3))
    assert np.array_equal(a, C.apply(square, kind, 0.8, np.random.default_rng(3)))
    outside = ~circle_mask(160)
    assert np.array_equal(a[outside], square[outside])
    change = [np.abs(C.apply(square, kind, s, np.random.default_rng(3)).astype(int) - square)[~outside].mean()
              for s in (0.1, 0.5, 0.9)]
    assert change[0] < change[1] < change[2] and change[2] > 3
    family, thresholds = C.KINDS[kind]
    assert C.labels(kind, 0.95)[family] and C.grade(kind, 0.95) == 2
    assert not any(C.labels(kind, min(thresholds.values()) - 0.1).values())
    assert C.grade(kind, min(thresholds.values()) + 0.08) == 1


def test_grade_offsets_lift_a_starved_class():
    rng = np.random.default_rng(0)
    y = np.array([0] * 60 + [1] * 20 + [2] * 20)
    z = np.zeros((100, 3))
    z[np.arange(100), y] = 1.0
    z[:, 0] += 1.2  # a model that calls everything Good
    z += rng.normal(0, 0.2, z.shape)
    offsets, f1 = tune._grade_offsets(z, y)
    assert offsets[1] > 0 and offsets[2] > 0 and f1 > 0.9


def test_laterality_abstains_below_its_threshold():
    ans = laterality_answer(np.array([0.99, 0.01, 0.6, 0.45]), 0.9)
    assert ans.tolist() == [1, 0, -1, -1]


def test_quadratic_kappa():
    y = np.array([0, 1, 2, 2, 0])
    assert qwk(y, y) == pytest.approx(1.0)
    assert qwk(y, 2 - y) < 0
