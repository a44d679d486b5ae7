"""Run under `torchrun --nproc_per_node 2`: the vessel U-Net stage (training/efiqa/vessels.py), tiny.

Each rank saves the weights it started and ended with to OUT/rank<r>_{start,end}.pt, so the test can
check that DDP kept the ranks identical (each rank samples its own batches) and that training moved them.
Usage: python -m torch.distributed.run --standalone --nproc_per_node 2 tests/ddp_stage.py OUT DATA_ROOT
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist
import yaml

from training.common import load_config, start_run
from training.efiqa import vessels
from training.efiqa.cli import CONFIG

TINY = ["vessels.base=4", "vessels.depth=2", "vessels.patch=32", "vessels.batch=2", "vessels.epochs=1",
        "vessels.steps_per_epoch=4", "threads=1"]


def main(out: Path, data: str) -> None:
    models, start = [], {}
    wrap = vessels.wrap_ddp

    def keep(model, world, device):
        model, net = wrap(model, world, device)
        models.append(model)
        start.update({k: v.detach().clone() for k, v in model.state_dict().items()})
        return model, net

    vessels.wrap_ddp = keep  # the stage's own model object, to read its weights after `run`
    cfg = load_config(CONFIG, yaml.safe_load(CONFIG.read_text()),
                      [*TINY, f"data_root={data}", f"models_dir={out / 'models'}"])
    run_dir = start_run(cfg, out / "run")
    vessels.run(cfg, run_dir)
    rank = dist.get_rank()
    torch.save(start, out / f"rank{rank}_start.pt")
    torch.save(models[0].state_dict(), out / f"rank{rank}_end.pt")
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
