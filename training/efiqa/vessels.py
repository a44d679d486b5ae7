"""Stage 0: a small vessel-segmentation U-Net (DRIVE training + CHASE_DB1, manual masks).

EFIQA takes its vessel maps from an external segmenter we cannot download, so
we train one. It learns on the FOV squares the app makes (VESSEL_SIZE px) with
random scale, flips and right-angle rotations; it is validated on DRIVE's test
images at their native size, inside DRIVE's FOV masks, against both observers.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm import tqdm

from riqa_desktop.core.fov import detect_fov
from riqa_desktop.core.loading import read_image
from riqa_desktop.core.preprocess import square_crop
from riqa_desktop.models.efiqa import VESSEL_SIZE, segment_vessels, vessel_input
from riqa_desktop.models.registry import build_model, save_model
from training.common import (MetricsCSV, average_buffers, data_root, ddp_setup, device_description, resume,
                             save_checkpoint)

from ..metrics import auc
from .common import repo_path, wrap_ddp


def _gray(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L"))


def training_pairs(root: Path) -> list[tuple[Path, Path]]:
    """(photo, 1st-observer mask): DRIVE training (20) and all of CHASE_DB1 (28)."""
    pairs = [(p, root / "DRIVE/training/1st_manual" / f"{p.name.split('_')[0]}_manual1.gif")
             for p in sorted((root / "DRIVE/training/images").glob("*.tif"))]
    for split in ("training", "test"):
        for p in sorted((root / "CHASEDB1" / split / "images").glob("*.jpg")):
            pairs.append((p, root / "CHASEDB1" / split / "1st_manual" / f"{p.stem}_1stHO.png"))
    return pairs


def drive_test(root: Path) -> list[dict]:
    """DRIVE test photos with FOV mask and both observers' masks (native 565 x 584)."""
    out = []
    for p in sorted((root / "DRIVE/test/images").glob("*.tif")):
        n = p.name.split("_")[0]
        out.append({
            "rgb": read_image(p).rgb,
            "fov": _gray(root / "DRIVE/test/mask" / f"{n}_test_mask.gif") > 127,
            "obs1": _gray(root / "DRIVE/test/1st_manual" / f"{n}_manual1.gif") > 127,
            "obs2": _gray(root / "DRIVE/test/2nd_manual_png" / f"{n}_manual2.png") > 127,
        })
    return out


def load_training_squares(root: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """(segmenter input, soft vessel label) on the app's FOV square for every training pair."""
    out = []
    for img, mask in training_pairs(root):
        rgb = read_image(img).rgb
        fov = detect_fov(rgb)
        sq = square_crop(rgb, fov, VESSEL_SIZE)
        m = np.repeat(_gray(mask)[..., None], 3, axis=2)
        lab = square_crop(m, fov, VESSEL_SIZE)[..., 0].astype(np.float32) / 255.0
        out.append((vessel_input(sq), lab))
    return out


def sample_batch(data, batch: int, patch: int, scale: tuple[float, float], rng: np.random.Generator):
    """Random patches centred inside the FOV, rescaled, flipped, rotated, with contrast jitter."""
    xs, ys = [], []
    s = VESSEL_SIZE
    for _ in range(batch):
        x, y = data[rng.integers(len(data))]
        c = int(round(patch * rng.uniform(*scale)))
        r, a = 0.42 * s * np.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
        cx = int(np.clip(s / 2 + r * np.cos(a) - c / 2, 0, s - c))
        cy = int(np.clip(s / 2 + r * np.sin(a) - c / 2, 0, s - c))
        px = cv2.resize(x[cy:cy + c, cx:cx + c], (patch, patch), interpolation=cv2.INTER_LINEAR)
        py = cv2.resize(y[cy:cy + c, cx:cx + c], (patch, patch), interpolation=cv2.INTER_LINEAR)
        k = int(rng.integers(4))
        px, py = np.rot90(px, k), np.rot90(py, k)
        if rng.uniform() < 0.5:
            px, py = px[:, ::-1], py[:, ::-1]
        px = px * rng.uniform(0.8, 1.2) + rng.uniform(-0.1, 0.1)
        xs.append(np.ascontiguousarray(px))
        ys.append(np.ascontiguousarray(py))
    return torch.from_numpy(np.stack(xs))[:, None].float(), torch.from_numpy(np.stack(ys))[:, None].float()


def loss_fn(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """BCE for calibrated pixels plus soft Dice so thin vessels are not drowned by background."""
    p = torch.sigmoid(logits)
    dice = 1 - (2 * (p * target).sum() + 1) / (p.sum() + target.sum() + 1)
    return F.binary_cross_entropy_with_logits(logits, target) + dice


def evaluate_drive(model, test: list[dict], threshold: float = 0.5) -> dict:
    """AUC and accuracy inside DRIVE's FOV masks, against each observer; plus observer 2 vs 1."""
    model.eval()
    probs, o1, o2 = [], [], []
    for t in test:
        p = segment_vessels(t["rgb"], model)
        probs.append(p[t["fov"]])
        o1.append(t["obs1"][t["fov"]])
        o2.append(t["obs2"][t["fov"]])
    p, o1, o2 = np.concatenate(probs), np.concatenate(o1), np.concatenate(o2)
    return {
        "drive_auc_obs2": auc(o2, p), "drive_acc_obs2": float(((p > threshold) == o2).mean()),
        "drive_auc_obs1": auc(o1, p), "drive_acc_obs1": float(((p > threshold) == o1).mean()),
        "drive_acc_obs2_vs_obs1": float((o2 == o1).mean()),
    }


def best_threshold(model, data) -> float:
    """The accuracy-maximising threshold on the TRAINING squares (DRIVE test stays unseen)."""
    model.eval()
    ps, ys = [], []
    inside = None
    for x, y in data:
        with torch.no_grad():
            p = torch.sigmoid(model(torch.from_numpy(x)[None, None]))[0, 0].numpy()
        if inside is None:
            yy, xx = np.ogrid[:x.shape[0], :x.shape[1]]
            c = (x.shape[0] - 1) / 2
            inside = (xx - c) ** 2 + (yy - c) ** 2 <= (0.48 * x.shape[0]) ** 2
        ps.append(p[inside])
        ys.append(y[inside] > 0.5)
    p, y = np.concatenate(ps), np.concatenate(ys)
    grid = np.arange(0.2, 0.81, 0.02)
    return round(float(grid[np.argmax([((p > t) == y).mean() for t in grid])]), 2)


def run(cfg: dict, run_dir: Path) -> dict:
    c = cfg["vessels"]
    rank, world, device = ddp_setup()
    root = data_root(cfg)
    arch = {"in_ch": 1, "out_ch": 1, "base": c["base"], "depth": c["depth"], "norm": True}
    model, net = wrap_ddp(build_model("unet", **arch), world, device)
    opt = torch.optim.AdamW(model.parameters(), lr=c["lr"], weight_decay=1e-4)
    total = c["epochs"] * c["steps_per_epoch"]
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=c["lr"], total_steps=total, pct_start=0.05)
    ckpt_path = run_dir / "checkpoint.pt"
    ck = resume(ckpt_path, model=model, opt=opt, sched=sched)
    start, elapsed = ck.get("epoch", 0), ck.get("elapsed", 0.0)
    data = load_training_squares(root)
    test = drive_test(root)
    metrics = MetricsCSV(run_dir / "metrics.csv")
    rng = np.random.default_rng(int(cfg["seed"]) + 1000 * rank)
    for epoch in range(start, c["epochs"]):
        t0 = time.time()
        model.train()
        losses = []
        for _ in tqdm(range(c["steps_per_epoch"]), desc=f"vessels {epoch + 1}/{c['epochs']}", disable=rank != 0):
            rng = np.random.default_rng(rng.integers(1 << 62))
            x, y = sample_batch(data, c["batch"], c["patch"], tuple(c["scale"]), rng)
            loss = loss_fn(net(x.to(device)), y.to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        average_buffers(model, world)
        elapsed += time.time() - t0
        if rank == 0:
            m = evaluate_drive(model, test)
            metrics.log({"epoch": epoch + 1, "loss": float(np.mean(losses)), **m, "elapsed_s": elapsed})
            print(f"epoch {epoch + 1}: loss {np.mean(losses):.4f} " + " ".join(f"{k} {v:.4f}" for k, v in m.items()), flush=True)
            save_checkpoint(ckpt_path, model=model.state_dict(), opt=opt.state_dict(), sched=sched.state_dict(),
                            epoch=epoch + 1, elapsed=elapsed)
    if rank != 0:
        return {}
    thr = best_threshold(model, data)
    m = evaluate_drive(model, test, thr)
    card = {
        "family": "unet", "architecture": arch, "version": cfg.get("version", "1"),
        "input_size": VESSEL_SIZE, "min_side": cfg["vessel_min_side"],
        "preprocessing": "FOV square (riqa_desktop.core.preprocess.prepare) at input_size; input = CLAHE "
                         "(clip 2, 8x8 tiles) green channel scaled to [-1, 1] (riqa_desktop.models.efiqa.vessel_input); "
                         "output logits, sigmoid = vessel probability",
        "threshold": thr,
        "training_data": "DRIVE training (20 photos, 1st observer) + CHASE_DB1 training and test folders (28, 1st observer)",
        "split": "validated on DRIVE test (20) at native size inside the FOV masks; CHASE_DB1 and DRIVE training "
                 "photos are also among clean_sources()['val'] of other stages (they are good photos, used there "
                 "only as clean sources; the segmenter has seen their vessel masks)",
        "config": c, "trained_on": f"{device_description(device)}, {elapsed / 60:.1f} min",
        "metrics": {**{k: round(v, 4) for k, v in m.items()}, "threshold_from": "training squares (max accuracy)"},
        "targets": {"drive_auc_obs2": 0.97, "drive_acc_obs2": 0.947},
        "license_notes": "Weights trained on DRIVE (research/education only; the images are never shipped) and "
                         "CHASE_DB1 (CC BY 4.0, Fraz et al. 2012). Method after EFIQA (Wang et al., MIDL 2026, MIT).",
    }
    card = save_model(model, "vessel_unet", card, repo_path(cfg["models_dir"]))
    print(f"saved vessel_unet: {card['metrics']}", flush=True)
    return card["metrics"]
