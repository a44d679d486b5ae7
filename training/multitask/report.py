"""Every number the 2.x card states, measured through the app's own path on photos never trained on.

- EyeQ validation patients: accuracy, macro-F1, per-class F1, quadratic weighted kappa, ECE;
  laterality accuracy where it answers and how often it answers; photos whose picture
  confidently shows the other eye than the EyePACS name; coverage per grade; what the app answers once
  the disc check has had its say, and how many photos show the disc on the other side (stored inverted).
- The eye on other cameras: CHASE_DB1 (names give it); HRF, DRIVE, DRIMDB good against the disc's side;
  how much the eye rests on the field's edge (the edge blanked: EyeQ against the names, HRF against the disc).
- DRIMDB validation: F1 per class (good / bad / outlier).
- What the app grades (`app_*`): the same files through the Analyzer, once `core.grade_floor` has made every field
  darker than any photo graders passed Reject (`python -m training.grade_floor`, set on training photos only) and
  `core.grade_cap` has kept Good from photos whose map marks a large part of the field; how many each rule lowered.
- Held-out generator B (`degradations_physical.py`, never trained on): per kind, the share of
  clearly degraded photos whose family's head flags them; clean photos left alone.
- The app on other cameras (`app_heldout`): HRF / DRIVE / CHASE_DB1 / DRIMDB good validation photos at 512 px, clean
  and degraded by generator B: the share it does not call Good per kind, beside the model alone; Good photos it keeps Good.
- Resolution: the grade of each HRF / DRIMDB / DRIVE / CHASE_DB1 validation photo against the
  grade of its 200 px, JPEG quality 75 copy (the thumbnails' treatment).
- Non-fundus validation pictures.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from riqa_desktop.core import grade_floor
from riqa_desktop.core.analyzer import THUMBNAIL_SIDE, thumbnail
from riqa_desktop.core.calibration import probabilities
from riqa_desktop.core.laterality import MIN_CONFIDENCE, EyeGuess, checked_by_disc, infer_from_image
from riqa_desktop.core.loading import read_image
from riqa_desktop.core.photo import LoadedImage
from riqa_desktop.models.multitask import DETAILS

from .. import degradations_physical as B
from ..metrics import ece, f1_per_class
from ..splits import clean_sources, drimdb, eyeq_thumbs
from .data import load_squares, non_fundus_squares, split_non_fundus
from .not_fundus import outer_eye_squares
from .bank import predict
from .views import MIN_SIDE, app_squares, thumb_squares

GRADES = ("good", "usable", "reject")
HELDOUT_PER_KIND = 160  # EyeQ-good validation photos per held-out kind (plus every clean-source validation photo)


def qwk(y, pred, k: int = 3) -> float:
    """Quadratic weighted Cohen's kappa."""
    y, pred = np.asarray(y), np.asarray(pred)
    o = np.zeros((k, k))
    np.add.at(o, (y, pred), 1)
    w = np.array([[(i - j) ** 2 for j in range(k)] for i in range(k)]) / (k - 1) ** 2
    e = np.outer(o.sum(1), o.sum(0)) / max(o.sum(), 1)
    return float(1 - (w * o).sum() / max((w * e).sum(), 1e-9))


def decide(out: dict, card: dict, i=slice(None)) -> dict:
    cal, thr = card.get("calibration", {}), card.get("thresholds", {})
    p = {h: probabilities(out[h][i], float(cal.get(h, 1.0))) for h in out}
    p["grade_pred"] = p["grade"].argmax(1)
    p["fundus"] = p["not_fundus"] < float(thr.get("not_fundus", 0.5))
    for a in DETAILS:
        p[f"{a}_bad"] = p[a] >= float(thr.get(a, 0.5))
    return p


def laterality_answer(p_right: np.ndarray, threshold: float) -> np.ndarray:
    """1 right, 0 left, -1 unknown (confidence below threshold)."""
    conf = np.maximum(p_right, 1 - p_right)
    return np.where(conf >= threshold, (p_right >= 0.5).astype(int), -1)


def eyeq_metrics(model, card: dict, root: Path, split: str = "val") -> dict:
    items = eyeq_thumbs(root)[split]
    x = thumb_squares([p for p, _, _ in items], card["input_size"])
    y = np.array([g for _, g, _ in items])
    eye = np.array([1 if e == "R" else 0 for *_, e in items])
    p = decide(predict(model, x), card)
    pred = p["grade_pred"]
    f1 = f1_per_class(y, pred, (0, 1, 2))
    m = {"eyeq_n": len(y), "eyeq_accuracy": float(np.mean(pred == y)), "eyeq_macro_f1": float(np.mean(list(f1.values()))),
         **{f"eyeq_f1_{GRADES[c]}": f1[c] for c in range(3)}, "eyeq_qwk": qwk(y, pred), "eyeq_ece": ece(p["grade"], y),
         "eyeq_not_fundus_calls": int((~p["fundus"]).sum())}
    app, _, rules = app_grades(app_analyzer(model, card), [q for q, _, _ in items])
    f1 = f1_per_class(y, app, (0, 1, 2))
    m.update({"app_eyeq_accuracy": float(np.mean(app == y)), "app_eyeq_macro_f1": float(np.mean(list(f1.values()))),
              **{f"app_eyeq_f1_{GRADES[c]}": f1[c] for c in range(3)},
              **{f"{rule}_eyeq_lowered": int(hit.sum()) for rule, hit in rules.items()},
              **{f"{rule}_eyeq_lowered_graded_{GRADES[c]}": int((hit & (y == c)).sum()) for rule, hit in rules.items()
                 for c in range(3)}})
    if "laterality" in p:
        ans = laterality_answer(p["laterality"], float(card["thresholds"].get("laterality", 0.5)))
        answered = ans >= 0
        m["laterality_coverage"] = float(answered.mean())
        m["laterality_accuracy_answered"] = float(np.mean(ans[answered] == eye[answered])) if answered.any() else float("nan")
        m["laterality_accuracy_forced"] = float(np.mean((p["laterality"] >= 0.5) == eye))
        conf_other = np.maximum(p["laterality"], 1 - p["laterality"]) >= 0.99
        m["laterality_confident_against_name"] = int(np.sum(conf_other & ((p["laterality"] >= 0.5) != eye)))
        for c in range(3):
            m[f"laterality_coverage_{GRADES[c]}"] = float(answered[y == c].mean())
        m.update(app_laterality(ans, [p for p, _, _ in items], eye))
        p_blanked, _ = _eye_answers(model, card, _edge_blanked(x))
        m["laterality_edge_masked_accuracy_forced"] = float(np.mean((p_blanked >= 0.5) == eye))
    return m


def app_laterality(ans: np.ndarray, paths: list, eye: np.ndarray) -> dict:
    """What the app answers (`core.laterality.checked_by_disc`: unknown where the disc clearly sits on
    the other side), and how many photos show their disc on the side opposite their name's eye:
    stored inverted or mirrored (counted where the disc guess is confident, so a lower bound)."""
    disc = _disc_guesses(paths)
    app = np.array([a if a >= 0 and checked_by_disc(EyeGuess("R" if a else "L", "model", 1.0), d).eye else -1
                    for a, d in zip(ans, disc)])
    seen, right = _disc_sides(disc)
    other = seen & (right != eye)
    answered = app >= 0
    return {"app_laterality_coverage": float(answered.mean()),
            "app_laterality_accuracy_answered": float(np.mean(app[answered] == eye[answered])) if answered.any() else float("nan"),
            "disc_confident_photos": int(seen.sum()), "disc_on_other_side_than_name": int(other.sum())}


EDGE_MASK = 0.8  # of the field's radius: the edge-reliance figures blank the picture outside it


def _edge_blanked(squares: np.ndarray) -> np.ndarray:
    """A copy with everything outside EDGE_MASK of the field's radius set to 0 (the cameras' notch and rim gone)."""
    S = squares.shape[1]
    yy, xx = np.mgrid[:S, :S]
    out = squares.copy()
    out[:, np.hypot(yy - (S - 1) / 2, xx - (S - 1) / 2) > EDGE_MASK * S / 2] = 0
    return out


def _eye_answers(model, card: dict, squares: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(calibrated P(right eye), answer 1 / 0 / -1) of the laterality head."""
    p = decide(predict(model, squares), card)["laterality"]
    return p, laterality_answer(p, float(card["thresholds"].get("laterality", 0.5)))


def _disc_guesses(paths) -> list:
    """The disc-based eye guess of each photo, from the thumbnail the app keeps."""
    return [infer_from_image(thumbnail(read_image(f).rgb, THUMBNAIL_SIDE)) for f in paths]


def _disc_sides(disc: list) -> tuple[np.ndarray, np.ndarray]:
    """(the disc clearly shows its side, that side is the right) per photo."""
    return np.array([d.confidence >= MIN_CONFIDENCE for d in disc]), np.array([d.eye == "R" for d in disc]).astype(int)


def laterality_other_camera(model, card: dict, root: Path) -> dict:
    """The eye on another camera's photos: all 28 CHASE_DB1 photos (disc-centred; names end in L / R)."""
    paths = sorted((root / "CHASEDB1").glob("*/images/*"))
    eye = np.array([1 if p.stem.endswith("R") else 0 for p in paths])
    p, ans = _eye_answers(model, card, app_squares(paths, card["input_size"]))
    answered = ans >= 0
    return {"chase_laterality_coverage": float(answered.mean()),
            "chase_laterality_accuracy_answered": float(np.mean(ans[answered] == eye[answered])) if answered.any() else float("nan"),
            "chase_laterality_accuracy_forced": float(np.mean((p >= 0.5) == eye)),
            **{f"chase_{k}": v for k, v in app_laterality(ans, paths, eye).items() if k.startswith("app_")}}


def laterality_against_disc(model, card: dict, root: Path) -> dict:
    """Other cameras without eye labels (HRF, DRIVE, DRIMDB good: every photo; the laterality head never
    saw them): where the head answers and the disc clearly shows its side, how often the two agree.

    In a photo stored as the camera shows it the disc lies on the nose side, so disagreement means
    the head (or the archive's storage) has the picture the other way round; the app then says unknown.
    """
    sources = {"hrf": sorted((root / "HRF" / "images").glob("*")), "drive": sorted((root / "DRIVE").glob("*/images/*")),
               "drimdb_good": [q for split in drimdb(root).values() for q, lab in split if lab == "good"]}
    m = {}
    for name, paths in sources.items():
        x = app_squares(paths, card["input_size"])
        _, ans = _eye_answers(model, card, x)
        seen, right = _disc_sides(_disc_guesses(paths))
        both = (ans >= 0) & seen
        m[f"laterality_{name}_head_and_disc_answer"] = int(both.sum())
        m[f"laterality_{name}_head_agrees_with_disc"] = float(np.mean(ans[both] == right[both])) if both.any() else float("nan")
        if name == "hrf":  # the camera the head reads the wrong way round: is the field's edge the cause?
            p_blanked, _ = _eye_answers(model, card, _edge_blanked(x))
            m["laterality_hrf_edge_masked_agrees_with_disc"] = float(np.mean((p_blanked >= 0.5)[seen] == right[seen])) \
                if seen.any() else float("nan")
    return m


APP_GRADES = (*GRADES, "not_fundus")
APP_RULES = ("grade_floor", "grade_cap")  # core modules that may lower the model's grade, named in `measurements`


def app_analyzer(model, card: dict):
    """The Analyzer as the app runs it, with this quality model and the shipped EFIQA adapter (no advice)."""
    from riqa_desktop.core.analyzer import Analyzer
    from riqa_desktop.models.registry import load_model

    return Analyzer(models={"quality": (model, card), "map": load_model("efiqa_adapter")}, device="cpu", advise=False)


def app_grades(an, images) -> tuple[np.ndarray, np.ndarray, dict]:
    """(what the app grades each photo, what its quality model graded it, per rule which photos the rule lowered),
    grades as indices of APP_GRADES; `images` are LoadedImages or files. The app's grade is the model's once
    `core.grade_floor` (too dark to grade) and `core.grade_cap` (never Good with a large part of the field
    marked) have had their say; each rule records the model's grade it replaced."""
    app, alone, hits = [], [], {r: [] for r in APP_RULES}
    for i in range(0, len(images), 16):
        chunk = [im if isinstance(im, LoadedImage) else read_image(im, an.min_side) for im in images[i:i + 16]]
        for a in an.assess_images(chunk):
            app.append(APP_GRADES.index(a.grade))
            fired = [r for r in APP_RULES if r in a.measurements]
            alone.append(APP_GRADES.index(a.measurements[fired[0]]["model_grade"]) if fired else app[-1])
            for r in APP_RULES:
                hits[r].append(r in fired)
    return np.array(app), np.array(alone), {r: np.array(h, bool) for r, h in hits.items()}


APP_HELDOUT_SIDE = 512


def app_heldout(model, card: dict, root: Path, seed: int = 4243) -> dict:
    """The app on other cameras' clean validation photos (HRF, DRIVE, CHASE_DB1, DRIMDB good), each as its field at
    APP_HELDOUT_SIDE px (what the app decodes: the models' inputs are reduced from it), and on
    the same photos degraded by generator B (never trained on), per kind: the share it does not call Good, beside
    the model alone; and the share of the photos the model calls Good that the app still calls Good."""
    rng = np.random.default_rng(seed)
    photos = load_squares(clean_sources(root)["val"], APP_HELDOUT_SIDE, MIN_SIDE)
    an = app_analyzer(model, card)
    views = {"clean": photos, **{k: np.stack([B.apply(sq, k, B.bad_severity(k, rng), rng) for sq in photos]) for k in B.KINDS}}
    m = {"app_heldout_n_photos": len(photos)}
    for kind, xs in views.items():
        app, alone, _ = app_grades(an, [LoadedImage(rgb=np.ascontiguousarray(x), original_size=x.shape[1::-1]) for x in xs])
        if kind == "clean":
            m["app_clean_good_kept"] = float(np.mean(app[alone == 0] == 0)) if (alone == 0).any() else float("nan")
            m["clean_model_good"] = float(np.mean(alone == 0))
        else:
            m[f"heldout_{kind}_model_not_good"] = float(np.mean(alone != 0))
            m[f"heldout_{kind}_app_not_good"] = float(np.mean(app != 0))
    return m


def drimdb_metrics(model, card: dict, root: Path) -> dict:
    d = drimdb(root)["val"]
    p = decide(predict(model, app_squares([q for q, _ in d], card["input_size"])), card)
    y = [lab for _, lab in d]
    app, _, rules = app_grades(app_analyzer(model, card), [q for q, _ in d])
    m = {"grade_floor_brightness": float(grade_floor.floor()["brightness"]),
         **{f"{rule}_drimdb_lowered": int(hit.sum()) for rule, hit in rules.items()}}
    for prefix, fundus, grades in (("", p["fundus"], p["grade_pred"]), ("app_", app < 3, app)):
        pred = ["outlier" if not f else ("bad" if g == 2 else "good") for f, g in zip(fundus, grades)]
        f1 = f1_per_class(y, pred, ("good", "bad", "outlier"))
        m.update({**{f"{prefix}drimdb_f1_{c}": f1[c] for c in f1},
                  f"{prefix}drimdb_accuracy": float(np.mean([a == b for a, b in zip(pred, y)]))})
    return m


def heldout_generator(model, card: dict, root: Path, seed: int = 4242) -> dict:
    """Generator B on validation photos: detection per kind, clean left alone."""
    rng = np.random.default_rng(seed)
    good = [p for p, g, _ in eyeq_thumbs(root)["val"] if g == 0]
    good = [good[i] for i in sorted(rng.choice(len(good), min(HELDOUT_PER_KIND, len(good)), replace=False))]
    base = np.concatenate([thumb_squares(good, card["input_size"]), app_squares(clean_sources(root)["val"], card["input_size"])])
    clean = decide(predict(model, base), card)
    flagged = np.zeros(len(base), bool)
    for a in DETAILS:
        flagged |= clean[f"{a}_bad"]
    m = {"heldout_n_photos": len(base), "heldout_clean_left_alone": float(1 - flagged.mean())}
    for kind, (family, _) in B.KINDS.items():
        xs = np.stack([B.apply(sq, kind, B.bad_severity(kind, rng), rng) for sq in base])
        p = decide(predict(model, xs), card)
        m[f"heldout_{kind}_detected"] = float(p[f"{family}_bad"].mean())
        m[f"heldout_{kind}_any_flag_or_not_good"] = float(np.mean(
            p["illumination_bad"] | p["clarity_bad"] | p["contrast_bad"] | (p["grade_pred"] != 0)))
    return m


def _thumbnail_copy(path: Path, out: Path) -> Path:
    """Longest side 200 px (Lanczos), JPEG quality 75: how EyeQ_thumbs200 was made."""
    im = Image.open(path).convert("RGB")
    im.thumbnail((200, 200), Image.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=75)
    out.write_bytes(buf.getvalue())
    return out


def resolution_agreement(model, card: dict, root: Path) -> dict:
    photos = clean_sources(root)["val"] + [p for p, lab in drimdb(root)["val"] if lab != "outlier"]
    full = decide(predict(model, app_squares(photos, card["input_size"])), card)["grade_pred"]
    with tempfile.TemporaryDirectory() as tmp:
        copies = [_thumbnail_copy(p, Path(tmp) / f"{i}.jpg") for i, p in enumerate(photos)]
        small = decide(predict(model, thumb_squares(copies, card["input_size"])), card)["grade_pred"]
    return {"resolution_n": len(photos), "resolution_agreement": float(np.mean(full == small)),
            "resolution_full_good": float(np.mean(full == 0)), "resolution_small_good": float(np.mean(small == 0))}


OUTER_EYE_VAL = 80  # rendered with the config's seed + 1: pictures the refit never saw


def non_fundus_recall(model, card: dict) -> dict:
    p = decide(predict(model, split_non_fundus(non_fundus_squares(card["input_size"]))["val"]), card)
    seed = int(card.get("config", {}).get("seed", 0)) + 1
    q = decide(predict(model, outer_eye_squares(OUTER_EYE_VAL, seed, card["input_size"])), card)
    return {"nonfundus_val_recall": float(np.mean(~p["fundus"])), "outer_eye_val_recall": float(np.mean(~q["fundus"]))}


def measure_all(model, card: dict, root: Path) -> dict:
    m = {}
    for fn in (eyeq_metrics, drimdb_metrics, heldout_generator, app_heldout, resolution_agreement):
        m.update(fn(model, card, root))
    m.update(non_fundus_recall(model, card))
    if "laterality" in card.get("calibration", {}):
        m.update(laterality_other_camera(model, card, root))
        m.update(laterality_against_disc(model, card, root))
    return m
