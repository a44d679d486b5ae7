"""Habits every training stage shares: config, seeds, run folder, CSV metrics, checkpoints, DDP.

A stage is a function `run(cfg: dict, run_dir: Path) -> dict`. `start_run`
resolves the YAML config (defaults, file, --set overrides), fixes the seeds,
makes the run folder and saves the resolved config beside it.
"""

from __future__ import annotations

import csv
import json
import os
import random
from pathlib import Path

import numpy as np

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def data_root(cfg: dict | None = None) -> Path:
    """`data_root` in the config, else RIQA_DATA, else ../shared/data beside the checkout."""
    p = (cfg or {}).get("data_root") or os.environ.get("RIQA_DATA") or DEFAULT_DATA
    p = Path(p)
    if not p.is_dir():
        raise FileNotFoundError(f"data folder {p} not found: pass data_root or set RIQA_DATA")
    return p


def calibration_cli(argv, doc: str, out: Path, calibrate, shown=lambda cal: cal) -> dict:
    """`python -m training.X [--data-root D] [--write]`: calibrate on the shared photos, print what `shown` keeps,
    and with --write store the whole result in `out`, the file the app reads."""
    import argparse

    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--data-root")
    ap.add_argument("--write", action="store_true", help=f"store the result in {out}")
    args = ap.parse_args(argv)
    cal = calibrate(data_root({"data_root": args.data_root} if args.data_root else None))
    print(json.dumps(shown(cal), indent=2))
    if args.write:
        out.write_text(json.dumps(cal, indent=2) + "\n", encoding="utf-8")
        print("written:", out)
    return cal


def load_config(path: str | Path | None, defaults: dict, overrides: list[str] | None = None) -> dict:
    import yaml

    cfg = json.loads(json.dumps(defaults))
    if path:
        loaded = yaml.safe_load(Path(path).read_text()) or {}
        _merge(cfg, loaded)
    for item in overrides or []:
        key, _, val = item.partition("=")
        set_dotted(cfg, key, yaml.safe_load(val))
    return cfg


def set_dotted(cfg: dict, key: str, value) -> None:
    """cfg["a"]["b"] = value for key "a.b" (how --set and selection candidates override a config)."""
    node = cfg
    *parents, leaf = key.split(".")
    for k in parents:
        node = node.setdefault(k, {})
    node[leaf] = value


def _merge(dst: dict, src: dict) -> None:
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _merge(dst[k], v)
        else:
            dst[k] = v


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)


def start_run(cfg: dict, run_dir: str | Path) -> Path:
    import yaml

    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    seed_everything(int(cfg.get("seed", 0)))
    threads = cfg.get("threads")
    if threads:
        import torch

        torch.set_num_threads(int(threads))
    return run


class MetricsCSV:
    """Append one row per epoch to `metrics.csv` (header from the first row)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def log(self, row: dict) -> None:
        new = not self.path.exists()
        with open(self.path, "a", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(row))
            if new:
                w.writeheader()
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})


def save_checkpoint(path: Path, **state) -> None:
    """Resumable checkpoint (torch format: training-side only, never shipped)."""
    import torch

    tmp = Path(str(path) + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict | None:
    import torch

    if not Path(path).exists():
        return None
    return torch.load(path, map_location="cpu", weights_only=False)


def resume(path: Path, **objects) -> dict:
    """Restore each object's `state_dict` saved under its name by `save_checkpoint`.

    Returns the checkpoint's other entries (epoch, elapsed, ...), {} when there is none.
    """
    ck = load_checkpoint(path)
    if ck is None:
        return {}
    for name, obj in objects.items():
        obj.load_state_dict(ck[name])
    return {k: v for k, v in ck.items() if k not in objects}


def ddp_setup():
    """(rank, world_size, device) under torchrun; (0, 1, best device) otherwise."""
    import torch

    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        import torch.distributed as dist

        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        rank, world = dist.get_rank(), dist.get_world_size()
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
            return rank, world, torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        return rank, world, torch.device("cpu")
    return 0, 1, torch.device("cuda" if torch.cuda.is_available() else "cpu")


def device_description(device) -> str:
    import platform

    import torch

    if getattr(device, "type", str(device)) == "cuda":
        return f"CUDA {torch.cuda.get_device_name(0)}"
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def average_buffers(model, world: int) -> None:
    """Average BatchNorm running statistics over the ranks (under torchrun; a no-op on one process).

    DDP keeps parameters identical but each rank's last forward updates its running stats from its own
    batches, so without this the ranks (and the checkpoint rank 0 saves) hold one rank's statistics.
    Every rank must call it, at the same point (end of an epoch).
    """
    if world <= 1:
        return
    import torch
    import torch.distributed as dist

    for buf in model.buffers():
        if torch.is_floating_point(buf):
            dist.all_reduce(buf, op=dist.ReduceOp.SUM)
            buf.div_(world)
