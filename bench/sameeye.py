"""`python -m bench.sameeye`: is a re-shot compared, and never a photo of another eye or person?

Builds a busy camera's day from the shared photos, with no metadata (the
hardest case; time never helps, each shot comes 20-40 s after the last):
EyeQ_thumbs200 patients photographed right eye then left eye (200-px
photos), and the full-resolution HRF / DRIVE / CHASE_DB1 / DRIMDB photos as
one eye each. Every eye gets a re-shot with probability `--p-reshoot`: the
retina shifted and rotated a little inside the camera's fixed field, and a
degradation from training/degradations.py (or none). Each first shot is also
degraded now and then, since a bad photo is what causes a re-shot.
Prints the pairwise counts of `same_eye` (each shot against the previous
RECENT, the shots `ReshootTracker` looks back at), the missed re-shots by
degradation, and what `ReshootTracker` did over the whole sequence.
Photos that show one eye under two names (`ONE_EYE`) count neither as
different eyes nor as re-shots.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np

from riqa_desktop.core.analyzer import thumbnail
from riqa_desktop.core.assessment import Assessment
from riqa_desktop.core.fov import detect_fov
from riqa_desktop.core.loading import PhotoMetadata, read_image
from riqa_desktop.core.preprocess import square_crop
from riqa_desktop.core.reshoot import RECENT, ReshootTracker
from riqa_desktop.core.sameeye import MATCH_SCORE, Shot, eye_print, match_score, same_eye
from training import degradations as D

BIG_SIDE = 1024  # full-resolution photos are re-shot at this FOV size, then thumbnailed as the app does
# Photos of the shared data that show one eye, checked by eye (one disc and vessel tree, moved a little):
# the EyePACS "left" and "right" of two patients (label errors) and DRIMDB's repeated shots.
ONE_EYE = ({"4127_left", "4127_right"}, {"26724_left", "26724_right"},
           *({f"drimdb_good ({n})" for n in group} for group in ((56, 57), (65, 66, 67), (93, 94), (95, 96), (124, 125))))


def one_eye(a: str, b: str) -> bool:
    """Whether eye ids `a` and `b` name one eye."""
    return a == b or any(a in g and b in g for g in ONE_EYE)


def reshoot(photo: np.ndarray, rng: np.random.Generator, p_clean: float) -> tuple[np.ndarray, str | None, tuple]:
    """The same retina moved (+-8 degrees, +-7 % of the field) inside the same field, then maybe degraded
    (the photo, the degradation's kind, and the movement: degrees, shift in % of the field)."""
    s = photo.shape[0]
    angle, shift = float(rng.uniform(-8, 8)), rng.uniform(-0.07, 0.07, 2)
    m = cv2.getRotationMatrix2D(((s - 1) / 2, (s - 1) / 2), angle, 1.0)
    m[:, 2] += shift * s
    moved = cv2.warpAffine(photo, m, (s, s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    outside = photo.max(axis=2) <= 10  # the camera's field stays where it is
    moved[outside] = 0
    degraded, kind = D.sample(moved, rng, p_clean=p_clean)[:2]
    return in_field(degraded, outside), kind, (abs(angle), 100 * float(np.hypot(*shift)))


def in_field(degraded: np.ndarray, outside: np.ndarray) -> np.ndarray:
    """The engine degrades its whole inscribed disc; light never reaches the frame outside the field."""
    degraded[outside] = 0
    return degraded


def field_square(path: Path, side: int | None) -> np.ndarray:
    rgb = read_image(path).rgb
    fov = detect_fov(rgb)
    return square_crop(rgb, fov, side or max(64, int(round(2 * fov.r))))


def eyes(root: Path, n_pairs: int, n_big: int, rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
    """(eye id, FOV square) in visiting order: EyeQ patients right then left, full-size photos mixed in."""
    names = sorted(os.listdir(root / "EyeQ_thumbs200" / "images"))
    by_patient: dict[str, set[str]] = {}
    for n in names:
        pid, side = n.rsplit(".", 1)[0].split("_")
        by_patient.setdefault(pid, set()).add(side)
    pids = [p for p in sorted(by_patient) if by_patient[p] == {"left", "right"}]
    chosen = rng.choice(pids, size=min(n_pairs, len(pids)), replace=False)
    visits = [[(f"{p}_{s}", field_square(root / "EyeQ_thumbs200" / "images" / f"{p}_{s}.jpeg", None))
               for s in ("right", "left")] for p in chosen]
    big = sorted((root / "HRF" / "images").glob("*")) + sorted((root / "DRIVE").glob("*/images/*")) + \
        sorted((root / "CHASEDB1").glob("*/images/*")) + sorted((root / "DRIMDB" / "Good").glob("*"))
    big = [big[i] for i in rng.choice(len(big), size=min(n_big, len(big)), replace=False)]
    visits += [[(f.stem, field_square(f, BIG_SIDE))] for f in big]
    order = rng.permutation(len(visits))
    return [e for i in order for e in visits[i]]


def sequence(root: Path, args) -> list[tuple[str, bool, str | None, tuple | None, Assessment]]:
    """(eye id, is a re-shot, degradation kind or None, movement or None, Assessment) in arrival order."""
    rng = np.random.default_rng(args.seed)
    out = []
    for eye, photo in eyes(root, args.pairs, args.big, rng):
        first, kind = D.sample(photo, rng, p_clean=0.5)[:2]
        shots = [(False, in_field(first, photo.max(axis=2) <= 10), kind, None)]
        if rng.uniform() < args.p_reshoot:
            shots.append((True, *reshoot(photo, rng, 0.2)))
        for is_reshot, img, kind, move in shots:
            a = Assessment(path=f"{eye}.jpg", grade="usable", metadata=PhotoMetadata())
            a.thumbnail = thumbnail(img, 256)
            out.append((eye, is_reshot, kind, move, a))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path(os.environ.get("RIQA_DATA", "../shared/data")))
    p.add_argument("--pairs", type=int, default=120, help="EyeQ patients (both eyes)")
    p.add_argument("--big", type=int, default=40, help="full-resolution photos (one eye each)")
    p.add_argument("--p-reshoot", type=float, default=0.6)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    cv2.setNumThreads(1)
    seq = sequence(args.data, args)
    t0 = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)
    times = [t0 + timedelta(seconds=30 * i) for i in range(len(seq))]
    t = time.process_time()  # CPU time: the development machine is shared with model training
    prints = [eye_print(a.thumbnail) for *_, a in seq]
    print_ms = (time.process_time() - t) / len(seq) * 1000
    shots = [Shot.of(a, when) for (*_, a), when in zip(seq, times)]
    assert all(np.array_equal(p, s.print) for p, s in zip(prints, shots) if p is not None)  # deterministic

    diff_scores, same_scores, false, checked, ms = [], [], 0, 0, []
    missed: Counter[str] = Counter()
    moves: dict[bool, list[tuple]] = {True: [], False: []}  # compared? -> movements of the re-shots
    for i, (eye, _, kind, move, _) in enumerate(seq):
        for j in range(max(0, i - RECENT), i):
            if seq[j][0] != eye and one_eye(seq[j][0], eye):
                continue
            t = time.process_time()
            score = match_score(shots[j].print, shots[i].print)
            ms.append((time.process_time() - t) * 1000)
            match = same_eye(shots[j], shots[i])
            if seq[j][0] == eye:
                same_scores.append(score)
                checked += match
                moves[match].append(move)
                if not match:
                    missed[f"{seq[j][2] or 'clean'} -> {kind or 'clean'}"] += 1
            else:
                diff_scores.append(score)
                false += match
    print(f"{len(seq)} photos: {sum(r for _, r, *_ in seq)} re-shots; eye print {print_ms:.1f} ms/photo, "
          f"print comparison mean {np.mean(ms):.1f} ms (CPU, 1 thread)")
    print(f"pairs (each photo vs the {RECENT} before): different eyes or people {len(diff_scores)}, "
          f"false matches {false}; re-shot pairs {len(same_scores)}, compared {checked} "
          f"({100 * checked / max(1, len(same_scores)):.1f} %)")
    print("missed re-shots (first shot -> re-shot degradation): "
          + (", ".join(f"{k} {n}" for k, n in sorted(missed.items(), key=lambda kv: (-kv[1], kv[0]))) or "none"))
    for name, k, edges in (("rotation (deg)", 0, (0, 2.5, 5, 8)), ("shift (% of the field)", 1, (0, 3, 6, 10))):
        def count(ms, lo, hi):
            return sum(lo <= m[k] < hi for m in ms)

        print(f"re-shots compared by {name}: " + ", ".join(
            f"{lo}-{hi} {count(moves[True], lo, hi)}/{count(moves[True] + moves[False], lo, hi)}"
            for lo, hi in zip(edges, edges[1:])))
    print(f"match score (same eye at >= {MATCH_SCORE}): different max {max(diff_scores, default=0)}, "
          f"p99 {np.percentile(diff_scores, 99):.0f}; re-shots p5 {np.percentile(same_scores, 5):.0f}, "
          f"p10 {np.percentile(same_scores, 10):.0f}, median {np.median(same_scores):.0f}")

    tracker, wrong, compared, n_reshots = ReshootTracker(), 0, 0, 0
    owner: dict[str, str] = {}  # eye group -> eye id of its first shot
    for ((eye, is_reshot, *_, a), when) in zip(seq, times):
        tracker.update(a, when)
        owner.setdefault(a.eye_group, eye)
        if a.comparison is not None:
            wrong += not one_eye(owner[a.eye_group], eye)
            compared += is_reshot and owner[a.eye_group] == eye
        n_reshots += is_reshot
    print(f"ReshootTracker over the sequence: comparisons across eyes or people {wrong}; "
          f"re-shots compared {compared}/{n_reshots} ({100 * compared / max(1, n_reshots):.1f} %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
