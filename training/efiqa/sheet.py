"""A PNG sheet of EFIQA maps over validation photos, to look at: does the map light up where the problem is?

Each example: the FOV square; the adapter's patch map (jet, red = degraded)
with the image score, and for synthetic examples the true region outlined in
white; the "vessels expected but missing" overlay (magenta).
`python -m training.efiqa.sheet --out runs/efiqa/maps.png`
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from riqa_desktop.core.preprocess import circle_mask
from riqa_desktop.models.efiqa import missing_vessels_map
from riqa_desktop.models.registry import load_model
from training.common import data_root
from training.degradations import LOCAL_KINDS
from training.splits import clean_sources, drimdb

from ..squares import fov_square
from .common import repo_path
from .degraded import BIG, local_variant
from .evaluate import patch_probs

TILE = 256


def _label(img: np.ndarray, text: str) -> np.ndarray:
    img = img.copy()
    cv2.putText(img, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def _overlay(sq: np.ndarray, heat: np.ndarray, colour=None, alpha: float = 0.5) -> np.ndarray:
    h = cv2.resize(heat.astype(np.float32), (TILE, TILE), interpolation=cv2.INTER_NEAREST if colour is None else cv2.INTER_LINEAR)
    if colour is None:
        col = cv2.cvtColor(cv2.applyColorMap((h * 255).astype(np.uint8), cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
        a = alpha * circle_mask(TILE)[..., None]
    else:
        col = np.broadcast_to(np.array(colour, np.uint8), sq.shape)
        a = (alpha * h)[..., None]
    return (sq * (1 - a) + col * a).astype(np.uint8)


def example(name: str, small: np.ndarray, big: np.ndarray, models, mask=None) -> np.ndarray:
    adapter, card, seg, vuad = models
    sq = cv2.resize(small, (TILE, TILE), interpolation=cv2.INTER_AREA)
    p = patch_probs(adapter, [small])[0]
    heat = _overlay(sq, p)
    if mask is not None:
        m = (cv2.resize(mask, (TILE, TILE)) >= 0.5).astype(np.uint8)
        contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(heat, contours, -1, (255, 255, 255), 2)
    verdict = "BAD" if p.mean() >= card["image_threshold"] else "ok"
    miss = missing_vessels_map(cv2.resize(big, (BIG, BIG), interpolation=cv2.INTER_AREA), seg, vuad)
    tiles = [_label(sq, name), _label(heat, f"score {p.mean():.2f} {verdict}"),
             _label(_overlay(sq, cv2.resize(miss, (TILE, TILE)), (255, 0, 255), 0.8), "vessels missing")]
    return np.concatenate(tiles, axis=1)


def make_sheet(root: Path, models_dir: Path, out: Path, cache_dir=None, n_bad: int = 8, n_good: int = 4, seed: int = 7):
    adapter, card = load_model("efiqa_adapter", models_dir)
    seg, seg_card = load_model("vessel_unet", models_dir)
    vuad, _ = load_model("efiqa_vuad", models_dir)
    models = (adapter, card, seg, vuad)
    s, ms = card["input_size"], seg_card["min_side"]
    val = drimdb(root)["val"]
    rows = []
    for lab, n in (("bad", n_bad), ("good", n_good)):
        for p, _ in [it for it in val if it[1] == lab][:n]:
            rows.append(example(f"DRIMDB {lab} {p.stem[-5:]}", fov_square(p, s, card["min_side"], cache_dir),
                                fov_square(p, BIG, ms, cache_dir), models))
    rng = np.random.default_rng(seed)
    goods = clean_sources(root)["val"]
    for i, kind in enumerate(LOCAL_KINDS * 2):
        big = fov_square(goods[(3 * i) % len(goods)], BIG, ms, cache_dir)
        deg, small, mask = local_variant(big, kind, rng, s)
        rows.append(example(f"synthetic {kind}", small, deg, models, mask))
    if len(rows) % 2:
        rows.append(np.zeros_like(rows[0]))
    pairs = [np.concatenate([rows[i], np.full((TILE, 8, 3), 255, np.uint8), rows[i + 1]], axis=1)
             for i in range(0, len(rows), 2)]
    sheet = np.concatenate(pairs, axis=0)
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="runs/efiqa/maps.png")
    ap.add_argument("--models-dir", default="resources/models")
    ap.add_argument("--data-root", default=None)
    a = ap.parse_args()
    print(make_sheet(data_root({"data_root": a.data_root}), repo_path(a.models_dir), repo_path(a.out),
                     repo_path("runs/efiqa/cache")))


if __name__ == "__main__":
    main()
