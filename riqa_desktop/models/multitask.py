"""Family "multitask": one backbone, five small heads (method A, Telesco et al., arXiv 2511.13353).

`forward(x)` takes (N, 3, S, S) ImageNet-normalised FOV squares and returns
logits: "grade" (N, 3) in order Good, Usable, Reject; "not_fundus" (N,);
"illumination", "clarity", "contrast" (N,), each the logit of P(bad); with
`laterality`, "laterality" (N,): the logit of P(right eye), read from the
picture as it is stored (a mirrored photo reads as the other eye).
`build(**arch)` always starts from random weights (the card's "architecture"
rebuilds it offline); ImageNet initialisation happens in training only.

`members` > 1 is an ensemble of students that share their first `shared_blocks`
stages (the ImageNet trunk every student keeps frozen): the trunk runs once, each
student's last stages, head convolution and heads run on its output, and every
logit is the students' mean. Grad-CAM explains the first student.

Burned-in camera text (DRIMDB's green timestamp) lies *inside* the FOV circle
of frame-filling photos, so the circular mask of `prepare` does not remove it.
`features()` therefore first replaces saturated pure-green pixels (no fundus
tissue is green-dominant: measured 1 flagged pixel outside the stamp over all
276 shared photos) by the mean of their unflagged neighbours, so the network
never sees the text, in training and in the app alike.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from .backbones import create_backbone
from .registry import register_family

GRADES = ("good", "usable", "reject")
DETAILS = ("illumination", "clarity", "contrast")
HEADS = {"grade": len(GRADES), "not_fundus": 1, **{d: 1 for d in DETAILS}}
_MEAN = torch.tensor((0.485, 0.456, 0.406)).view(1, 3, 1, 1)
_STD = torch.tensor((0.229, 0.224, 0.225)).view(1, 3, 1, 1)


def suppress_green_text(x: torch.Tensor) -> torch.Tensor:
    """Fill pixels with G > 90/255 and G > 1.5 R and G > 1.5 B (dilated 5x5) from their lit neighbours.

    Only lit neighbours count, so the black frame padding next to the stamp does not smear in.
    """
    rgb = x * _STD.to(x) + _MEAN.to(x)
    r, g, b = rgb[:, 0:1], rgb[:, 1:2], rgb[:, 2:3]
    flag = ((g > 90 / 255) & (g > 1.5 * r) & (g > 1.5 * b)).to(x.dtype)
    # Shortcut in eager mode only: an exported graph must always contain the filter
    # (with no flagged pixel the arithmetic below returns x exactly).
    if not torch.onnx.is_in_onnx_export() and not bool(flag.any()):
        return x
    lit = (rgb.sum(1, keepdim=True) > 0.02).to(x.dtype)
    flag = F.max_pool2d(flag, 5, stride=1, padding=2) * lit
    keep = (1 - flag) * lit
    num = _box15(x * keep)
    den = _box15(keep).clamp(min=1e-3)
    return x * (1 - flag) + flag * num / den


def _box15(t: torch.Tensor) -> torch.Tensor:
    """15 x 15 mean with zero padding, as two 1-D passes (the same numbers, several times faster)."""
    t = F.avg_pool2d(t, (15, 1), stride=1, padding=(7, 0))
    return F.avg_pool2d(t, (1, 15), stride=1, padding=(0, 7))


class MultiTaskQuality(nn.Module):
    def __init__(self, backbone: str = "efficientnet_lite0", dropout: float = 0.2, mask_text: bool = True,
                 backbone_module: nn.Module | None = None, laterality: bool = False, members: int = 1,
                 shared_blocks: int = 5):
        super().__init__()
        self.mask_text = mask_text
        self.backbone = backbone_module if backbone_module is not None else create_backbone(backbone, num_classes=0)
        nf = self.backbone.num_features
        self.dropout = nn.Dropout(dropout)
        heads = {**HEADS, "laterality": 1} if laterality else HEADS
        self.heads = nn.ModuleDict({k: nn.Linear(nf, n) for k, n in heads.items()})
        self.shared_blocks = shared_blocks
        self.members = nn.ModuleList([StudentTop(self.backbone, shared_blocks, self.heads) for _ in range(members - 1)])

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Last convolutional feature map (N, C, h, w) of the first student: what Grad-CAM explains."""
        return self.backbone.forward_features(suppress_green_text(x) if self.mask_text else x)

    def head_outputs(self, fmap: torch.Tensor) -> dict[str, torch.Tensor]:
        return _heads(self.heads, self.dropout(self.backbone.forward_head(fmap, pre_logits=True)))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if not len(self.members):
            return self.head_outputs(self.features(x))
        return self.outputs_after_trunk(self.trunk(x, self.shared_blocks))

    def trunk(self, x: torch.Tensor, blocks: int) -> torch.Tensor:
        """The stem and the first `blocks` stages, green text filled first: what students keep frozen and share."""
        bb = self.backbone
        t = bb.bn1(bb.conv_stem(suppress_green_text(x) if self.mask_text else x))
        for b in bb.blocks[:blocks]:
            t = b(t)
        return t

    def head_map(self, t: torch.Tensor, start: int) -> torch.Tensor:
        """The first student's feature map that its heads pool, from the output of the first `start` stages."""
        bb = self.backbone
        for b in bb.blocks[start:]:
            t = b(t)
        return bb.bn2(bb.conv_head(t))

    def outputs_after_trunk(self, t: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every head, the students' mean, from the output of the shared stages."""
        outs = [self.head_outputs(self.head_map(t, self.shared_blocks))] + [m(t, self.dropout) for m in self.members]
        return {k: torch.stack([o[k] for o in outs]).mean(0) for k in outs[0]}

    def all_heads(self) -> list[nn.ModuleDict]:
        """Each student's heads (a decision offset is added to every student's grade bias alike)."""
        return [self.heads] + [m.heads for m in self.members]


class StudentTop(nn.Module):
    """One more student's stages after the shared trunk, its head convolution and its heads."""

    def __init__(self, backbone: nn.Module, shared_blocks: int, heads: nn.ModuleDict):
        super().__init__()
        self.blocks = copy.deepcopy(backbone.blocks[shared_blocks:])
        self.conv_head, self.bn2 = copy.deepcopy(backbone.conv_head), copy.deepcopy(backbone.bn2)
        self.global_pool = copy.deepcopy(backbone.global_pool)
        self.heads = copy.deepcopy(heads)

    def forward(self, t: torch.Tensor, dropout: nn.Module) -> dict[str, torch.Tensor]:
        return _heads(self.heads, dropout(self.global_pool(self.bn2(self.conv_head(self.blocks(t))))))


def _heads(heads: nn.ModuleDict, pooled: torch.Tensor) -> dict[str, torch.Tensor]:
    out = {k: h(pooled) for k, h in heads.items()}
    return {k: (v if k == "grade" else v.squeeze(1)) for k, v in out.items()}


@register_family("multitask")
def build(backbone: str = "efficientnet_lite0", dropout: float = 0.2, mask_text: bool = True,
          laterality: bool = False, members: int = 1, shared_blocks: int = 5) -> MultiTaskQuality:
    return MultiTaskQuality(backbone=backbone, dropout=dropout, mask_text=mask_text, laterality=laterality,
                            members=members, shared_blocks=shared_blocks)
