"""Grad-CAM (Selvaraju et al. 2017) for any head of the multitask model: the paper's explanation maps.

Not on the hot path: one backward pass per map, on request.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

HEADS = ("grade", "not_fundus", "illumination", "clarity", "contrast")


def gradcam(model, x: torch.Tensor, head: str, index: int | None = None) -> np.ndarray:
    """S x S map in [0, 1] of where `head` looks for the first image of `x`.

    For "grade", `index` picks the class (default: the predicted one); the
    binary heads explain their logit of P(bad) / P(not a fundus).
    """
    if head not in HEADS:
        raise ValueError(f"unknown head '{head}' (known: {', '.join(HEADS)})")
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            fmap = model.features(x[:1]).detach().requires_grad_(True)
            out = model.head_outputs(fmap)[head]
            if head == "grade":
                score = out[0, int(out[0].argmax()) if index is None else index]
            else:
                score = out[0]
            (grad,) = torch.autograd.grad(score, fmap)
        weights = grad.mean(dim=(2, 3), keepdim=True)
        cam = F.relu((weights * fmap).sum(dim=1, keepdim=True)).detach()
        cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
        cam = cam - cam.min()
        peak = float(cam.max())
        return (cam / peak if peak > 0 else cam).numpy().astype(np.float32)
    finally:
        model.train(was_training)
