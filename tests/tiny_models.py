"""Tiny randomly initialised models that follow the Analyzer's contract (tests only; never shipped)."""

from __future__ import annotations

import torch
from torch import nn


class TinyQuality(nn.Module):
    """Contract of the multi-task quality model: dict of logits."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, stride=4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.heads = nn.ModuleDict({k: nn.Linear(8, n) for k, n in
                                    [("grade", 3), ("not_fundus", 1), ("illumination", 1), ("clarity", 1), ("contrast", 1)]})

    def forward(self, x):
        f = self.body(x)
        return {k: (h(f) if k == "grade" else h(f)[:, 0]) for k, h in self.heads.items()}


class TinyMap(nn.Module):
    """Contract of the EFIQA adapter: (N, G, G) patch logits."""

    def __init__(self, grid: int = 8):
        super().__init__()
        self.conv = nn.Conv2d(3, 1, 1)
        self.pool = nn.AdaptiveAvgPool2d(grid)

    def forward(self, x):
        return self.pool(self.conv(x))[:, 0]


def tiny_models(size: int = 64) -> dict:
    torch.manual_seed(0)
    return {
        "quality": (TinyQuality(), {"input_size": size, "version": "tiny-test", "min_side": 128}),
        "map": (TinyMap(), {"input_size": size, "version": "tiny-test"}),
    }


def register_tiny_families() -> None:
    from riqa_desktop.models.registry import register_family

    register_family("test_tiny_quality")(lambda **kw: TinyQuality())
    register_family("test_tiny_map")(lambda grid=8, **kw: TinyMap(grid))


def write_tiny_models(models_dir) -> None:
    """Save tiny models as `quality_multitask` and `efiqa_adapter` with real cards and hashes."""
    from riqa_desktop.models.registry import save_model

    register_tiny_families()
    m = tiny_models()
    save_model(m["quality"][0], "quality_multitask",
               {"family": "test_tiny_quality", "architecture": {}, **m["quality"][1]}, models_dir)
    save_model(m["map"][0], "efiqa_adapter",
               {"family": "test_tiny_map", "architecture": {"grid": 8}, **m["map"][1]}, models_dir)


def tiny_models_saying_good(size: int = 64) -> dict:
    """The tiny models with a quality model that calls whatever it sees a fundus photo, graded Good."""
    models = tiny_models(size)
    net = models["quality"][0]
    with torch.no_grad():
        net.heads["grade"].weight.zero_()
        net.heads["grade"].bias.copy_(torch.tensor([8.0, 0.0, 0.0]))
        net.heads["not_fundus"].weight.zero_()
        net.heads["not_fundus"].bias.fill_(-8.0)
    return models
