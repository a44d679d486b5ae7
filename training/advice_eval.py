"""How often each advice rule fires when it should and when it should not, on validation photos.

Photos: the validation clean sources (`splits.clean_sources`) degraded one kind
at a time (`training.degradations`, severity in the clearly-bad range, plus
clearly-mild versions that must stay silent), and DRIMDB validation photos.
Three sources of model outputs, so the rules can be judged apart from the models:
  measure  - no model: measurements only (what the engine says without weights);
  oracle   - attributes and grade from the degradation's label, map from its mask
             (the rules given perfect models);
  model    - the shipped models via `Analyzer` (when the weights exist).

    python -m training.advice_eval [--mode measure oracle model] [--laterality] [--detail]
    python -m training.advice_eval --sheet runs/advice_sheet.png [--mode model]
    python -m training.advice_eval --local --reasons   # issue 13's figures (training.advice_local_eval)
"""

from __future__ import annotations

import argparse
import glob
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from riqa_desktop.core.advice import advise
from riqa_desktop.core.assessment import Assessment, AttributeResult, QualityMap
from riqa_desktop.core.loading import LoadedImage, read_image
from riqa_desktop.core.measure import measure_regions
from riqa_desktop.core.preprocess import Geometry, prepare

from . import degradations as D
from .common import data_root
from .splits import clean_sources, drimdb

SIZE = 256
# kind -> (the rule that must fire, other rules that are also right for it).
EXPECT = {
    "underexposure": ("too_dark", {"edge_ring", "blur_all"}),
    "overexposure": ("over_exposed", {"haze_all", "blur_all"}),
    "edge_crescent": ("edge_shadow", {"upper_shadow", "edge_ring", "too_dark"}),
    "lid_shadow": ("upper_shadow", {"too_dark", "edge_ring"}),
    "lash_shadow": ("upper_shadow", {"too_dark"}),
    "central_glare": ("central_glare", {"haze_all", "blur_all", "over_exposed"}),
    "defocus": ("blur_all", set()),
    "motion": ("blur_all", set()),
    "haze": ("haze_all", {"blur_all"}),
    "low_contrast": ("haze_all", {"blur_all"}),
    "local:blur_region": ("blur_region", {"blur_all"}),
    "local:sector_shadow": ("edge_shadow", {"upper_shadow", "edge_ring", "too_dark"}),
}


def load_square(path: Path) -> tuple[np.ndarray, float]:
    img = read_image(path, min_side=SIZE * 2)
    prep = prepare(img.rgb, (SIZE,))
    return prep.squares[SIZE], prep.fov.visible_fraction


def assessment_for(square: np.ndarray, vis: float, path: str = "") -> Assessment:
    """A model-free Assessment: measurements and geometry of the square, as the Analyzer makes them."""
    a = Assessment(path=path)
    a.measurements = measure_regions(square)
    a.fov = {"visible_fraction": vis}
    a.thumbnail = square
    return a


def add_oracle(a: Assessment, kind: str | None, sev: float, mask: np.ndarray | None) -> None:
    """Perfect model outputs for a synthetic photo: its labels, grade and degradation mask."""
    if kind and kind.startswith("local:"):
        lab = {"illumination": "shadow" in kind, "clarity": "blur" in kind, "contrast": False}
        grade = 1
    else:
        lab = D.labels(kind, sev) if kind else {k: False for k in D.ATTRIBUTES}
        grade = D.synthetic_grade(kind, sev)
    a.attributes = {k: AttributeResult(ok=not bad, p_bad=0.9 if bad else 0.1) for k, bad in lab.items()}
    a.grade = ("good", "usable", "reject")[grade]
    a.grade_probs = {a.grade: 0.9}
    grid = np.full((16, 16), 0.1, np.float32)
    if mask is not None:
        grid = np.maximum(grid, cv2.resize(mask, (16, 16), interpolation=cv2.INTER_AREA))
    elif kind and any(lab.values()):
        grid[:] = 0.8
    a.quality_map = QualityMap(grid=grid, geometry=Geometry(0, 0, SIZE, SIZE, SIZE))


class ModelRunner:
    """The shipped models on a square (treated as the photo), as the app would run them."""

    def __init__(self):
        from riqa_desktop.core.analyzer import Analyzer

        self.an = Analyzer(device="cpu", advise=False)

    def fill(self, a: Assessment, square: np.ndarray) -> None:
        out = self.an.assess_images([LoadedImage(rgb=square, original_size=(SIZE, SIZE), path=a.path)])[0]
        out.thumbnail = square
        a.__dict__.update({k: getattr(out, k) for k in ("grade", "grade_probs", "attributes", "quality_map",
                                                         "quality_score", "measurements", "fov", "confidence")})


def samples(root: Path, seed: int = 0):
    """(group, kind or None, square, assessment-ready extras) for every evaluated photo."""
    rng = np.random.default_rng(seed)
    for path in clean_sources(root)["val"]:
        sq, vis = load_square(path)
        yield "clean", None, 0.0, sq, vis, None, str(path)
        for kind in D.GLOBAL_KINDS:
            if kind == "dust":
                continue
            lo = max(D.LABEL_THRESHOLDS[kind].values()) if kind == "overexposure" else min(D.LABEL_THRESHOLDS[kind].values())
            sev = float(rng.uniform(lo + D.AMBIGUOUS_BAND, 1.0))
            yield "bad", kind, sev, D.apply(sq, kind, sev, rng), vis, None, str(path)
            mild = float(rng.uniform(0.0, min(D.LABEL_THRESHOLDS[kind].values()) - D.AMBIGUOUS_BAND))
            yield "mild", kind, mild, D.apply(sq, kind, mild, rng), vis, None, str(path)
        for kind in ("blur_region", "sector_shadow"):
            out, mask = D.apply_local(sq, kind, rng)
            yield "bad", "local:" + kind, 1.0, out, vis, mask, str(path)
    for path, label in drimdb(root)["val"]:
        sq, vis = load_square(path)
        yield "drimdb_" + label, None, 0.0, sq, vis, None, str(path)


def evaluate(mode: str, root: Path) -> dict:
    runner = ModelRunner() if mode == "model" else None
    fired_should = defaultdict(lambda: [0, 0])  # rule -> [fired, photos that show its defect]
    fired_not = defaultdict(lambda: [0, 0])  # rule -> [fired, photos that do not]
    drim = defaultdict(lambda: defaultdict(int))
    by_kind = defaultdict(lambda: defaultdict(int))
    rules = sorted({e[0] for e in EXPECT.values()} | {"central_glare", "edge_ring", "good"})
    for group, kind, sev, sq, vis, mask, path in samples(root):
        a = assessment_for(sq, vis, path)
        if mode == "oracle" and not group.startswith("drimdb"):
            add_oracle(a, kind if group == "bad" else None, sev, mask)
        elif runner:
            runner.fill(a, sq)
        codes = {i.code for i in advise(a)}
        by_kind[f"{group}:{kind}"]["_n"] += 1
        for c in codes or {"(none)"}:
            by_kind[f"{group}:{kind}"][c] += 1
        if group.startswith("drimdb"):
            for c in codes or {"(none)"}:
                drim[group][c] += 1
            drim[group]["_n"] += 1
        should, ok = (EXPECT[kind][0], EXPECT[kind][1]) if group == "bad" else ("good", set())
        for r in rules:
            if r == should:
                fired_should[r][0] += r in codes
                fired_should[r][1] += 1
            elif r not in ok and not group.startswith("drimdb"):
                fired_not[r][0] += r in codes
                fired_not[r][1] += 1
    return {"should": fired_should, "not": fired_not, "drimdb": drim, "rules": rules, "by_kind": by_kind}


def report(res: dict, mode: str, detail: bool = False) -> None:
    print(f"\nadvice rules, mode={mode}: fires when it should / when it should not (validation photos)")
    print(f"{'rule':15s} {'should':>16s} {'should not':>16s}")
    for r in res["rules"]:
        s, n = res["should"][r], res["not"][r]
        fs = f"{s[0]}/{s[1]} {100 * s[0] / max(s[1], 1):5.1f}%" if s[1] else "-"
        fn = f"{n[0]}/{n[1]} {100 * n[0] / max(n[1], 1):5.1f}%"
        print(f"{r:15s} {fs:>16s} {fn:>16s}")
    groups = sorted(res["by_kind"].items()) if detail else sorted(res["drimdb"].items())
    for g, counts in groups:
        n = counts.pop("_n")
        print(f"{g} ({n} photos): " + ", ".join(f"{c} {k}" for c, k in sorted(((v, k) for k, v in counts.items()), reverse=True)))


def laterality_report(root: Path) -> None:
    """Accuracy of the disc-based eye guess on CHASE_DB1, whose names end in L or R."""
    from riqa_desktop.core.analyzer import thumbnail
    from riqa_desktop.core.laterality import MIN_CONFIDENCE, infer_from_image

    n = confident = right = forced_right = 0
    for f in sorted(glob.glob(str(root / "CHASEDB1" / "*" / "images" / "*"))):
        truth = Path(f).stem[-1].upper()
        g = infer_from_image(thumbnail(read_image(f, min_side=SIZE).rgb, SIZE))
        n += 1
        forced_right += g.eye == truth
        if g.confidence >= MIN_CONFIDENCE:
            confident += 1
            right += g.eye == truth
    print(f"\nlaterality on CHASE_DB1 ({n} photos, eye from the name): confident on {confident}, "
          f"right on {right} of those; forced choice right on {forced_right}/{n}")


def _wrap(text: str, width: int) -> list[str]:
    lines, cur = [], ""
    for w in text.split():
        if len(cur) + len(w) + 1 > width and cur:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    return lines + [cur] if cur else lines


def render_sheet(root: Path, out: Path, mode: str) -> Path:
    """Real validation photos with their advice printed under each (gitignored PNG)."""
    runner = ModelRunner() if mode == "model" else None
    rng = np.random.default_rng(2)
    tiles = []
    d = drimdb(root)["val"]
    picks = [p for p, lab in d if lab == "bad"][:5] + [p for p, lab in d if lab == "good"][:1]
    for p in picks:
        sq, vis = load_square(p)
        a = assessment_for(sq, vis, str(p))
        if runner:
            runner.fill(a, sq)
        tiles.append((sq, f"DRIMDB {p.parent.name.lower()} {p.stem} [{mode if runner else 'measure'}]", advise(a)))
    clean = clean_sources(root)["val"]
    for i, (kind, sev) in enumerate([("lid_shadow", 0.8), ("edge_crescent", 0.8), ("central_glare", 0.8),
                                     ("defocus", 0.6), ("haze", 0.7), ("underexposure", 0.7)]):
        sq, vis = load_square(clean[(i * 7) % len(clean)])
        dsq = D.apply(sq, kind, sev, rng)
        a = assessment_for(dsq, vis)
        if runner:
            runner.fill(a, dsq)
        else:
            add_oracle(a, kind, sev, None)
        tiles.append((dsq, f"{kind} {sev} [{mode if runner else 'oracle'}]", advise(a)))
    tile_w, text_h = 300, 150
    sheet = []
    for sq, name, items in tiles:
        canvas = np.full((tile_w + text_h, tile_w, 3), 255, np.uint8)
        canvas[:tile_w] = cv2.resize(sq, (tile_w, tile_w), interpolation=cv2.INTER_AREA)
        y = tile_w + 16
        cv2.putText(canvas, name[:44], (4, y), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (90, 90, 90), 1, cv2.LINE_AA)
        for it in items or []:
            colour = {"critical": (200, 0, 0), "warning": (190, 110, 0), "info": (0, 120, 0)}[it.severity]
            for j, line in enumerate(_wrap(f"{it.title}: {it.action}", 46)):
                y += 15
                cv2.putText(canvas, line, (4 + 8 * (j > 0), y), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1, cv2.LINE_AA)
        if not items:
            cv2.putText(canvas, "(no advice)", (4, y + 15), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        sheet.append(canvas)
    rows = [np.hstack(sheet[i:i + 4]) for i in range(0, len(sheet), 4)]
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=("measure", "oracle", "model"), nargs="+", default=["measure", "oracle"])
    ap.add_argument("--laterality", action="store_true")
    ap.add_argument("--detail", action="store_true", help="which rules fired, per degradation kind")
    ap.add_argument("--data-root")
    ap.add_argument("--sheet", metavar="PNG", help="render photos with their advice, e.g. runs/advice_sheet.png")
    ap.add_argument("--local", action="store_true", help="local defects, generators A and B, report photos")
    ap.add_argument("--reasons", action="store_true", help="specific reasons on EyeQ / DRIMDB validation verdicts")
    ap.add_argument("--eyeq-stride", type=int, default=1, help="--reasons on every n-th EyeQ validation photo")
    args = ap.parse_args(argv)
    root = data_root({"data_root": args.data_root} if args.data_root else None)
    if args.local or args.reasons:
        from .advice_local_eval import local_report, reasons_report

        if args.local:
            local_report(root)
        if args.reasons:
            reasons_report(root, args.eyeq_stride)
        return
    if args.sheet:
        print("sheet:", render_sheet(root, Path(args.sheet), args.mode[-1]))
        return
    for mode in args.mode:
        report(evaluate(mode, root), mode, args.detail)
    if args.laterality:
        laterality_report(root)


if __name__ == "__main__":
    main()
