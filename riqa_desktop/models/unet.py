"""Small U-Nets: the vessel segmenter ("unet") and EFIQA's stage-1 inpainter ("unet_res").

EFIQA's VUAD is a classic 4-down/4-up U-Net without normalisation and with a
residual output y = x + UNet(x), so it learns only the missing part. The same
class with `residual=False` and batch norm segments vessels. Widths are
arguments because CPU training needs far narrower nets than EFIQA's base 64.
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import register_family


def _block(cin: int, cout: int, norm: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for c_in in (cin, cout):
        layers.append(nn.Conv2d(c_in, cout, 3, padding=1, bias=not norm))
        if norm:
            layers.append(nn.BatchNorm2d(cout))
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class UNet(nn.Module):
    """U-Net with `depth` poolings; the input side must be a multiple of 2**depth."""

    def __init__(self, in_ch: int = 1, out_ch: int = 1, base: int = 16, depth: int = 4,
                 norm: bool = True, residual: bool = False):
        super().__init__()
        if residual and in_ch != out_ch:
            raise ValueError("a residual U-Net needs in_ch == out_ch")
        self.residual = residual
        chs = [base * 2**i for i in range(depth + 1)]
        self.downs = nn.ModuleList([_block(in_ch, chs[0], norm)] + [_block(chs[i], chs[i + 1], norm) for i in range(depth)])
        self.ups = nn.ModuleList([nn.ConvTranspose2d(chs[i + 1], chs[i], 2, stride=2) for i in reversed(range(depth))])
        self.up_blocks = nn.ModuleList([_block(2 * chs[i], chs[i], norm) for i in reversed(range(depth))])
        self.out = nn.Conv2d(chs[0], out_ch, 1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        h = x
        for i, down in enumerate(self.downs):
            h = down(h if i == 0 else self.pool(h))
            skips.append(h)
        skips.pop()
        for up, block in zip(self.ups, self.up_blocks):
            h = block(torch.cat([skips.pop(), up(h)], dim=1))
        y = self.out(h)
        return x + y if self.residual else y


@register_family("unet")
def build_unet(**arch) -> UNet:
    """Segmentation U-Net; outputs logits."""
    return UNet(**{**arch, "residual": False})


@register_family("unet_res")
def build_unet_res(**arch) -> UNet:
    """EFIQA's inpainting U-Net: y = x + UNet(x), no normalisation by default."""
    return UNet(**{"norm": False, **arch, "residual": True})
