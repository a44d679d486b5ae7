"""One training stage on two processes: `torchrun --nproc_per_node 2` (gloo) runs the vessel U-Net stage,
tiny, on a few real DRIVE / CHASE_DB1 photos; both ranks must end with the same weights, moved by training."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
# (folder, file-name prefix): each photo with its masks and observers' drawings.
SUBSET = [("DRIVE/training", "21_"), ("DRIVE/training", "22_"), ("CHASEDB1/training", "Image_01L"),
          ("DRIVE/test", "01_"), ("DRIVE/test", "02_")]


def small_data_root(shared: Path, dest: Path) -> Path:
    """Links to a few photos of ../shared/data in its own layout (read-only: links, never copies)."""
    for folder, prefix in SUBSET:
        for f in (shared / folder).glob(f"*/{prefix}*"):
            link = dest / f.relative_to(shared)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(f)
    return dest


def test_vessel_stage_under_torchrun_keeps_both_ranks_identical(shared_data, tmp_path):
    data = small_data_root(shared_data, tmp_path / "data")
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), "CUDA_VISIBLE_DEVICES": ""}
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                          "--standalone", str(REPO / "tests" / "ddp_stage.py"), str(out), str(data)],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    r0, r1 = (torch.load(out / f"rank{r}_end.pt") for r in (0, 1))
    start = torch.load(out / "rank0_start.pt")
    assert r0.keys() == r1.keys() == start.keys()
    for k in r0:
        assert torch.equal(r0[k], r1[k]), f"ranks differ in {k}"
    assert any(not torch.equal(r0[k], start[k]) for k in r0), "training did not change the weights"
    assert (out / "models" / "vessel_unet.json").is_file()  # rank 0 shipped the model card as the stage does
