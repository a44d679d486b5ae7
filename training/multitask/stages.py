"""The three stages of method A: `teacher`, `pseudolabel`, `multitask` (and its single-task baseline).

Teacher: learns illumination / clarity / contrast from synthetic degradations of
the clean sources that are not DRIMDB (HRF, DRIVE, CHASE_DB1 training photos),
labels from the degradation engine. Pseudolabel: the teacher labels the details
of a larger pool that has overall grades only: real DRIMDB training photos
(manual grade) and degraded DRIMDB-good / clean photos (grade from the engine's
rule). Multitask: an ImageNet backbone fine-tuned on the pool: grade from the
manual/rule labels, details from the teacher's soft pseudo-labels, not-fundus
from DRIMDB outliers + non-fundus pictures. `detail_weight: 0` gives the
single-task baseline on the same data, steps and seed.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from riqa_desktop.core.calibration import probabilities
from riqa_desktop.core.preprocess import to_tensor_batch
from riqa_desktop.models.backbones import pretrained_backbone
from riqa_desktop.models.multitask import DETAILS, MultiTaskQuality
from riqa_desktop.models.registry import load_model, save_model

from .. import degradations as D
from ..common import MetricsCSV, data_root, ddp_setup, device_description, resume, save_checkpoint, start_run
from ..splits import clean_sources, drimdb
from .data import augment, load_squares, non_fundus_squares, split_non_fundus
from .validation import build_val_sets, collect_logits, metrics, predict

GRADE_OF = {"good": 0, "bad": 2}


def architecture(cfg: dict) -> dict:
    return {"backbone": cfg["backbone"], "dropout": cfg["dropout"], "mask_text": cfg.get("mask_text", True)}


def new_model(cfg: dict) -> MultiTaskQuality:
    """ImageNet-initialised backbone (efficientnet_lite0 from its package, others from a local file)."""
    name, weights = cfg["backbone"], cfg.get("backbone_weights")
    if name == "efficientnet_lite0" or weights:
        bb = pretrained_backbone(name, weights=weights, num_classes=0)
    else:
        print(f"note: no local weights for '{name}': random initialisation (nothing is downloaded)")
        bb = None
    return MultiTaskQuality(backbone=name, dropout=cfg["dropout"], mask_text=cfg.get("mask_text", True), backbone_module=bb)


def _fit(cfg: dict, stage: dict, run: Path, model, batch_fn, loss_fn, validate) -> dict:
    """Shared loop: fixed steps per epoch, cosine LR, metrics.csv, resumable checkpoint per epoch."""
    rank, world, device = ddp_setup()
    model.to(device)
    net = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    opt = torch.optim.AdamW(model.parameters(), lr=stage["lr"], weight_decay=stage.get("weight_decay", 1e-4))
    total = stage["epochs"] * stage["steps_per_epoch"]
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: min(1.0, (i + 1) / 20) * 0.5 * (1 + math.cos(math.pi * i / total)))
    ckpt_path, start, row = run / "checkpoint.pt", 0, {}
    if ckpt := resume(ckpt_path, model=model, opt=opt, sched=sched):
        start, row = ckpt["epoch"] + 1, ckpt["row"]
        print(f"resuming {run} at epoch {start}")
    log = MetricsCSV(run / "metrics.csv")
    bs = cfg["batch_size"] // world
    for epoch in range(start, stage["epochs"]):
        rng = np.random.default_rng([int(cfg["seed"]), epoch, rank])
        net.train()
        losses = []
        for _ in tqdm(range(stage["steps_per_epoch"]), desc=f"{run.name} epoch {epoch}", disable=rank != 0, mininterval=10):
            x, tgt = batch_fn(rng, bs)
            loss, parts = loss_fn(net(x.to(device)), {k: v.to(device) for k, v in tgt.items()})
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(parts)
        if rank == 0:
            row = {"epoch": epoch, "lr": sched.get_last_lr()[0]}
            row.update({k: float(np.mean([p[k] for p in losses])) for k in losses[0]})
            row.update(validate(model))
            log.log(row)
            print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
            save_checkpoint(ckpt_path, model=model.state_dict(), opt=opt.state_dict(), sched=sched.state_dict(), epoch=epoch, row=row)
    return {**row, "trained_on": device_description(device)}


def _bce(logit, target, mask=None):
    loss = F.binary_cross_entropy_with_logits(logit, target.float(), reduction="none")
    if mask is None:
        return loss.mean()
    return (loss * mask).sum() / mask.sum().clamp(min=1)


# ---------------------------------------------------------------- teacher

def teacher_sources(root: Path) -> list[Path]:
    """Clean training photos that are not DRIMDB: the Teacher's small detail-labelled set."""
    return [p for p in clean_sources(root)["train"] if "DRIMDB" not in p.parts]


def run_teacher(cfg: dict, run_dir) -> dict:
    run = start_run(cfg, run_dir)
    root, S = data_root(cfg), cfg["input_size"]
    st = cfg["teacher"]
    photos = load_squares(teacher_sources(root), S, cfg["min_side"])
    vs = build_val_sets(root, S, cfg["min_side"], cfg["val_versions"])

    def batch_fn(rng, bs):
        xs, ys = [], []
        for _ in range(bs):
            sq, _, _, lab, _ = D.sample(augment(photos[rng.integers(len(photos))], rng), rng, p_clean=st["p_clean"])
            xs.append(sq), ys.append([float(lab[a]) for a in DETAILS])
        return to_tensor_batch(xs), {"details": torch.tensor(ys)}

    def loss_fn(out, t):
        parts = {a: _bce(out[a], t["details"][:, j]) for j, a in enumerate(DETAILS)}
        loss = sum(parts.values())
        return loss, {"loss": float(loss.detach())}

    def validate(m):
        lg = collect_logits(m, vs)
        return {k: v for k, v in metrics(vs, lg).items() if k.startswith("auc")}

    model = new_model(cfg)
    result = _fit(cfg, st, run, model, batch_fn, loss_fn, validate)
    save_model(model, "teacher", {"family": "multitask", "architecture": architecture(cfg), "metrics": result,
                                  "note": "training-side Teacher: only the detail heads are trained"}, run)
    return result


# ---------------------------------------------------------------- pseudo-labels

def run_pseudolabel(cfg: dict, run_dir, teacher_dir) -> dict:
    """Build the pool (real DRIMDB train + degraded clean photos) and the Teacher's soft detail labels."""
    run = start_run(cfg, run_dir)
    root, S = data_root(cfg), cfg["input_size"]
    pl = cfg["pseudolabel"]
    rng = np.random.default_rng(int(cfg["seed"]) + 1)
    real = [(p, lab) for p, lab in drimdb(root)["train"] if lab != "outlier"]
    xs = list(load_squares([p for p, _ in real], S, cfg["min_side"]))
    grade = [GRADE_OF[lab] for _, lab in real]
    engine = [[-1, -1, -1]] * len(real)  # unknown: real photos have no detail labels
    source = ["real"] * len(real)
    for sq in load_squares(clean_sources(root)["train"], S, cfg["min_side"]):
        for _ in range(pl["versions_per_photo"]):
            img, _, _, lab, g = D.sample(sq, rng, p_clean=pl["p_clean"])
            xs.append(img), grade.append(g), engine.append([int(lab[a]) for a in DETAILS]), source.append("synthetic")
    teacher, _ = load_model("teacher", Path(teacher_dir))
    x = np.stack(xs)
    logits = predict(teacher, x)
    soft = np.stack([probabilities(logits[a]) for a in DETAILS], 1).astype(np.float32)
    engine = np.array(engine)
    known = engine[:, 0] >= 0
    agreement = {a: float(np.mean((soft[known, j] >= 0.5) == engine[known, j])) for j, a in enumerate(DETAILS)}
    np.savez_compressed(run / "pool.npz", x=x, grade=np.array(grade), soft=soft, engine=engine, source=np.array(source))
    result = {"pool_size": len(x), "real": len(real), "teacher_agreement_with_engine": agreement}
    print(result)
    return result


# ---------------------------------------------------------------- multitask / single-task

def pool_sources(root: Path, cfg: dict) -> list[Path]:
    """Source photo of each pool entry, in the order `run_pseudolabel` wrote them."""
    real = [p for p, lab in drimdb(root)["train"] if lab != "outlier"]
    versions = cfg["pseudolabel"]["versions_per_photo"]
    return real + [p for p in clean_sources(root)["train"] for _ in range(versions)]


def pool_keep(root: Path, cfg: dict, n: int, held: set[Path]) -> np.ndarray:
    """Mask of pool entries not derived from a held-out photo (its real copy and its degradations)."""
    if not held:
        return np.ones(n, bool)
    sources = pool_sources(root, cfg)
    if len(sources) != n:
        raise ValueError(f"the pool has {n} entries, its config implies {len(sources)}: rebuild it")
    return np.array([p not in held for p in sources])


def run_multitask(cfg: dict, run_dir, pool_dir, holdout=None, validate=None) -> tuple[MultiTaskQuality, dict]:
    """Fine-tune on the pool. `holdout` (DRIMDB training photos) is left out of it, degraded copies
    included, for cross-validation (`select.py`), which then passes its own `validate`."""
    run = start_run(cfg, run_dir)
    root, S = data_root(cfg), cfg["input_size"]
    st = cfg["multitask"]
    pool = np.load(Path(pool_dir) / "pool.npz")
    px, pgrade, psoft, psource = pool["x"], pool["grade"], pool["soft"], pool["source"]
    held = {p for p, _ in holdout or ()}
    keep = pool_keep(root, cfg, len(px), held)
    groups = {g: np.flatnonzero((psource == g) & keep) for g in ("real", "synthetic")}
    outliers = load_squares([p for p, lab in drimdb(root)["train"] if lab == "outlier" and p not in held], S, cfg["min_side"])
    nonfundus = np.concatenate([outliers, split_non_fundus(non_fundus_squares(S))["train"]])
    mix = st["mix"]
    names, probs = list(mix), np.array([mix[k] for k in mix], float) / sum(mix.values())
    dw = float(st["detail_weight"])

    def batch_fn(rng, bs):
        xs, g, nf, det = [], [], [], []
        for _ in range(bs):
            grp = names[rng.choice(len(names), p=probs)]
            if grp == "non_fundus":
                xs.append(augment(nonfundus[rng.integers(len(nonfundus))], rng))
                g.append(-1), nf.append(1.0), det.append([-1.0] * 3)
            else:
                i = groups[grp][rng.integers(len(groups[grp]))]
                xs.append(augment(px[i], rng))
                g.append(int(pgrade[i])), nf.append(0.0), det.append(list(psoft[i]))
        return to_tensor_batch(xs), {"grade": torch.tensor(g), "nf": torch.tensor(nf), "details": torch.tensor(det)}

    def loss_fn(out, t):
        fundus = (t["grade"] >= 0).float()
        parts = {"grade": F.cross_entropy(out["grade"], t["grade"], ignore_index=-1) if fundus.any() else out["grade"].sum() * 0,
                 "not_fundus": _bce(out["not_fundus"], t["nf"])}
        for j, a in enumerate(DETAILS):
            parts[a] = _bce(out[a], t["details"][:, j].clamp(min=0), fundus)
        loss = parts["grade"] + parts["not_fundus"] + dw * sum(parts[a] for a in DETAILS)
        return loss, {"loss": float(loss.detach()), **{f"loss_{k}": float(v.detach()) for k, v in parts.items()}}

    if validate is None:
        vs = build_val_sets(root, S, cfg["min_side"], cfg["val_versions"])

        def validate(m):
            return metrics(vs, collect_logits(m, vs), details=dw > 0)

    model = new_model(cfg)
    result = _fit(cfg, st, run, model, batch_fn, loss_fn, validate)
    return model, result
