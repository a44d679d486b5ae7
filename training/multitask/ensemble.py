"""Students of different batch draws joined into one network that runs their shared trunk once.

Every student keeps the ImageNet stem and first stages frozen, so their trunks are the
same weights: the ensemble stores and runs that trunk once and each student's top on its
output (`MultiTaskQuality(members=K)`), and its logits are the students' mean.
"""

from __future__ import annotations

import torch

from riqa_desktop.models.multitask import MultiTaskQuality

from .bank import trunk_parameters
from .net import architecture


def ensemble_of(students: list[MultiTaskQuality], cfg: dict) -> MultiTaskQuality:
    shared = int(cfg.get("frozen_blocks", 5))
    first = list(trunk_parameters(students[0], shared))
    for s in students[1:]:
        if not all(torch.equal(a, b) for a, b in zip(first, trunk_parameters(s, shared))):
            raise ValueError("the students' frozen trunks differ: they cannot share one")
    model = MultiTaskQuality(**architecture(cfg, members=len(students)))
    model.load_state_dict(students[0].state_dict(), strict=False)
    for top, s in zip(model.members, students[1:]):
        bb = s.backbone
        top.blocks.load_state_dict(bb.blocks[shared:].state_dict())
        top.conv_head.load_state_dict(bb.conv_head.state_dict())
        top.bn2.load_state_dict(bb.bn2.state_dict())
        top.heads.load_state_dict(s.heads.state_dict())
    return model.eval()
