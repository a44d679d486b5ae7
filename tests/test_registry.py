"""Shipped-model loading: the hash is checked before loading; missing or altered files are clear errors."""

from __future__ import annotations

import json

import pytest
import torch

from riqa_desktop.core.errors import ModelError, ModelMissingError, WeightsIntegrityError
from riqa_desktop.models.backbones import lite0_imagenet_state, create_backbone
from riqa_desktop.models.registry import load_model, model_card

from .tiny_models import write_tiny_models


def test_round_trip_and_hash(tmp_path):
    write_tiny_models(tmp_path)
    model, card = load_model("quality_multitask", tmp_path)
    assert card["sha256"] and len(card["sha256"]) == 64
    out = model(torch.zeros(1, 3, 64, 64))
    assert out["grade"].shape == (1, 3)


def test_missing_model_named(tmp_path):
    with pytest.raises(ModelMissingError, match="quality_multitask"):
        model_card("quality_multitask", tmp_path)


def test_altered_weights_refused(tmp_path):
    write_tiny_models(tmp_path)
    w = tmp_path / "efiqa_adapter.safetensors"
    data = bytearray(w.read_bytes())
    data[-1] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(WeightsIntegrityError, match="hash"):
        load_model("efiqa_adapter", tmp_path)


def test_card_that_does_not_fit_is_refused(tmp_path):
    write_tiny_models(tmp_path)
    card_path = tmp_path / "efiqa_adapter.json"
    card = json.loads(card_path.read_text())
    card["family"] = "test_tiny_quality"  # right hash, wrong architecture
    card_path.write_text(json.dumps(card))
    with pytest.raises(ModelError, match="does not fit"):
        load_model("efiqa_adapter", tmp_path)


def test_lite0_imagenet_mapping_covers_every_tensor():
    ref = create_backbone("efficientnet_lite0")
    state = lite0_imagenet_state(ref)
    assert set(state) == set(ref.state_dict())
    ref.load_state_dict(state)  # strict: names and shapes all fit
