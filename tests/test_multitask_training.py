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


def test_laterality_threshold_is_the_lowest_confidence_that_reaches_the_target():
    rng = np.random.default_rng(0)
    eye = rng.integers(0, 2, 2000)
    margin = rng.uniform(0, 6, 2000)
    wrong = rng.random(2000) < 0.25 * np.exp(-margin)  # unsure photos are wrong more often
    z = np.where(eye == 1, 1, -1) * np.where(wrong, -margin, margin)
    temps, thresholds = [], []
    for target in (0.99, 0.97):
        temp, thr, info = tune.calibrate_laterality(z, eye, target)
        assert info["tune_laterality_accuracy_answered"] >= target and 0.5 <= thr <= 0.99
        temps.append(temp), thresholds.append(thr)
    assert temps[0] == temps[1] and thresholds[1] < thresholds[0]  # a lower target answers more


def test_quadratic_kappa():
    y = np.array([0, 1, 2, 2, 0])
    assert qwk(y, y) == pytest.approx(1.0)
    assert qwk(y, 2 - y) < 0


def test_outer_eye_pictures_are_fixed_by_seed_and_go_through_the_app_crop():
    from training.outer_eye import pictures

    a, b, c = pictures(2, seed=5), pictures(2, seed=5), pictures(2, seed=6)
    assert all(np.array_equal(x, y) for x, y in zip(a, b)) and not np.array_equal(a[0], c[0])
    assert a[0].dtype == np.uint8 and a[0].ndim == 3 and a[0].std() > 10
    assert prepare(a[0], (160,)).squares[160].shape == (160, 160, 3)


def test_not_fundus_refit_moves_only_its_head(square):
    """The refit learns the rendered close-ups as not-a-fundus and leaves every other head as it was."""
    from training.multitask.eyeq import Bank
    from training.multitask.not_fundus import outer_eye_squares, refit_not_fundus

    torch.manual_seed(0)
    model = new_model(CFG).eval()
    rng = np.random.default_rng(0)
    fundus = np.stack([views.geometry(square, rng)[0] for _ in range(12)])
    n = len(fundus)
    b = Bank(bank.BANK_BLOCKS, feats=bank.trunk(model, fundus), grade=np.zeros(n, np.int64), grade_w=np.ones(n, np.float32),
             nf=np.zeros(n, np.float32), det=np.full((n, 3), -1, np.float32), eye=-np.ones(n, np.int64),
             group=np.array(["eyeq"] * n), split=np.array(["train"] * n), src=np.arange(n))
    cfg = {**CFG, "seed": 0, "input_size": 160, "student": {"mix": {"eyeq": 1.0}},
           "not_fundus_refit": {"outer_eye_pictures": 6, "views": 2, "outer_eye_share": 1.0, "max_rows_per_group": 100,
                                "lbfgs_iterations": 50, "l2": 1e-4}}
    before = {k: v.clone() for k, v in model.state_dict().items()}
    info, = refit_not_fundus([model], b, cfg)
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {"heads.not_fundus.weight", "heads.not_fundus.bias"}
    assert info["outer_eye_training_views"] == 12 and info["training_accuracy"] == 1.0
    out = bank.predict(model, np.concatenate([fundus[:4], outer_eye_squares(4, 1, 160)]))["not_fundus"].reshape(-1)
    assert out[:4].max() < 0 < out[4:].min()



def test_ensemble_runs_the_shared_trunk_once_and_averages_its_students(square):
    """The joined network gives the mean of its students' logits, from photos and from bank features alike."""
    from training.multitask.ensemble import ensemble_of

    torch.manual_seed(0)
    students = [new_model(CFG).eval() for _ in range(3)]
    with torch.no_grad():
        for s in students[1:]:
            for p in [*s.backbone.blocks[5:].parameters(), *s.heads.parameters()]:
                p.add_(0.05 * torch.randn_like(p))
    model = ensemble_of(students, {**CFG, "frozen_blocks": 5})
    assert len(model.members) == 2
    x = np.stack([square, square[:, ::-1]])
    each = [bank.predict(s, x) for s in students]
    joined = bank.predict(model, x)
    for k in joined:
        assert np.allclose(joined[k], np.mean([e[k] for e in each], 0), atol=1e-4), k
        assert not np.allclose(each[0][k], each[1][k], atol=1e-4), k  # the students do differ
    from_bank = bank.top_predict(model, bank.trunk(model, x), bank.BANK_BLOCKS)
    assert all(np.allclose(joined[k], from_bank[k], atol=0.05) for k in joined)
    with torch.no_grad():  # the tune split's grade offsets go into every student's bias: the mean moves by them
        for heads in model.all_heads():
            heads["grade"].bias += torch.tensor([0.0, 0.5, 1.0])
    assert np.allclose(bank.predict(model, x)["grade"] - joined["grade"], [0.0, 0.5, 1.0], atol=1e-4)
    with torch.no_grad():
        students[2].backbone.blocks[0][0].conv_dw.weight.add_(1.0)
    with pytest.raises(ValueError, match="trunks differ"):
        ensemble_of(students, {**CFG, "frozen_blocks": 5})
