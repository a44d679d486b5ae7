"""The student's network as training builds it: timm EfficientNet-Lite0 with ImageNet weights (offline)."""

from __future__ import annotations

from riqa_desktop.models.backbones import pretrained_backbone
from riqa_desktop.models.multitask import MultiTaskQuality


def architecture(cfg: dict, members: int = 1) -> dict:
    arch = {"backbone": cfg["backbone"], "dropout": cfg["dropout"], "mask_text": cfg.get("mask_text", True)}
    if cfg.get("laterality"):
        arch["laterality"] = True
    if members > 1:
        arch.update(members=members, shared_blocks=int(cfg.get("frozen_blocks", 5)))
    return arch


def new_model(cfg: dict) -> MultiTaskQuality:
    """ImageNet-initialised backbone (efficientnet_lite0 from its package, others from a local file)."""
    name, weights = cfg["backbone"], cfg.get("backbone_weights")
    if name == "efficientnet_lite0" or weights:
        bb = pretrained_backbone(name, weights=weights, num_classes=0)
    else:
        print(f"note: no local weights for '{name}': random initialisation (nothing is downloaded)")
        bb = None
    return MultiTaskQuality(backbone=name, dropout=cfg["dropout"], mask_text=cfg.get("mask_text", True), backbone_module=bb,
                            laterality=bool(cfg.get("laterality")))
