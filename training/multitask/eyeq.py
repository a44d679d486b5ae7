"""Method A on real multi-camera grades: EyeQ_thumbs200 + DRIMDB + synthetic defects (model 2.x).

Stages, each resumable under `runs/multitask/eyeq/`:
1. `bank`: every training view goes once through the frozen ImageNet trunk (`bank.py`):
   EyeQ train photos (3 views each: flip, rotation, recompression), EyeQ tune / val
   photos (the app's own square, unaugmented), synthetic defects from generator A
   (`training/degradations.py`) on EyeQ-good and clean-source training photos, DRIMDB
   training photos, non-fundus pictures; then, each in its own file, the same synthetic
   views from every generator in `bank.extra_generators` (C: `degradations_c.py`).
   Generator B (`degradations_physical.py`) is held out from every stage.
2. `teacher`: the top trained on the synthetic views' engine labels (details only).
3. `student`: the top trained on EyeQ's manual grade + DRIMDB + rule grades of synthetic
   views, the Teacher's soft detail labels on real photos (engine labels on synthetic
   ones), not-fundus, and the eye from EyePACS file names (a flip swaps it).
   `detail_weight: 0` (and no laterality) is the single-task baseline: same views, steps, seed.
Tune split: temperatures, grade class offsets, the laterality abstention threshold.
Validation patients are only ever measured (`report.py`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from riqa_desktop.core.calibration import probabilities
from riqa_desktop.models.multitask import DETAILS

from .. import degradations as A
from .. import degradations_c as C
from ..common import MetricsCSV, data_root, device_description, resume, save_checkpoint, start_run
from ..splits import clean_sources, drimdb, eyeq_thumbs
from .bank import BANK_BLOCKS, advance, freeze_trunk, set_train_top, top, top_predict, trunk
from .data import non_fundus_squares, split_non_fundus
from .net import new_model
from .views import app_squares, geometry, scale_and_compression, thumb_squares

GROUPS = ("eyeq", "synthetic", "drimdb", "non_fundus")
GENERATORS = {"A": A, "C": C}  # each with sample(square, rng, p_clean=) -> (square, kind, severity, labels, grade)


class Bank:
    """Trunk features plus per-view targets; -1 marks an unknown target."""

    FIELDS = ("feats", "grade", "grade_w", "nf", "det", "eye", "group", "split", "src")

    def __init__(self, start: int = BANK_BLOCKS, **arrays):
        self.start = start  # stages the features have been through
        for k in self.FIELDS:
            setattr(self, k, arrays[k])

    @classmethod
    def load(cls, path: Path) -> "Bank":
        z = np.load(path)
        return cls(**{k: z[k] for k in cls.FIELDS})

    @classmethod
    def joined(cls, banks: list["Bank"]) -> "Bank":
        return cls(banks[0].start, **{k: np.concatenate([getattr(b, k) for b in banks]) for k in cls.FIELDS})

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **{k: getattr(self, k) for k in self.FIELDS})
        tmp.replace(path)

    def where(self, group: str, split: str) -> np.ndarray:
        return np.flatnonzero((self.group == group) & (self.split == split))


def _rows(model, squares, group, split, grade, grade_w, nf, det, eye, src) -> dict:
    n = len(squares)
    return {"feats": trunk(model, squares), "grade": np.asarray(grade, np.int64).reshape(n),
            "grade_w": np.full(n, grade_w, np.float32), "nf": np.full(n, nf, np.float32),
            "det": np.asarray(det, np.float32).reshape(n, 3), "eye": np.asarray(eye, np.int64).reshape(n),
            "group": np.array([group] * n), "split": np.array([split] * n), "src": np.asarray(src, np.int64).reshape(n)}


def build_bank(cfg: dict, run_dir) -> Bank:
    """The bank (`bank.npz`, generator A's synthetic views) joined with each extra generator's views."""
    run = start_run(cfg, run_dir)
    banks = [_main_bank(cfg, run)] + [_generator_bank(cfg, run, g) for g in cfg["bank"].get("extra_generators", [])]
    return Bank.joined(banks) if len(banks) > 1 else banks[0]


def _main_bank(cfg: dict, run: Path) -> Bank:
    path = run / "bank.npz"
    if path.exists():
        return Bank.load(path)
    root, S, bc = data_root(cfg), cfg["input_size"], cfg["bank"]
    rng = np.random.default_rng(int(cfg["seed"]) + 11)
    model = new_model(cfg)
    parts = []
    ey = eyeq_thumbs(root)
    for split, items in ey.items():
        sq = thumb_squares([p for p, _, _ in items], S)
        grades, eyes = [g for _, g, _ in items], [1 if e == "R" else 0 for *_, e in items]
        src = np.arange(len(items))
        if split != "train":
            parts.append(_rows(model, sq, "eyeq", split, grades, 1.0, 0.0, np.full((len(sq), 3), -1), eyes, src))
            good = [i for i, g in enumerate(grades) if g == 0]
            if split == "tune":  # generator-A defects on tune photos: calibrate the detail heads
                xs, det, gr = _synthetic(sq[good], rng, 1)
                parts.append(_rows(model, xs, "synthetic", split, gr, 0.3, 0.0, det, -np.ones(len(xs)), np.repeat(good, 1)))
            continue
        for _ in range(bc["eyeq_views"]):
            xs, eye_v = [], []
            for s, e in zip(sq, eyes):
                v, flipped = geometry(s, rng)
                xs.append(scale_and_compression(v, rng, sharp=False))
                eye_v.append(1 - e if flipped else e)
            parts.append(_rows(model, np.stack(xs), "eyeq", split, grades, 1.0, 0.0, np.full((len(sq), 3), -1), eye_v, src))
        good = np.array([i for i, g in enumerate(grades) if g == 0])
        xs, det, gr = _synthetic(sq[good], rng, bc["eyeq_good_synthetic"], sharp=False)
        parts.append(_rows(model, xs, "synthetic", split, gr, 0.3, 0.0, det, -np.ones(len(xs)), np.repeat(good, bc["eyeq_good_synthetic"])))
    clean = app_squares(clean_sources(root)["train"], S)
    xs, det, gr = _synthetic(clean, rng, bc["clean_synthetic"], sharp=True)
    parts.append(_rows(model, xs, "synthetic", "train", gr, 0.3, 0.0, det, -np.ones(len(xs)),
                       np.repeat(np.arange(len(clean)), bc["clean_synthetic"])))
    d = [(p, lab) for p, lab in drimdb(root)["train"]]
    dsq = app_squares([p for p, _ in d], S)
    for k in range(bc["drimdb_views"]):
        xs = np.stack([scale_and_compression(geometry(s, rng)[0], rng, sharp=True) for s in dsq])
        grade = [-1 if lab == "outlier" else (0 if lab == "good" else 2) for _, lab in d]
        nf = np.array([lab == "outlier" for _, lab in d], np.float32)
        r = _rows(model, xs, "drimdb", "train", grade, 1.0, 0.0, np.full((len(xs), 3), -1), -np.ones(len(xs)), np.arange(len(d)))
        r["nf"] = nf
        parts.append(r)
    nfq = split_non_fundus(non_fundus_squares(S))["train"]
    for k in range(bc["non_fundus_views"]):
        xs = np.stack([geometry(s, rng)[0] for s in nfq])
        parts.append(_rows(model, xs, "non_fundus", "train", -np.ones(len(xs)), 0.0, 1.0, np.full((len(xs), 3), -1),
                           -np.ones(len(xs)), np.arange(len(xs))))
    bank = Bank(**{k: np.concatenate([p[k] for p in parts]) for k in Bank.FIELDS})
    bank.save(path)
    print({g: int((bank.group == g).sum()) for g in GROUPS}, "views; features", bank.feats.shape, flush=True)
    return bank


def advanced(bank: Bank, cfg: dict, bank_dir) -> Bank:
    """The bank moved on through every frozen stage (`frozen_blocks`), cached beside it."""
    frozen = int(cfg.get("frozen_blocks", BANK_BLOCKS))
    if frozen == bank.start:
        return bank
    path = Path(bank_dir) / f"feats_after_{frozen}_stages.npy"
    feats = np.load(path, mmap_mode="r") if path.exists() else None
    if feats is not None and len(feats) == len(bank.feats):  # else the bank grew (a generator added)
        feats = np.asarray(feats)
    else:
        feats = advance(new_model(cfg), bank.feats, frozen)
        np.save(path.with_suffix(".tmp.npy"), feats)
        path.with_suffix(".tmp.npy").replace(path)
    return Bank(start=frozen, **{**{k: getattr(bank, k) for k in Bank.FIELDS}, "feats": feats})


def _generator_bank(cfg: dict, run: Path, name: str) -> Bank:
    """Generator `name`'s synthetic views of the same sources as generator A's (cached alone)."""
    path = run / f"synthetic_{name}.npz"
    if path.exists():
        return Bank.load(path)
    root, S, bc, gen = data_root(cfg), cfg["input_size"], cfg["bank"], GENERATORS[name]
    rng = np.random.default_rng([int(cfg["seed"]) + 11, ord(name)])
    model = new_model(cfg)
    parts = []
    for split, items in eyeq_thumbs(root).items():
        if split == "val":
            continue
        good = np.array([i for i, (_, g, _) in enumerate(items) if g == 0])
        sq = thumb_squares([items[i][0] for i in good], S)
        versions = 1 if split == "tune" else bc["eyeq_good_synthetic"]
        xs, det, gr = _synthetic(sq, rng, versions, sharp=False, gen=gen)
        parts.append(_rows(model, xs, "synthetic", split, gr, 0.3, 0.0, det, -np.ones(len(xs)), np.repeat(good, versions)))
    clean = app_squares(clean_sources(root)["train"], S)
    xs, det, gr = _synthetic(clean, rng, bc["clean_synthetic"], sharp=True, gen=gen)
    parts.append(_rows(model, xs, "synthetic", "train", gr, 0.3, 0.0, det, -np.ones(len(xs)),
                       np.repeat(np.arange(len(clean)), bc["clean_synthetic"])))
    bank = Bank(**{k: np.concatenate([p[k] for p in parts]) for k in Bank.FIELDS})
    bank.save(path)
    print(f"generator {name}: {len(bank.grade)} synthetic views", flush=True)
    return bank


def _synthetic(squares: np.ndarray, rng, versions: int, sharp: bool = False, gen=A):
    """A generator's defects (p_clean 0.2), each view also re-scaled / recompressed like the real photos."""
    xs, det, grade = [], [], []
    for sq in squares:
        for _ in range(versions):
            v = geometry(sq, rng)[0]
            img, _, _, lab, g = gen.sample(v, rng, p_clean=0.2)
            xs.append(scale_and_compression(img, rng, sharp=sharp))
            det.append([float(lab[a]) for a in DETAILS]), grade.append(g)
    return np.stack(xs), np.array(det, np.float32), np.array(grade)


# ---------------------------------------------------------------- training the top

def _bce(logit, target, mask):
    loss = F.binary_cross_entropy_with_logits(logit, target.clamp(0, 1), reduction="none")
    return (loss * mask).sum() / mask.sum().clamp(min=1)


def fit_top(cfg: dict, st: dict, run: Path, bank: Bank, targets: dict, weights: dict, mix: dict) -> tuple:
    """Train the top on bank views drawn by `mix` (group -> share); losses weighted by `weights`."""
    model = new_model(cfg)
    data_seed = int(st.get("data_seed", cfg["seed"]))  # another draw of batches and dropout from the same start
    if data_seed != int(cfg["seed"]):
        torch.manual_seed(data_seed)
    freeze_trunk(model, bank.start)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=st["lr"], weight_decay=st.get("weight_decay", 1e-4))
    total = st["epochs"] * st["steps_per_epoch"]
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: min(1.0, (i + 1) / 30) * 0.5 * (1 + math.cos(math.pi * i / total)))
    ckpt_path, start, row = run / "checkpoint.pt", 0, {}
    if ck := resume(ckpt_path, model=model, opt=opt, sched=sched):
        start, row = ck["epoch"] + 1, ck["row"]
        print(f"resuming {run} at epoch {start}")
    pools = {g: bank.where(g, "train") for g in mix if mix[g] > 0}
    names = list(pools)
    probs = np.array([mix[g] for g in names], float)
    probs /= probs.sum()
    tune = bank.where("eyeq", "tune")
    log = MetricsCSV(run / "metrics.csv")
    bs = cfg["batch_size"]
    for epoch in range(start, st["epochs"]):
        rng = np.random.default_rng([data_seed, epoch])
        set_train_top(model, bank.start)
        losses = []
        for _ in tqdm(range(st["steps_per_epoch"]), desc=f"{run.name} epoch {epoch}", mininterval=20):
            grp = rng.choice(len(names), size=bs, p=probs)
            idx = np.array([pools[names[g]][rng.integers(len(pools[names[g]]))] for g in grp])
            out = top(model, torch.from_numpy(bank.feats[idx]), bank.start)
            t = {k: torch.from_numpy(v[idx]) for k, v in targets.items()}
            parts = {}
            if weights.get("grade"):
                gw = t["grade_w"] * (t["grade"] >= 0)
                ce = F.cross_entropy(out["grade"], t["grade"].clamp(min=0), reduction="none")
                parts["grade"] = (ce * gw).sum() / gw.sum().clamp(min=1)
            if weights.get("not_fundus"):
                parts["not_fundus"] = _bce(out["not_fundus"], t["nf"], torch.ones_like(t["nf"]))
            if weights.get("details"):
                for j, a in enumerate(DETAILS):
                    parts[a] = _bce(out[a], t["det"][:, j], (t["det"][:, j] >= 0).float())
            if weights.get("laterality"):
                parts["laterality"] = _bce(out["laterality"], t["eye"].float(), (t["eye"] >= 0).float())
            loss = sum(weights[k if k in weights else "details"] * v for k, v in parts.items())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append({k: float(v.detach()) for k, v in parts.items()})
        row = {"epoch": epoch, "lr": sched.get_last_lr()[0], "trained_on": device_description(torch.device("cpu"))}
        row.update({f"loss_{k}": float(np.mean([p[k] for p in losses])) for k in losses[0]})
        if weights.get("grade"):
            pred = top_predict(model, bank.feats[tune], bank.start)["grade"].argmax(1)
            y = bank.grade[tune]
            row["tune_accuracy"] = float(np.mean(pred == y))
            row["tune_macro_f1"] = macro_f1(y, pred)
        log.log(row)
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
        save_checkpoint(ckpt_path, model=model.state_dict(), opt=opt.state_dict(), sched=sched.state_dict(), epoch=epoch, row=row)
    return model, row  # "trained_on" as recorded while training, also when resumed


def macro_f1(y, pred) -> float:
    from ..metrics import f1_per_class

    return float(np.mean(list(f1_per_class(y, pred, (0, 1, 2)).values())))


def run_teacher(cfg: dict, run_dir, bank: Bank):
    """Details only, from the engine labels of the synthetic (generator A) views."""
    targets = {"det": bank.det}
    return fit_top(cfg, cfg["teacher"], start_run(cfg, run_dir), bank, targets, {"details": 1.0}, {"synthetic": 1.0})


def student_targets(bank: Bank, teacher) -> dict:
    """Soft detail labels from the Teacher on real photos; engine labels stay on synthetic views."""
    det = bank.det.copy()
    real = np.flatnonzero(np.isin(bank.group, ("eyeq", "drimdb")) & (bank.nf == 0))
    if teacher is not None:
        out = top_predict(teacher, bank.feats[real], bank.start)
        det[real] = np.stack([probabilities(out[a]) for a in DETAILS], 1)
    return {"grade": bank.grade, "grade_w": bank.grade_w, "nf": bank.nf, "det": det, "eye": bank.eye}


def run_student(cfg: dict, run_dir, bank: Bank, teacher, single_task: bool = False):
    st = cfg["student"]
    if single_task:
        weights = {"grade": 1.0, "not_fundus": 1.0}
    else:
        weights = {"grade": 1.0, "not_fundus": 1.0, "details": st["detail_weight"], "laterality": st["laterality_weight"]}
    targets = student_targets(bank, None if single_task else teacher)
    return fit_top(cfg, st, start_run(cfg, run_dir), bank, targets, weights, st["mix"])
