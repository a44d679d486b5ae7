"""The "multitask" family's contract (heads, shapes, rebuild from a card) and Grad-CAM."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from riqa_desktop.models.gradcam import gradcam
from riqa_desktop.models.registry import build_model, load_model, save_model

HEADS = ("grade", "not_fundus", "illumination", "clarity", "contrast")


@pytest.mark.parametrize("backbone", ["test_efficientnet", "resnet18"])
def test_forward_returns_every_head_with_the_agreed_shapes(backbone):
    model = build_model("multitask", backbone=backbone).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 96, 96))
    assert set(out) == set(HEADS)
    assert out["grade"].shape == (2, 3)
    for h in HEADS[1:]:
        assert out[h].shape == (2,)


def test_card_round_trip_rebuilds_identical_outputs(tmp_path):
    torch.manual_seed(0)
    model = build_model("multitask", backbone="test_efficientnet", dropout=0.1).eval()
    card = save_model(model, "mt", {"family": "multitask", "architecture": {"backbone": "test_efficientnet", "dropout": 0.1}}, tmp_path)
    assert len(card["sha256"]) == 64
    loaded, _ = load_model("mt", tmp_path)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        a, b = model(x), loaded(x)
    for h in HEADS:
        assert torch.allclose(a[h], b[h])
    torch.manual_seed(1)
    other = build_model("multitask", backbone="test_efficientnet", dropout=0.1).eval()
    with torch.no_grad():
        assert not torch.allclose(other(x)["grade"], a["grade"]), "build must start from fresh random weights"


@pytest.mark.parametrize("head", HEADS)
def test_gradcam_every_head(head):
    model = build_model("multitask", backbone="test_efficientnet")
    cam = gradcam(model, torch.randn(1, 3, 64, 64), head, index=1 if head == "grade" else None)
    assert cam.shape == (64, 64) and cam.dtype == np.float32
    assert 0.0 <= cam.min() and cam.max() <= 1.0
    assert model.training, "gradcam must restore the model's mode"


def test_gradcam_points_at_the_evidence():
    """A model whose clarity logit is the mean red activation must be explained by the red patch."""

    class Probe(torch.nn.Module):
        def features(self, x):
            return torch.relu(x[:, :1])

        def head_outputs(self, fmap):
            return {"clarity": fmap.mean(dim=(1, 2, 3))}

    x = torch.zeros(1, 3, 32, 32)
    x[0, 0, 2:10, 20:30] = 1.0
    cam = gradcam(Probe(), x, "clarity")
    assert cam[2:10, 20:30].mean() > 0.9
    assert cam[16:, :16].max() < 0.05
    with pytest.raises(ValueError):
        gradcam(Probe(), x, "sharpness")


def test_green_timestamp_is_filled_before_the_backbone(retina_rgb):
    """DRIMDB's timestamp sits inside the FOV circle: the model must not see it."""
    import cv2

    from riqa_desktop.core.preprocess import prepare, to_tensor_batch
    from riqa_desktop.models.multitask import suppress_green_text

    sq = prepare(retina_rgb, (224,)).squares[224]
    stamped = sq.copy()
    cv2.putText(stamped, "15.05.2008 10:41", (70, 60), cv2.FONT_HERSHEY_PLAIN, 0.6, (0, 255, 0), 1)
    x, xs = to_tensor_batch([sq]), to_tensor_batch([stamped])
    region = (slice(None), slice(None), slice(45, 65), slice(65, 160))
    before = (xs - x)[region].abs().mean()
    after = (suppress_green_text(xs) - x)[region].abs().mean()
    assert before > 0.05
    assert after < 0.25 * before
    assert torch.equal(suppress_green_text(x), x), "a photo without green text must pass unchanged"
