"""Frozen-trunk feature bank: train the top of the network on thousands of photos on two CPU cores.

EfficientNet-Lite0's ImageNet stem and first `BANK_BLOCKS` stages (stride 16)
are computed once per training view and cached (float16). Training keeps the
first `frozen` stages (config `frozen_blocks`, at least `BANK_BLOCKS`) at their
ImageNet weights, advances the cache through the extra frozen stages once,
and fine-tunes the rest (the last stages, the 1x1 head convolution, the heads):
an epoch costs only the top. The shipped model is the ordinary full network.
"""

from __future__ import annotations

import numpy as np
import torch

from riqa_desktop.core.preprocess import to_tensor_batch
from riqa_desktop.models.multitask import MultiTaskQuality

BANK_BLOCKS = 5


def trunk_parameters(model: MultiTaskQuality, frozen: int):
    bb = model.backbone
    yield from bb.conv_stem.parameters()
    yield from bb.bn1.parameters()
    for b in bb.blocks[:frozen]:
        yield from b.parameters()


def freeze_trunk(model: MultiTaskQuality, frozen: int) -> None:
    for p in trunk_parameters(model, frozen):
        p.requires_grad_(False)


def set_train_top(model: MultiTaskQuality, frozen: int) -> None:
    """Train mode for the top only: the frozen stages' BatchNorm keeps ImageNet statistics."""
    model.train()
    bb = model.backbone
    for m in (bb.conv_stem, bb.bn1, *bb.blocks[:frozen]):
        m.eval()


@torch.no_grad()
def trunk(model: MultiTaskQuality, squares: np.ndarray, batch: int = 64) -> np.ndarray:
    """(N, S, S, 3) uint8 squares -> (N, C, S/16, S/16) float16 features after `BANK_BLOCKS` stages."""
    was = model.training
    model.eval()
    out = []
    for i in range(0, len(squares), batch):
        out.append(model.trunk(to_tensor_batch(list(squares[i:i + batch])), BANK_BLOCKS).half().numpy())
    model.train(was)
    return np.concatenate(out) if out else np.zeros((0,), np.float16)


@torch.no_grad()
def advance(model: MultiTaskQuality, feats: np.ndarray, frozen: int, batch: int = 256) -> np.ndarray:
    """Bank features moved on through the frozen stages `BANK_BLOCKS..frozen` (once, before training)."""
    if frozen == BANK_BLOCKS:
        return feats
    was = model.training
    model.eval()
    out = []
    for i in range(0, len(feats), batch):
        x = torch.from_numpy(feats[i:i + batch]).float()
        for b in model.backbone.blocks[BANK_BLOCKS:frozen]:
            x = b(x)
        out.append(x.half().numpy())
    model.train(was)
    return np.concatenate(out)


def head_map(model: MultiTaskQuality, feats: torch.Tensor, start: int = BANK_BLOCKS) -> torch.Tensor:
    """The feature map the heads pool, from features after `start` stages."""
    return model.head_map(feats.float(), start)


def top(model: MultiTaskQuality, feats: torch.Tensor, start: int = BANK_BLOCKS) -> dict[str, torch.Tensor]:
    """The rest of the network from features after `start` stages: the same numbers as `model(x)`."""
    if len(model.members):
        if start != model.shared_blocks:
            raise ValueError(f"an ensemble runs on features after its {model.shared_blocks} shared stages, not {start}")
        return model.outputs_after_trunk(feats.float())
    return model.head_outputs(head_map(model, feats, start))


@torch.no_grad()
def top_predict(model: MultiTaskQuality, feats: np.ndarray, start: int = BANK_BLOCKS, batch: int = 256) -> dict[str, np.ndarray]:
    was = model.training
    model.eval()
    outs: dict[str, list] = {}
    for i in range(0, len(feats), batch):
        for k, v in top(model, torch.from_numpy(feats[i:i + batch]), start).items():
            outs.setdefault(k, []).append(v.float().numpy())
    model.train(was)
    return {k: np.concatenate(v) for k, v in outs.items()}


@torch.no_grad()
def predict(model, squares: np.ndarray, batch: int = 32) -> dict[str, np.ndarray]:
    model.eval()
    outs: dict[str, list] = {}
    for i in range(0, len(squares), batch):
        o = model(to_tensor_batch(list(squares[i : i + batch])))
        for k, v in o.items():
            outs.setdefault(k, []).append(v.float().numpy())
    return {k: np.concatenate(v) for k, v in outs.items()}
