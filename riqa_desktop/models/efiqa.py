"""EFIQA runtime: the patch-quality adapter and the on-demand "missing vessels" map.

After Wang et al. (MIDL 2026, github penway/EFIQA, MIT). Only the adapter
runs on the hot path: a frozen backbone's patch features and a shallow head
(EFIQA's 1x1 linear layer, or a small per-patch MLP whose output layer sees the
3x3 neighbouring patches) give one "patch degraded" logit per cell of a G x G
grid over the FOV square. The vessel segmenter and the stage-1 inpainter (both `unet.py`) ship
only for the overlay that shows where vessels are expected but not seen.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..core import imageops
from .backbones import create_backbone
from .registry import register_family

VESSEL_SIZE = 512  # FOV square side the vessel segmenter works at
VUAD_SIZE = 128  # side of the vessel maps stage 1 inpaints (EFIQA: 256; 128 fits CPU training)
ANOMALY_THRESHOLD = 0.02  # EFIQA's residual threshold
VESSEL_FLOOR = 50 / 255  # EFIQA zeroes map pixels with gray <= 50: faint noise is not vessel


class EfiqaAdapter(nn.Module):
    """Frozen timm backbone -> features resized to the grid -> head -> (N, G, G) logits.

    Several feature levels may be concatenated; the backbone never trains, so it
    stays in eval mode. `head_hidden` 0 and `head_kernel` 1 is EFIQA's 1x1 linear
    head; see `patch_head` (a defect spans patches: neighbours tell a shadow's edge
    from a vessel gap).
    """

    def __init__(self, backbone: str = "efficientnet_lite0", feature_indices=(3,), channels=None,
                 grid: int = 16, backbone_kwargs: dict | None = None, head_hidden: int = 0, head_kernel: int = 1):
        super().__init__()
        self.grid = int(grid)
        self.backbone = create_backbone(backbone, features_only=True, out_indices=tuple(feature_indices),
                                        **(backbone_kwargs or {}))
        found = list(self.backbone.feature_info.channels())
        if channels is not None and list(channels) != found:
            raise ValueError(f"backbone '{backbone}' gives channels {found}, the card says {list(channels)}")
        self.head = patch_head(sum(found), head_hidden, head_kernel)
        for p in self.backbone.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        self.backbone.eval()
        return self

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, G, G) patch features: larger maps area-pooled, smaller ones interpolated."""
        out = []
        for f in self.backbone(x):
            if f.shape[-1] >= self.grid:
                out.append(F.adaptive_avg_pool2d(f, self.grid))
            else:
                out.append(F.interpolate(f, size=(self.grid, self.grid), mode="bilinear", align_corners=False))
        return torch.cat(out, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)


def patch_head(channels: int, hidden: int = 0, kernel: int = 1) -> nn.Module:
    """(N, C, G, G) features -> (N, 1, G, G) logits: linear (hidden 0) or 1x1 -> GELU -> kernel x kernel."""
    if not hidden:
        return nn.Conv2d(channels, 1, kernel, padding=kernel // 2)
    return nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.GELU(), nn.Conv2d(hidden, 1, kernel, padding=kernel // 2))


@register_family("efiqa_adapter")
def build_adapter(**arch) -> EfiqaAdapter:
    return EfiqaAdapter(**arch)


def vessel_input(rgb: np.ndarray) -> np.ndarray:
    """The segmenter's input: CLAHE-equalised green channel in [-1, 1] (float32 H x W).

    Green carries the vessel contrast in every fundus camera; CLAHE evens out
    the illumination differences between DRIVE, CHASE_DB1, HRF and DRIMDB.
    """
    g = imageops.clahe(rgb[..., 1], clip_limit=2.0, tiles=8)
    return g.astype(np.float32) / 127.5 - 1.0


@torch.no_grad()
def segment_vessels(rgb: np.ndarray, vessel_model: nn.Module) -> np.ndarray:
    """Vessel probability (float32 H x W) of any RGB image; padded to a multiple of 16."""
    x = vessel_input(rgb)
    h, w = x.shape
    ph, pw = (-h) % 16, (-w) % 16
    t = torch.from_numpy(np.pad(x, ((0, ph), (0, pw)), constant_values=-1.0))[None, None]
    prob = torch.sigmoid(vessel_model(t))[0, 0, :h, :w]
    return prob.numpy()


def vessel_map(square: np.ndarray, vessel_model: nn.Module, size: int = VUAD_SIZE) -> np.ndarray:
    """Vessel map of a FOV square as stage 1 sees it: size x size in [0, 1], 0 outside the FOV and below the floor."""
    sq = imageops.resize(square, (VESSEL_SIZE, VESSEL_SIZE), "area")
    prob = segment_vessels(sq, vessel_model)
    yy, xx = np.ogrid[:VESSEL_SIZE, :VESSEL_SIZE]
    c = (VESSEL_SIZE - 1) / 2
    prob[(xx - c) ** 2 + (yy - c) ** 2 > (VESSEL_SIZE / 2 - 2) ** 2] = 0
    small = imageops.resize(prob, (size, size), "area")
    small[small <= VESSEL_FLOOR] = 0
    return small


@torch.no_grad()
def inpaint(vmap: np.ndarray, vuad_model: nn.Module) -> np.ndarray:
    """Stage 1 on an un-masked vessel map: the vessels the model expects (size x size)."""
    y = vuad_model(torch.from_numpy(vmap.astype(np.float32))[None, None])
    return y[0].mean(0).clamp(0, 1).numpy()


def missing_vessels_map(square_uint8: np.ndarray, vessel_model: nn.Module, vuad_model: nn.Module,
                        grid: int = 16, fraction: float = 0.9) -> np.ndarray:
    """Where vessels are expected but not seen: S x S float in [0, 1].

    A smooth version of EFIQA's patch rule: the share of pixels, in a window
    one grid cell wide, where the inpainter adds more than the threshold; it
    maps to 1 at `fraction` (EFIQA: a bad patch) and to 0 at half of that.
    Single pixels between vessels, which the inpainter always fills a little,
    so do not light up. Only added vessels count; removed ones are not missing.
    """
    vmap = vessel_map(square_uint8, vessel_model)
    added = (inpaint(vmap, vuad_model) - vmap > ANOMALY_THRESHOLD).astype(np.float32)
    k = max(1, vmap.shape[0] // grid)
    share = imageops.box_blur(added, k)
    soft = np.clip((share - fraction / 2) / (fraction / 2), 0, 1).astype(np.float32)
    s = square_uint8.shape[0]
    return imageops.resize(soft, (s, s), "linear")
