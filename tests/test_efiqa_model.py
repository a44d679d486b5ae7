"""EFIQA model code on tiny random models: shapes, the frozen backbone, save/load, label pooling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from riqa_desktop.models.efiqa import EfiqaAdapter, missing_vessels_map, vessel_map
from riqa_desktop.models.registry import build_model, load_model, save_model

TINY = {"backbone": "test_efficientnet", "feature_indices": [3], "grid": 8}


def test_adapter_gives_one_logit_per_patch():
    m = build_model("efiqa_adapter", **TINY).eval()
    out = m(torch.randn(2, 3, 128, 128))
    assert out.shape == (2, 8, 8)


def test_adapter_concatenates_levels_and_resizes_to_grid():
    m = build_model("efiqa_adapter", backbone="test_efficientnet", feature_indices=[2, 3, 4], grid=6).eval()
    assert m.head.in_channels == sum(m.backbone.feature_info.channels())
    assert m(torch.randn(1, 3, 96, 96)).shape == (1, 6, 6)


def test_only_the_head_trains_and_backbone_stays_in_eval_mode():
    m = build_model("efiqa_adapter", **TINY)
    m.train()
    assert not m.backbone.training and m.head.training
    trainable = {n for n, p in m.named_parameters() if p.requires_grad}
    assert trainable == {"head.weight", "head.bias"}


def test_context_head_reads_neighbouring_patches_and_the_linear_head_does_not():
    torch.manual_seed(0)
    lin = build_model("efiqa_adapter", **TINY).eval()
    feats = torch.randn(1, lin.head.in_channels, 8, 8)
    moved = feats.clone()
    moved[..., 3, 4] += 5.0  # change one patch's features: its right-hand neighbour is (3, 5)
    for hidden, kernel, touched in ((16, 1, False), (16, 3, True), (0, 3, True)):
        m = build_model("efiqa_adapter", **TINY, head_hidden=hidden, head_kernel=kernel).eval()
        with torch.no_grad():
            for head, ctx in ((m.head, touched), (lin.head, False)):
                a, b = head(feats)[0, 0], head(moved)[0, 0]
                assert not torch.isclose(a[3, 4], b[3, 4])
                assert bool(not torch.isclose(a[3, 5], b[3, 5])) == ctx
                assert torch.equal(a[0, 0], b[0, 0])


def test_context_head_round_trips_through_a_card(tmp_path):
    torch.manual_seed(0)
    arch = {**TINY, "head_hidden": 16, "head_kernel": 3}
    m = build_model("efiqa_adapter", **arch).eval()
    save_model(m, "efiqa_adapter", {"family": "efiqa_adapter",
                                    "architecture": {**arch, "channels": list(m.backbone.feature_info.channels())}},
               tmp_path)
    loaded, _ = load_model("efiqa_adapter", tmp_path)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert loaded(x).shape == (2, 8, 8) and torch.allclose(m(x), loaded(x))


def test_card_channels_must_match_the_backbone():
    with pytest.raises(ValueError, match="channels"):
        EfiqaAdapter(backbone="test_efficientnet", feature_indices=[3], channels=[112])


def test_adapter_round_trips_through_a_card(tmp_path):
    torch.manual_seed(0)
    m = build_model("efiqa_adapter", **TINY).eval()
    arch = {**TINY, "channels": list(m.backbone.feature_info.channels())}
    save_model(m, "efiqa_adapter", {"family": "efiqa_adapter", "architecture": arch}, tmp_path)
    loaded, card = load_model("efiqa_adapter", tmp_path)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(m(x), loaded(x))
    assert card["architecture"]["grid"] == 8


def test_unet_res_is_residual():
    m = build_model("unet_res", in_ch=1, out_ch=1, base=4, depth=2)
    torch.nn.init.zeros_(m.out.weight), torch.nn.init.zeros_(m.out.bias)
    x = torch.rand(1, 1, 32, 32)
    assert torch.equal(m(x), x)
    with pytest.raises(ValueError):
        build_model("unet_res", in_ch=1, out_ch=3)


def test_unet_segments_at_any_multiple_of_its_depth():
    m = build_model("unet", in_ch=1, out_ch=1, base=4, depth=3).eval()
    assert m(torch.randn(1, 1, 48, 64)).shape == (1, 1, 48, 64)


def test_missing_vessels_map_covers_the_square(retina_rgb):
    from riqa_desktop.core.preprocess import prepare

    sq = prepare(retina_rgb, (200,)).squares[200]
    seg = build_model("unet", in_ch=1, out_ch=1, base=4, depth=3).eval()
    vuad = build_model("unet_res", in_ch=1, out_ch=1, base=4, depth=3).eval()
    vm = vessel_map(sq, seg)
    assert vm[0, 0] == 0 and 0 <= vm.min() and vm.max() <= 1
    out = missing_vessels_map(sq, seg, vuad)
    assert out.shape == (200, 200) and out.dtype == np.float32
    assert 0 <= out.min() and out.max() <= 1


def test_patch_labels_need_ninety_percent_of_pixels():
    from training.efiqa.vuad import patch_labels

    diff = np.zeros((64, 64), np.float32)
    diff[:16, :16] = 0.05  # patch (0, 0) fully anomalous
    diff[16:32, :16] = 0.05
    diff[16:18, :16] = 0.0  # patch (1, 0): 87.5 % anomalous -> not bad
    lab = patch_labels(diff, 4)
    assert lab[0, 0] and not lab[1, 0] and lab.sum() == 1


def test_drop_cells_and_random_fov_keep_the_map_size():
    from training.efiqa.vuad import drop_cells, random_fov

    rng = np.random.default_rng(0)
    m = np.ones((128, 128), np.float32)
    assert drop_cells(m, (1.0, 1.0), (4, 32), rng).sum() == 0
    assert drop_cells(m, (0.0, 0.0), (4, 32), rng).sum() == m.sum()
    f = random_fov(m, (0.5, 0.6), rng)
    assert f.shape == m.shape and f[0, 0] == 0 and f[64, 64] == 1


def test_auc_and_best_f1():
    from training.efiqa.common import schedule
    from training.efiqa.evaluate import best_f1_threshold
    from training.metrics import auc

    assert auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert auc([0, 0, 1, 1], [0.9, 0.2, 0.8, 0.1]) == 0.25  # one of four pairs ordered
    t, f1 = best_f1_threshold([0.1, 0.3, 0.6, 0.7], [0, 0, 1, 1])
    assert f1 == 1.0 and 0.3 < t <= 0.6
    assert schedule(0.25, 0.1, 0.4, 0.0, 0.5) == pytest.approx(0.25)
