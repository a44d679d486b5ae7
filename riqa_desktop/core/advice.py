"""Turn an Assessment into at most three plain recapture instructions, most important first.

Two layers, so that each item is both justified and specific:
- *what* is wrong comes from the quality model (grade, illumination / clarity /
  contrast) or, without a model verdict, from a clearly abnormal measurement;
- *where* and *which kind* come from the per-sector measurements and the EFIQA
  map (a shadow from the top is the lid, from one side a crescent...); a region
  the map marks over its calibrated threshold (`core/mapregions`) is named even
  when the model calls the photo good, with its cause read from the photo there
  (dark: shadow or dust, white: a reflex, neither: blur).
Every Usable or Reject verdict names at least one specific reason: when no rule
fires, the model's weakest attribute where the map is worst.
Rules are pure functions of the Assessment (same photo, same advice), each
item names the outputs and values that triggered it, and conflicting causes
are resolved before wording (one exposure verdict, one sharpness verdict).
All wording comes from `resources/advice/<lang>.json`.

Thresholds were set on the validation photos with
`python -m training.advice_eval`, which prints each rule's fire rates.
"""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np

from . import mapregions as M
from .assessment import AdviceItem, Assessment
from .measure import visible_brightness

MAX_ITEMS = 3
SIDES = ("upper", "lower", "left", "right")
OPPOSITE = {"upper": "lower", "lower": "upper", "left": "right", "right": "left"}

# Brightness of the visible field (0-255, brightest channel).
DARK_STRONG, DARK_WITH_MODEL = 40.0, 95.0
BRIGHT_STRONG, BRIGHT_WITH_MODEL = 235.0, 200.0
GLARE_STRONG, GLARE_WITH_MODEL = 0.5, 0.25
# A side's brightness over its opposite side's; up to SHADOW_WITH_MAP when the
# map also shows that side worse than the rest by MAP_SIDE_EXCESS.
SHADOW_STRONG, SHADOW_WITH_MODEL, SHADOW_WITH_MAP, MAP_SIDE_EXCESS = 0.45, 0.65, 0.8, 0.15
# Mean edge brightness over centre brightness, for a dark ring all round.
RING_WITH_MODEL = 0.22
# A reflex is bluish white on a red fundus: blue's share of the brightest channel in
# the centre, and that share over the mid-field's.
GLARE_BLUE, GLARE_BLUE_RATIO, GLARE_BLUE_STRONG = 0.35, 1.1, 0.5
# Whole-field sharpness per unit brightness (x100) and contrast per unit brightness.
BLUR_STRONG = 0.45
HAZE_STRONG_CONTRAST = 0.05
# Marked regions with blur in this many places, two of them opposite sides, are blur all over;
# a blurred quadrant marks two neighbouring sides and the centre, and stays one region.
BLUR_REGIONS_ALL = 3
SEVERITY_BY_GRADE = {"reject": "critical", "usable": "warning", "good": "info"}
PRIORITY = ("not_fundus", "too_dark", "over_exposed", "upper_shadow", "edge_shadow", "edge_ring",
            "central_glare", "glare_spot", "blur_all", "haze_all", "blur_region", "lash_shadow", "dark_spot",
            "weak_light", "weak_focus", "weak_contrast", "retake")
GENERIC = ("good", "usable", "retake")
# Which whole-photo findings already explain a map region's cause.
EXPLAINS = {"dark": {"too_dark", "upper_shadow", "edge_shadow", "edge_ring"},
            "bright": {"central_glare", "over_exposed"}, "blur": {"blur_all", "haze_all"}}
WEAK = {"illumination": "weak_light", "clarity": "weak_focus", "contrast": "weak_contrast"}


@lru_cache(maxsize=4)
def texts(lang: str = "en") -> dict:
    """All wording (titles, actions, region words, comparison phrases) for `lang`."""
    from ..resources import resources_dir

    path = resources_dir() / "advice" / f"{lang}.json"
    if not path.is_file():
        path = resources_dir() / "advice" / "en.json"
    return json.loads(path.read_text(encoding="utf-8"))


def region_word(region: str, eye: str | None, lang: str = "en") -> str:
    """Photographer's word for a region; left/right become nasal/temporal when the eye is known."""
    if eye in ("R", "L") and region in ("left", "right"):
        # Seen from the front, the nose side is the right of the picture for a right eye.
        region = "nasal" if (region == "right") == (eye == "R") else "temporal"
    return texts(lang)["regions"].get(region, region)


def make_item(code: str, severity: str, region: str, evidence: dict, eye: str | None = None,
              lang: str = "en") -> AdviceItem:
    t = texts(lang)["items"][code]
    word = region_word(region, eye, lang)
    return AdviceItem(code=code, severity=severity, title=t["title"].format(region=word),
                      action=t["action"].format(region=word), region=word,
                      evidence={"where": region,
                                **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in evidence.items()}})


# ---------------------------------------------------------------- inputs

class _View:
    """The numbers the rules read, computed once per Assessment."""

    def __init__(self, a: Assessment):
        m = a.measurements or {}
        self.has_measure = "whole" in m
        self.grade = a.grade
        self.probs = a.grade_probs or {}
        self.attr = {k: v.p_bad for k, v in (a.attributes or {}).items()}
        self.bad = {k: not v.ok for k, v in (a.attributes or {}).items()}
        self.model = bool(self.attr)
        self.model_good = self.grade == "good"
        if not self.has_measure:
            return
        b = lambda r, k="brightness": float(m[r][k]) if r in m else float("nan")  # noqa: E731
        self.brightness = visible_brightness(m, (a.fov or {}).get("visible_fraction"))
        self.below_floor = "grade_floor" in m  # core.grade_floor lowered the verdict: too dark to grade
        self.glare = float(m.get("glare_fraction", 0.0))
        self.side = {s: b(s) for s in SIDES}
        self.centre = b("centre")
        self.edge = b("edge")
        self.rel_sharp = {r: 100 * b(r, "sharpness") / max(b(r), 1.0) for r in (*SIDES, "centre", "whole")}
        self.rel_contrast = b("whole", "contrast") / max(b("whole"), 1.0)
        self.map = M.evidence(a)

    def shadow_side(self) -> tuple[str, float]:
        """The darkest side and its brightness over the opposite side's."""
        ratios = {s: self.side[s] / max(self.side[OPPOSITE[s]], 1.0) for s in SIDES}
        s = min(ratios, key=ratios.get)
        return s, ratios[s]

    def allows_measure_only(self) -> bool:
        """Strong measurements speak on their own unless the model judged the photo good."""
        return not self.model_good


# ---------------------------------------------------------------- rules

def _exposure(v: _View, glare: bool) -> tuple[str, str, dict] | None:
    """At most one of too dark / over-exposed: they are opposite readings of one number.

    A central reflex already explains a too-bright photo, so it wins over "over-exposed".
    """
    illum = v.bad.get("illumination", False)
    ev = {"measurements.whole.brightness": v.brightness}
    if v.model:
        ev["attributes.illumination.p_bad"] = v.attr.get("illumination", 0.0)
    # "Too dark overall" only when even the best-lit side is dark; else it is a shadow.
    lit = max(v.side.values()) if v.side else v.brightness
    if v.below_floor or v.brightness < DARK_STRONG and v.allows_measure_only() \
            or illum and max(v.brightness, 0.6 * lit) < DARK_WITH_MODEL:
        return "too_dark", "whole", ev
    over = v.brightness > BRIGHT_STRONG or v.glare > GLARE_STRONG
    over_m = v.brightness > BRIGHT_WITH_MODEL or v.glare > GLARE_WITH_MODEL
    if not glare and (over and v.allows_measure_only() or illum and over_m):
        return "over_exposed", "whole", {**ev, "measurements.glare_fraction": v.glare}
    return None


def _shadows(v: _View, too_dark: bool) -> list[tuple[str, str, dict]]:
    """A dark side (lid from the top, crescent elsewhere) or a dark ring all round."""
    illum = v.bad.get("illumination", False)
    side, ratio = v.shadow_side()
    ev = {f"measurements.{side}.brightness": v.side[side],
          f"measurements.{OPPOSITE[side]}.brightness": v.side[OPPOSITE[side]], "ratio": ratio}
    if v.model:
        ev["attributes.illumination.p_bad"] = v.attr.get("illumination", 0.0)
    limit = SHADOW_STRONG if too_dark else SHADOW_WITH_MODEL
    if v.map is not None and not too_dark:
        excess = v.map.score[side] - float(np.mean([v.map.score[s] for s in SIDES if s != side]))
        if excess >= MAP_SIDE_EXCESS:
            limit = SHADOW_WITH_MAP
            ev[f"quality_map.{side}_over_others"] = excess
    if ratio < SHADOW_STRONG and v.allows_measure_only() or illum and ratio < limit:
        return [("upper_shadow" if side == "upper" else "edge_shadow", side, ev)]
    ring = v.edge / max(v.centre, 1.0)
    if illum and not too_dark and ring < RING_WITH_MODEL:
        return [("edge_ring", "edge", {"measurements.edge.brightness": v.edge,
                                       "measurements.centre.brightness": v.centre, "edge_over_centre": ring,
                                       "attributes.illumination.p_bad": v.attr.get("illumination", 0.0)})]
    return []


def _centre_colour(a: Assessment) -> tuple[float, float] | None:
    """(blue share in the centre, over the mid-field's) from the thumbnail, or None."""
    th = a.thumbnail
    if th is None or th.ndim != 3:
        return None
    h, w = th.shape[:2]
    if a.quality_map is not None:
        g = a.quality_map.geometry
        f = w / max(g.orig_width, 1)
        cx, cy, r = (g.x0 + g.side / 2) * f, (g.y0 + g.side / 2) * f, g.side / 2 * f
    else:  # no model geometry: the lit field's bounding box is close enough for two means
        ys, xs = np.nonzero(th[::2, ::2].max(axis=2) > 20)
        if xs.size < 50:
            return None
        x0, x1, y0, y1 = 2 * xs.min(), 2 * xs.max(), 2 * ys.min(), 2 * ys.max()
        cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) / 2
    step = max(1, int(r // 48))  # about 100 samples across: plenty for two means
    yy, xx = np.mgrid[0:h:step, 0:w:step]
    rr = np.hypot(xx - cx, yy - cy) / max(r, 1.0)
    px = th[::step, ::step].astype(np.float32) + 1.0
    blue = px[..., 2] / px.max(axis=2)
    centre, mid = rr < 0.35, (rr > 0.5) & (rr < 0.9)
    if centre.sum() < 10 or mid.sum() < 10:
        return None
    share = float(blue[centre].mean())
    return share, share / max(float(blue[mid].mean()), 1e-3)


def _central_glare(v: _View, a: Assessment) -> list[tuple[str, str, dict]]:
    """A reflex: a bluish-white haze over the centre of a red fundus."""
    model_says = v.bad.get("illumination") or v.bad.get("clarity") or v.bad.get("contrast")
    if not (model_says or v.allows_measure_only()):
        return []
    colour = _centre_colour(a)
    if colour is None:
        return []
    share, ratio = colour
    need = GLARE_BLUE if model_says else GLARE_BLUE_STRONG
    if share > need and ratio > GLARE_BLUE_RATIO:
        ev = {"thumbnail.centre_blue_share": share, "thumbnail.centre_over_midfield": ratio}
        if v.map is not None:
            ev["quality_map.centre"] = v.map.score["centre"]
        return [("central_glare", "centre", ev)]
    return []


def _map_regions(v: _View) -> list[tuple[str, str, dict]]:
    """An item per region the map marks, its cause read from the photo there; one item per code."""
    if v.map is None:
        return []
    found, blur = {}, []
    sides = [s for s in v.map.marked() if s in SIDES]
    if len(sides) >= 3 and v.map.ring_round() and all(M.cause(v.map, s) == "dark" for s in sides):
        found["edge_ring"] = ("edge_ring", "edge", {"quality_map.degraded_share": v.map.degraded_share, "cause": "dark"})
    causes = {r: _region_item(v, r) for r in v.map.marked()}
    bright = [r for r, (_, ev) in causes.items() if ev["cause"] == "bright"]
    for r in v.map.marked():
        code, ev = causes[r]
        if ev["cause"] == "blur" and any(_touches(v.map, r, b) for b in bright):
            continue  # a reflex's halo spills into the cells next to it: not blur of its own
        if ev["cause"] == "blur":
            blur.append(r)
        if ev["cause"] == "dark" and "edge_ring" in found:
            continue
        found.setdefault(code, (code, r, ev))
    across = any(s in blur and OPPOSITE[s] in blur for s in ("upper", "left"))
    if len(blur) >= BLUR_REGIONS_ALL and across:  # blurred in most places: the whole photo
        found.pop("blur_region", None)
        found["blur_all"] = ("blur_all", "whole", {"quality_map.blurred_regions": ",".join(blur), "cause": "blur"})
    return list(found.values())


def _occluders(m: dict, glare: bool) -> list[tuple[str, str, dict]]:
    """Dust on the lens or lashes in the beam (`measure.occluders`), over the share calibrated on clean photos.

    A reflex's halo and a shadow's edge also look darker than their surroundings, so
    those findings (the glare flag here, dark causes in `_merge`) take precedence.
    """
    t = M.thresholds().get("occluder")
    occ = m.get("occluder") or {}
    if t is None or glare or float(occ.get("whole", 0.0)) < float(t):
        return []
    region = max(("upper", "lower", "left", "right", "centre"), key=lambda r: float(occ.get(r, 0.0)))
    streak = float(m.get("occluder_streak", 0.0))
    return [("lash_shadow" if streak >= 0.5 else "dark_spot", region,
             {"measurements.occluder.whole": float(occ["whole"]), f"measurements.occluder.{region}": float(occ[region]),
              "measurements.occluder_streak": streak, "measurements.occluder_threshold": float(t), "cause": "dark"})]


def _touches(ev: M.MapEvidence, region: str, other: str) -> bool:
    """Every hot cell of `region` lies next to (or in) a hot cell of `other`."""
    a, b = ev.hot_cells(region), np.pad(ev.hot_cells(other), 1)
    g0, g1 = a.shape
    near = np.zeros_like(a)
    for dy in range(3):
        for dx in range(3):
            near |= b[dy:dy + g0, dx:dx + g1]
    return bool(a.any() and (a <= near).all())


def _region_item(v: _View, r: str) -> tuple[str, dict]:
    """The code for a degraded region by its look: dark (lid, crescent, dust), white (reflex) or blur."""
    c = M.cause(v.map, r)
    code = {"bright": "glare_spot", "blur": "blur_region"}.get(c) or (
        "upper_shadow" if r == "upper" else "edge_shadow" if M.at_rim(v.map, r) else "dark_spot")
    return code, {f"quality_map.{r}": v.map.score[r], f"quality_map.{r}_threshold": v.map.cal["region"][r],
                  "cause": c}


def _sharpness(v: _View) -> list[tuple[str, str, dict]]:
    """Haze (contrast lost) or blur everywhere."""
    clarity, contrast = v.bad.get("clarity", False), v.bad.get("contrast", False)
    ev = {"measurements.whole.sharpness_per_brightness": v.rel_sharp["whole"],
          "measurements.whole.contrast_per_brightness": v.rel_contrast}
    for k in ("clarity", "contrast"):
        if k in v.attr:
            ev[f"attributes.{k}.p_bad"] = v.attr[k]
    measure_blur = v.rel_sharp["whole"] < BLUR_STRONG and v.allows_measure_only()
    if contrast or measure_blur and v.rel_contrast < HAZE_STRONG_CONTRAST:
        return [("haze_all", "whole", ev)]
    if clarity or measure_blur:
        return [("blur_all", "whole", ev)]
    return []


def _merge(found: list, regional: list) -> list:
    """Add the map's items unless their region or kind is already named, keeping one per code.

    A cause the measurements already named (a shadow, a reflex, blur all over) is not
    repeated for other regions; on a photo blurred all over only reflexes are added;
    on a photo too dark all over the map's blur is the darkness (the clarity head still names real blur);
    a dark ring supersedes crescents.
    """
    codes = {c for c, _, _ in found}
    named = {r for _, r, _ in found}
    explained = {cause for cause, by in EXPLAINS.items() if codes & by}
    if codes & EXPLAINS["blur"]:  # blurred all over, the map is high everywhere: it locates only reflexes
        explained |= {"dark", "blur"}
    if "too_dark" in codes:  # too little light hides detail everywhere: the map cannot tell it from blur
        explained.add("blur")
    out = list(found)
    for code, region, ev in regional:
        if code in codes or region in named and region != "whole" or ev.get("cause") in explained:
            continue
        if code == "blur_region" and codes & {"blur_all", "haze_all"}:
            continue
        if code == "blur_all" and "haze_all" in codes:
            continue
        if code == "edge_shadow" and "edge_ring" in codes or code == "edge_ring" and "edge_shadow" in codes:
            continue
        out.append((code, region, ev))
        codes.add(code)
        named.add(region)
    if "blur_all" in codes:
        out = [f for f in out if f[0] != "blur_region"]
    return out


def _weakest(v: _View) -> tuple[str, str, dict] | None:
    """A specific reason for a Usable / Reject verdict no rule explained: the worst attribute, where the map is worst."""
    if not v.attr:
        return None
    attr = max(sorted(v.attr), key=lambda k: v.attr[k])
    ev = {f"attributes.{attr}.p_bad": v.attr[attr]}
    region = "whole"
    if v.map is not None:
        region = v.map.worst()
        ev[f"quality_map.{region}"] = v.map.score[region]
    return WEAK[attr], region, ev


def _verdict(v: _View, have_items: bool) -> tuple[str, str, dict] | None:
    """The closing word when no specific defect was found."""
    if v.grade is None:  # without a model verdict, no photo is declared good
        return None
    ev = {f"grade_probs.{v.grade}": float(v.probs.get(v.grade, 0.0))}
    if v.grade == "reject" and not have_items:
        return "retake", "whole", ev
    if v.grade == "usable" and not have_items:
        return "usable", "whole", ev
    if v.grade == "good" and not have_items:
        return "good", "whole", ev
    return None


def _large_part(v: _View) -> bool:
    return v.map is not None and v.map.degraded_share >= v.map.cal["large_share"]


# ---------------------------------------------------------------- entry point

def advise(a: Assessment, lang: str = "en") -> list[AdviceItem]:
    """At most three advice items, most important first (deterministic, < 5 ms)."""
    if not a.ok:
        return []
    if a.grade == "not_fundus":
        ev = {"grade_probs.not_fundus": float(a.grade_probs.get("not_fundus", 1.0))}
        if a.measurements.get("gate"):
            ev["gate"] = a.measurements["gate"]
        return [make_item("not_fundus", "critical", "whole", ev, lang=lang)]
    v = _View(a)
    found: list[tuple[str, str, dict]] = []
    regional: list[tuple[str, str, dict]] = []
    if v.has_measure:
        glare = _central_glare(v, a)
        regional = _map_regions(v)
        any_glare = bool(glare) or any(c == "glare_spot" for c, _, _ in regional)
        regional += _occluders(a.measurements, any_glare)
        exposure = _exposure(v, any_glare)
        if exposure:
            found.append(exposure)
        shadows = _shadows(v, bool(exposure) and exposure[0] == "too_dark")
        found += shadows + glare
        sharp = _sharpness(v)
        # Over- or under-exposure already explains lost contrast: do not also blame the eye's media.
        if not (exposure and sharp and sharp[0][0] == "haze_all"):
            found += sharp
        found = _merge(found, regional)
    if not found and (v.grade in ("usable", "reject") or _large_part(v)):
        weak = _weakest(v) if v.grade in ("usable", "reject") else None
        if weak is None and v.map is not None:  # a large part marked, no region over its threshold
            r = v.map.worst()
            code, ev = _region_item(v, r)
            weak = (code, r, {**ev, "quality_map.degraded_share": v.map.degraded_share})
        if weak:
            found.append(weak)
    closing = _verdict(v, bool(found))
    if closing:
        found.append(closing)
    found.sort(key=lambda f: PRIORITY.index(f[0]) if f[0] in PRIORITY else len(PRIORITY))
    severity = SEVERITY_BY_GRADE.get(v.grade or "", "warning")
    eye = None
    if any(r in ("left", "right") for _, r, _ in found[:MAX_ITEMS]):
        eye = a.eye()[0]
    items = []
    for code, region, ev in found[:MAX_ITEMS]:
        sev = "info" if code in ("good", "usable") else severity
        items.append(make_item(code, sev, region, ev, eye, lang))
    return items
