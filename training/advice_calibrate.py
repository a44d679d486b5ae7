"""Set the advice's map thresholds on the calibration photos (training generators A and C only).

    python -m training.advice_calibrate [--write]

- baseline: the median smoothed EFIQA map of the clean photos (its macula / disc bias);
- weights: logistic regression of "cell changed by >= 25 %" on the per-cell
  features of `mapregions.features` (map, map over baseline, darker, whiter, less detail);
- region thresholds: per region, the q-quantile of that region's score on clean
  photos, one q for all regions: the largest detection of generator-A and -C defects
  while at most CLEAN_FIRE of clean photos get any region marked;
- cell threshold (the map's contour, "part of the field marked degraded"): best
  F1 of smoothed cells against cells the defect changed by at least a quarter;
- cause: dark ratio and whiteness gain that name shadow / reflex / blur best;
- occluder: the share of the field `measure.occluders` must find (dust, lashes) for
  the advice to name it: the lowest with at most OCCLUDER_CLEAN_FIRE of clean photos over it.
Generator B (`local_defects_b`) never calibrates: it only reports.
`--write` stores them in resources/advice/map_thresholds.json, which the app reads.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from riqa_desktop.core import mapregions as M

from .advice_maps import samples
from .common import calibration_cli

OCCLUDER_CLEAN_FIRE = 0.03
CLEAN_FIRE = 0.08  # share of clean photos allowed a marked region (target: >= 85 % left alone on report photos)
LARGE_SHARE = 0.25  # policy: a quarter of the field marked degraded is never "Good to grade"
CAUSE_A = {"sector_shadow": "dark", "lash_shadow": "dark", "edge_crescent": "dark", "glare_spot": "bright",
           "blur_region": "blur"}
CAUSE_C = {"lid_shadow": "dark", "edge_crescent": "dark", "glare_spot": "bright", "local_blur": "blur",
           "lash_shadow": "dark", "dust": "dark"}
CAUSE = {"A": CAUSE_A, "C": CAUSE_C}
OUT = Path(__file__).resolve().parent.parent / "resources" / "advice" / "map_thresholds.json"


def _cells(mask: np.ndarray, g: int) -> np.ndarray:
    return cv2.resize(mask, (g, g), interpolation=cv2.INTER_AREA)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-4, steps: int = 25) -> tuple[np.ndarray, float]:
    """Class-balanced L2 logistic regression by Newton's method (a few thousand cells: exact and fast)."""
    xb = np.hstack([x, np.ones((len(x), 1))]).astype(np.float64)
    w8 = np.where(y, 0.5 / max(y.mean(), 1e-6), 0.5 / max(1 - y.mean(), 1e-6))
    beta = np.zeros(xb.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(xb @ beta, -30, 30)))
        grad = xb.T @ (w8 * (p - y)) + l2 * len(x) * np.r_[beta[:-1], 0]
        hess = (xb * (w8 * p * (1 - p))[:, None]).T @ xb + l2 * len(x) * np.diag(np.r_[np.ones(len(beta) - 1), 0])
        beta -= np.linalg.solve(hess, grad)
    return beta[:-1], float(beta[-1])


def _region_scores(a, cal: dict) -> dict[str, float]:
    return M.evidence(a, cal).score


def calibrate(root: Path) -> dict:
    rows = [(gen, kind, mask, a) for _p, gen, kind, _sq, mask, a in samples(root, "calibrate")]
    clean = [r for r in rows if r[0] == "clean"]
    bad = [r for r in rows if r[0] != "clean"]
    g = rows[0][3].quality_map.grid.shape[0]
    inside = M._masks(g)["whole"]
    fields = [M.field_cells(M.looks(r[3], g), g) for r in rows]
    clean_maps = np.array([M.smoothed(r[3].quality_map.grid, f) for r, f in zip(rows, fields) if r[0] == "clean"])
    clean_fields = np.array([f for r, f in zip(rows, fields) if r[0] == "clean"])
    baseline = np.nan_to_num(np.nanmedian(np.where(clean_fields, clean_maps, np.nan), axis=0)) * inside
    xs, ys = [], []
    for (_gen, _kind, mask, a), field in zip(rows, fields):
        f = M.features(a.quality_map.grid, M.looks(a, g), baseline)
        xs.append(f[field])
        ys.append((np.zeros(field.sum()) if mask is None else _cells(mask, g)[field]) >= 0.25)
    x, y = np.concatenate(xs), np.concatenate(ys).astype(np.float64)
    w, b = fit_logistic(x, y)
    cal = {"baseline": np.round(baseline, 4).tolist(), "weights": [round(float(v), 4) for v in w],
           "bias": round(b, 4), "features": list(M.FEATURES), "region": {r: 1.0 for r in M.REGIONS},
           "cell": 0.5, "large_share": LARGE_SHARE, "dark_ratio": 0.8, "white_gain": 0.2}
    clean_s = [_region_scores(r[3], cal) for r in clean]
    bad_s = [_region_scores(r[3], cal) for r in bad]
    best = None
    for q in np.linspace(0.90, 1.0, 101):
        t = {r: float(np.quantile([c[r] for c in clean_s], q)) for r in M.REGIONS}
        if q == 1.0:
            t = {r: min(v * 1.05, 0.999) for r, v in t.items()}
        fire = np.mean([any(c[r] > t[r] for r in M.REGIONS) for c in clean_s])
        det = np.mean([any(c[r] > t[r] for r in M.REGIONS) for c in bad_s])
        if fire <= CLEAN_FIRE and (best is None or det > best[0]):
            best = (float(det), float(fire), float(q), t)
    det, fire, q, region_t = best
    cal["region"] = {r: round(v, 4) for r, v in region_t.items()}
    # Contour level of the EFIQA map itself: F1 of smoothed cells vs cells changed by >= 25 %.
    sm = np.concatenate([M.smoothed(r[3].quality_map.grid, f)[f] for r, f in zip(rows, fields)])
    truth = y > 0
    f1, cell_t = max((2 * ((sm > t) & truth).sum() / max((sm > t).sum() + truth.sum(), 1), float(t))
                     for t in np.linspace(0.1, 0.9, 81))
    cal["cell"] = round(cell_t, 3)
    # Cause: grid search on the generator-A / C photos whose defect marked some region.
    evs = [(M.evidence(r[3], cal), CAUSE[r[0]][r[1]]) for r in bad]
    evs = [(e, want) for e, want in evs if e.marked()]
    scored = []
    for dr in np.linspace(0.5, 0.95, 10):
        for wg in np.linspace(0.05, 0.4, 8):
            for e, _ in evs:
                e.cal = {**cal, "dark_ratio": float(dr), "white_gain": float(wg)}
            acc = np.mean([M.cause(e, e.marked()[0]) == want for e, want in evs]) if evs else 0.0
            scored.append((float(acc), -abs(dr - 0.8), float(dr), float(wg)))
    cause_acc, _, dr, wg = max(scored)
    cal.update(dark_ratio=round(dr, 3), white_gain=round(wg, 3))
    occ = lambda a: float(a.measurements["occluder"]["whole"])  # noqa: E731
    clean_occ = np.sort([occ(r[3]) for r in clean])
    k = int(np.floor(OCCLUDER_CLEAN_FIRE * len(clean_occ)))  # clean photos allowed over the threshold
    cal["occluder"] = round(float(clean_occ[len(clean_occ) - 1 - k]) + 1e-4, 4)
    occ_kind = defaultdict(list)
    for r in bad:
        if r[1] in ("lash_shadow", "dust"):
            occ_kind[f"{r[0]}:{r[1]}"].append(occ(r[3]) >= cal["occluder"])
    per_kind = defaultdict(list)
    for r, sc in zip(bad, bad_s):
        per_kind[f"{r[0]}:{r[1]}"].append(any(sc[k] > region_t[k] for k in M.REGIONS))
    cal["calibration"] = {
        "photos": "training.advice_maps.photo_set(root, 'calibrate'), generators A and C",
        "n_clean": len(clean), "n_defect": len(bad), "quantile": round(q, 3),
        "clean_fire": round(fire, 3), "detected": round(det, 3), "cell_f1": round(float(f1), 3),
        "cause_accuracy": round(float(cause_acc), 3),
        "detected_by_kind": {k: round(float(np.mean(v)), 3) for k, v in sorted(per_kind.items())},
        "occluder_clean_fire": round(float(np.mean(clean_occ >= cal["occluder"])), 3),
        "occluder_detected_by_kind": {k: round(float(np.mean(v)), 3) for k, v in sorted(occ_kind.items())},
    }
    return cal


def main(argv=None) -> None:
    calibration_cli(argv, __doc__, OUT, calibrate, lambda cal: {k: v for k, v in cal.items() if k != "baseline"})


if __name__ == "__main__":
    main()
