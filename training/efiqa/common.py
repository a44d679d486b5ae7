"""What the three EFIQA stages share: config paths, DDP wrapping, schedules."""

from __future__ import annotations

from pathlib import Path



REPO = Path(__file__).resolve().parents[2]


def repo_path(p: str | Path) -> Path:
    """Config paths are relative to the checkout, so runs work from any folder."""
    p = Path(p)
    return p if p.is_absolute() else REPO / p


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
