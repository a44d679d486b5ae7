"""Local defects and specific reasons: the figures of issue 13, on photos calibration never saw.

    python -m training.advice_eval --local      # generator A and held-out generator B, report photos
    python -m training.advice_eval --reasons    # shipped models on EyeQ / DRIMDB validation photos

Local: the EFIQA map + measurements, no quality model (its verdict is not what
is measured here). A defect is *detected* when a specific item (not Good /
Usable / Take it again) appears, its *region named* when such an item's region
holds at least a quarter of the defect's mask (or most of it); a clean photo is
*left alone* when no specific item appears.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from riqa_desktop.core.advice import GENERIC, advise
from riqa_desktop.core.measure import region_masks

from .advice_maps import SIZE, samples
from .metrics import auc
from .splits import drimdb, eyeq_thumbs

REGION_SHARE = 0.25
_MASKS = {r: m for r, m in region_masks(SIZE).items() if r in ("upper", "lower", "left", "right", "centre", "edge")}


def truth_regions(mask: np.ndarray) -> set[str]:
    """Regions holding >= REGION_SHARE of the defect, plus the one holding most ('edge' when most is on the rim)."""
    total = float(mask.sum())
    if total <= 0:
        return set()
    share = {r: float(mask[m].sum()) / total for r, m in _MASKS.items()}
    out = {r for r, s in share.items() if s >= REGION_SHARE and r != "edge"}
    out.add(max((r for r in share if r != "edge"), key=share.get))
    if share["edge"] >= 0.5:
        out.add("edge")
    return out


def specific(items) -> list:
    return [i for i in items if i.code not in GENERIC]


def local_report(root: Path) -> dict:
    counts = defaultdict(lambda: [0, 0, 0])  # (gen, kind) -> [n, detected, region named]
    pix = defaultdict(lambda: ([], []))  # generator -> (scores, labels) of pixels
    rng = np.random.default_rng(0)
    for _path, gen, kind, _sq, mask, a in samples(root, "report"):
        items = specific(advise(a))
        c = counts[(gen, kind)]
        c[0] += 1
        c[1] += bool(items)
        if mask is not None:
            truth = truth_regions(mask)
            c[2] += any(i.evidence.get("where") in truth for i in items)
            full = a.quality_map.full_size((SIZE, SIZE))
            inside = np.flatnonzero(_MASKS["upper"] | _MASKS["lower"] | _MASKS["left"] | _MASKS["right"] | _MASKS["centre"])
            pick = rng.choice(inside, 800, replace=False)
            pix[gen][0].append(full.ravel()[pick])
            pix[gen][1].append(mask.ravel()[pick] >= 0.5)
    n_clean, det_clean = counts[("clean", None)][:2]
    print(f"\nlocal defects on the report photos (EFIQA map + measurements, no quality model): "
          f"clean left alone {n_clean - det_clean}/{n_clean} = {1 - det_clean / max(n_clean, 1):.3f}")
    print(f"{'generator':9s} {'kind':14s} {'n':>4s} {'detected':>9s} {'region named':>13s}")
    for (gen, kind), (n, det, named) in sorted(counts.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        if gen != "clean":
            print(f"{gen:9s} {kind:14s} {n:4d} {det / n:9.3f} {named / n:13.3f}")
    for gen, (s, y) in sorted(pix.items()):
        print(f"EFIQA pixel AUROC, generator {gen}: {auc(np.concatenate(y), np.concatenate(s)):.3f}")
    return dict(counts)


def reasons_report(root: Path, eyeq_stride: int = 1) -> dict:
    """Share of Usable / Reject verdicts (of the shipped quality model) that carry a specific reason."""
    from riqa_desktop.core.analyzer import Analyzer

    an = Analyzer(device="cpu")
    sets = {"EyeQ val": [p for p, _, _ in eyeq_thumbs(root)["val"]][::eyeq_stride],
            "DRIMDB val": [p for p, _ in drimdb(root)["val"]]}
    out = {}
    for name, paths in sets.items():
        n = with_reason = 0
        codes = defaultdict(int)
        for i in range(0, len(paths), 16):
            for a in an.assess_loaded([an.load(p) for p in paths[i:i + 16]]):
                if a.ok and a.grade in ("usable", "reject"):
                    n += 1
                    sp = specific(a.advice)
                    with_reason += bool(sp)
                    for it in sp[:1]:
                        codes[it.code] += 1
        out[name] = (with_reason, n)
        top = ", ".join(f"{k} {v}" for k, v in sorted(codes.items(), key=lambda kv: -kv[1]))
        print(f"{name} ({len(paths)} photos): {with_reason}/{n} Usable/Reject verdicts with a specific reason"
              f" = {with_reason / max(n, 1):.3f}  [first reasons: {top}]")
    return out
