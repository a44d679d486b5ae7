"""`reproduce`: vessels -> vuad -> adapter from one config, each stage in its own run sub-folder."""

from __future__ import annotations

from pathlib import Path

from . import adapter, vessels, vuad


def reproduce(cfg: dict, run_dir: Path) -> dict:
    """Train and ship all three EFIQA models in order; returns each stage's metrics."""
    out = {}
    for name, stage in (("vessels", vessels), ("vuad", vuad), ("adapter", adapter)):
        d = Path(run_dir) / name
        d.mkdir(parents=True, exist_ok=True)
        out[name] = stage.run(cfg, d)
    return out
