"""Stage 1 (VUAD): a residual U-Net learns to inpaint vessel maps of good photos.

Settings follow EFIQA's `vuad_default.yaml` (anchors.md 2.2) with the schedule
expressed as fractions of training (EFIQA: epochs 20..80 of 200 = 10 %..40 %):
grid g in [4, 32] of dropped cells, drop ratio drawn from [0.8, 1] early and
widening to [0, 1]; flips, full rotations and a random smaller circular FOV
whose probability rises from 0 to 0.5; MSE loss; AdamW. Our maps are the
1-channel vessel probability of our own segmenter at VUAD_SIZE.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from riqa_desktop.models.efiqa import VESSEL_FLOOR, VUAD_SIZE, inpaint, vessel_map
from riqa_desktop.models.registry import build_model, load_model, save_model
from training.common import MetricsCSV, data_root, ddp_setup, device_description, resume, save_checkpoint
from training.splits import clean_sources

from ..squares import fov_square
from .common import repo_path, schedule, wrap_ddp


def anomaly_map(vmap: np.ndarray, vuad_model) -> np.ndarray:
    """EFIQA's residual |x - y| on the un-masked map (1 channel, so no channel mean needed)."""
    return np.abs(inpaint(vmap, vuad_model) - vmap)


def patch_labels(diff: np.ndarray, grid: int, threshold: float = 0.02, fraction: float = 0.9) -> np.ndarray:
    """(grid, grid) bool: a patch is bad when >= `fraction` of its pixels exceed `threshold`."""
    bad = (diff > threshold).astype(np.float32)
    return cv2.resize(bad, (grid, grid), interpolation=cv2.INTER_AREA) >= fraction - 1e-6


def vessel_maps(paths, vessel_model, vessel_sha: str, cfg: dict) -> np.ndarray:
    """(N, VUAD_SIZE, VUAD_SIZE) float16 vessel maps of photos, cached per segmenter version."""
    cache = repo_path(cfg["cache_dir"])
    key = hashlib.sha1(("|".join(map(str, paths)) + f"{vessel_sha}|{VUAD_SIZE}|{VESSEL_FLOOR}").encode()).hexdigest()[:16]
    f = cache / f"vmaps_{key}.npy"
    if f.exists():
        return np.load(f)
    maps = np.stack([vessel_map(fov_square(p, 512, cfg["vessel_min_side"], cache), vessel_model).astype(np.float16)
                     for p in tqdm(paths, desc="vessel maps")])
    cache.mkdir(parents=True, exist_ok=True)
    np.save(f, maps)
    return maps


def random_fov(m: np.ndarray, ratio: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """EFIQA's RandomFOV: a smaller circle inside the FOV, cropped and blacked out around."""
    s = m.shape[0]
    r_o = s / 2
    r_n = r_o * rng.uniform(*ratio)
    d, a = (r_o - r_n) * np.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
    cx, cy = r_o + d * np.cos(a), r_o + d * np.sin(a)
    x0, y0 = int(max(0, cx - r_n)), int(max(0, cy - r_n))
    x1, y1 = int(min(s, cx + r_n)), int(min(s, cy + r_n))
    crop = m[y0:y1, x0:x1].copy()
    h, w = crop.shape
    yy, xx = np.ogrid[:h, :w]
    crop[((xx - (w - 1) / 2) / (w / 2)) ** 2 + ((yy - (h - 1) / 2) / (h / 2)) ** 2 > 1] = 0
    return cv2.resize(crop, (s, s), interpolation=cv2.INTER_LINEAR)


def augment(m: np.ndarray, fov_p: float, c: dict, rng: np.random.Generator) -> np.ndarray:
    if rng.uniform() < 0.5:
        m = m[:, ::-1]
    if rng.uniform() < 0.5:
        m = m[::-1]
    s = m.shape[0]
    rot = cv2.getRotationMatrix2D(((s - 1) / 2, (s - 1) / 2), rng.uniform(0, 360), 1.0)
    m = cv2.warpAffine(np.ascontiguousarray(m), rot, (s, s), flags=cv2.INTER_LINEAR, borderValue=0)
    if rng.uniform() < fov_p:
        m = random_fov(m, tuple(c["fov_ratio"]), rng)
    return m


def drop_cells(m: np.ndarray, ratio: tuple[float, float], grid_range, rng: np.random.Generator) -> np.ndarray:
    """EFIQA's progressive masking: keep = U(g x g) > r, nearest-upsampled."""
    g = int(rng.integers(grid_range[0], grid_range[1] + 1))
    keep = (rng.uniform(size=(g, g)) > rng.uniform(*ratio)).astype(np.float32)
    return m * cv2.resize(keep, m.shape[::-1], interpolation=cv2.INTER_NEAREST)


def batch(maps: np.ndarray, frac: float, c: dict, rng: np.random.Generator):
    lo = schedule(frac, *c["ramp"], c["drop_early"][0], c["drop_late"][0])
    hi = schedule(frac, *c["ramp"], c["drop_early"][1], c["drop_late"][1])
    fov_p = schedule(frac, *c["ramp"], 0.0, c["fov_p_max"])
    clean, masked = [], []
    for i in rng.integers(len(maps), size=c["batch"]):
        m = augment(maps[i].astype(np.float32), fov_p, c, rng)
        clean.append(m)
        masked.append(drop_cells(m, (lo, hi), c["grid_range"], rng))
    to_t = lambda a: torch.from_numpy(np.stack(a))[:, None]  # noqa: E731
    return to_t(masked), to_t(clean)


def validate(model, maps: np.ndarray, c: dict, seed: int, grid: int = 16) -> dict:
    """On held-out good maps: false alarms without masking; MSE and detection of half-dropped cells.

    Patch rates use EFIQA's rule (>= patch_fraction of pixels anomalous) on a
    grid x grid partition, counting only patches fully inside the FOV.
    """
    rng = np.random.default_rng(seed)
    th, fr = c["anomaly_threshold"], c["patch_fraction"]
    s = VUAD_SIZE
    disc = cv2.circle(np.zeros((s, s), np.uint8), (s // 2, s // 2), s // 2 - s // 32, 1, -1) > 0
    inside = cv2.resize(disc.astype(np.float32), (grid, grid), interpolation=cv2.INTER_AREA) >= 1
    false_px, false_patch, mse, hit_patch = [], [], [], []
    model.eval()
    for m in maps.astype(np.float32):
        d = anomaly_map(m, model)
        false_px.append((d > th)[disc].mean())
        false_patch.append(patch_labels(d, grid, th, fr)[inside].mean())
        keep_g = rng.uniform(size=(grid, grid)) > 0.5
        keep = cv2.resize(keep_g.astype(np.float32), (s, s), interpolation=cv2.INTER_NEAREST)
        y = inpaint(m * keep, model)
        mse.append(float(((y - m) ** 2).mean()))
        hit_patch.append(patch_labels(np.abs(y - m * keep), grid, th, fr)[inside & ~keep_g].mean())
    return {"val_clean_anomalous_px": float(np.mean(false_px)), "val_clean_bad_patches": float(np.mean(false_patch)),
            "val_dropped_bad_patches": float(np.mean(hit_patch)), "val_masked_mse": float(np.mean(mse))}


def run(cfg: dict, run_dir: Path) -> dict:
    c = cfg["vuad"]
    rank, world, device = ddp_setup()
    root = data_root(cfg)
    models_dir = repo_path(cfg["models_dir"])
    seg, seg_card = load_model("vessel_unet", models_dir)
    good = clean_sources(root)
    maps = vessel_maps(good["train"], seg, seg_card["sha256"], cfg)
    val_maps = vessel_maps(good["val"], seg, seg_card["sha256"], cfg)
    arch = {"in_ch": 1, "out_ch": 1, "base": c["base"], "depth": c["depth"], "norm": False}
    model, net = wrap_ddp(build_model("unet_res", **arch), world, device)
    opt = torch.optim.AdamW(model.parameters(), lr=c["lr"])
    ckpt_path = run_dir / "checkpoint.pt"
    ck = resume(ckpt_path, model=model, opt=opt)
    start, elapsed = ck.get("epoch", 0), ck.get("elapsed", 0.0)
    metrics = MetricsCSV(run_dir / "metrics.csv")
    total = c["epochs"] * c["steps_per_epoch"]
    for epoch in range(start, c["epochs"]):
        t0 = time.time()
        rng = np.random.default_rng([int(cfg["seed"]), epoch, rank])
        model.train()
        losses = []
        for step in tqdm(range(c["steps_per_epoch"]), desc=f"vuad {epoch + 1}/{c['epochs']}", disable=rank != 0):
            x, y = batch(maps, (epoch * c["steps_per_epoch"] + step) / total, c, rng)
            loss = F.mse_loss(net(x.to(device)), y.to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        elapsed += time.time() - t0
        if rank == 0:
            m = validate(model, val_maps, c, int(cfg["seed"]))
            metrics.log({"epoch": epoch + 1, "loss": float(np.mean(losses)), **m, "elapsed_s": elapsed})
            print(f"epoch {epoch + 1}: loss {np.mean(losses):.5f} " + " ".join(f"{k} {v:.4f}" for k, v in m.items()), flush=True)
            save_checkpoint(ckpt_path, model=model.state_dict(), opt=opt.state_dict(), epoch=epoch + 1, elapsed=elapsed)
    if rank != 0:
        return {}
    m = validate(model, val_maps, c, int(cfg["seed"]))
    card = {
        "family": "unet_res", "architecture": arch, "version": cfg.get("version", "1"),
        "input_size": VUAD_SIZE, "min_side": cfg["vessel_min_side"],
        "preprocessing": "vessel_unet probability of the 512 px FOV square, area-resized to input_size, 0 outside "
                         "the FOV (riqa_desktop.models.efiqa.vessel_map); output y = x + UNet(x); anomaly = |x - y|",
        "anomaly_threshold": c["anomaly_threshold"], "patch_fraction": c["patch_fraction"],
        "training_data": f"vessel maps of clean_sources()['train'] ({len(maps)} good photos: HRF, DRIVE, CHASE_DB1, DRIMDB good)",
        "split": f"validation: clean_sources()['val'] ({len(val_maps)} good photos), never trained on",
        "config": c, "trained_on": f"{device_description(device)}, {elapsed / 60:.1f} min",
        "metrics": {k: round(v, 4) for k, v in m.items()},
        "license_notes": "Method and settings after EFIQA (Wang et al., MIDL 2026, github penway/EFIQA, MIT). "
                         "Trained on maps of HRF (CC BY 4.0), CHASE_DB1 (CC BY 4.0), DRIVE (research only) and "
                         "DRIMDB (research use with citation) photos; no photo is shipped.",
    }
    card = save_model(model, "efiqa_vuad", card, models_dir)
    print(f"saved efiqa_vuad: {card['metrics']}", flush=True)
    return card["metrics"]
