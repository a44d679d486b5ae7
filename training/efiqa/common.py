"""What the three EFIQA stages share: photo squares (cached), AUC, DDP wrapping, model dirs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np

from riqa_desktop.core.loading import read_image
from riqa_desktop.core.preprocess import prepare

REPO = Path(__file__).resolve().parents[2]


def repo_path(p: str | Path) -> Path:
    """Config paths are relative to the checkout, so runs work from any folder."""
    p = Path(p)
    return p if p.is_absolute() else REPO / p


def square(path: Path, size: int, min_side: int, cache_dir: Path | None = None) -> np.ndarray:
    """The app's FOV square of a photo (read_image + prepare), cached as PNG under runs/."""
    if cache_dir is not None:
        key = hashlib.sha1(f"{Path(path).resolve()}|{size}|{min_side}".encode()).hexdigest()[:16]
        f = Path(cache_dir) / f"sq{size}_{key}.png"
        if f.exists():
            return cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB)
    sq = prepare(read_image(path, min_side=min_side).rgb, (size,)).squares[size]
    if cache_dir is not None:
        f.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(f), cv2.cvtColor(sq, cv2.COLOR_RGB2BGR))
    return sq


def auc(scores, labels) -> float:
    """ROC AUC by ranks (ties averaged); labels are 0/1."""
    from scipy.stats import rankdata

    s = np.asarray(scores, np.float64).ravel()
    y = np.asarray(labels).ravel().astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    r = rankdata(s)
    return float((r[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def wrap_ddp(model, world: int, device):
    """DistributedDataParallel under torchrun, the bare model otherwise."""
    model = model.to(device)
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        return model, DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    return model, model


def schedule(frac: float, start: float, end: float, a: float, b: float) -> float:
    """Linear ramp from a (before `start`) to b (after `end`), in fractions of training."""
    if frac <= start:
        return a
    if frac >= end:
        return b
    return a + (b - a) * (frac - start) / (end - start)
