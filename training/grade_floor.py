"""Set the app's grade floor ("too dark to grade") from the grades of the training photos.

    python -m training.grade_floor [--write]

Every photo a grader passed (EyeQ training and tune patients graded Good or Usable, DRIMDB training
photos graded good, the clean sources' training photos) is measured as the Analyzer measures it: decoded
at its size, the field's 256 px square, the brightest channel over the visible field
(`measure.visible_brightness`; monochrome photos are left out, as the app leaves them alone). The floor
is the darkest of them, with no margin to choose: below it, every graded training photo was rejected. Validation photos never set it; `python -m training evaluate`
reports what it changes there (`app_*` figures of the quality model's card).
`--write` stores it in resources/advice/grade_floor.json, which `core.grade_floor` reads.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from riqa_desktop.core.analyzer import MEASURE_SIZE
from riqa_desktop.core.grade_floor import monochrome
from riqa_desktop.core.loading import read_image
from riqa_desktop.core.measure import measure_regions, visible_brightness
from riqa_desktop.core.preprocess import prepare

from .common import calibration_cli
from .multitask.views import MIN_SIDE
from .splits import clean_sources, drimdb, eyeq_thumbs

OUT = Path(__file__).resolve().parent.parent / "resources" / "advice" / "grade_floor.json"


def brightness_of(path: Path) -> float:
    """The visible field's brightness of one photo file, as the Analyzer measures it (NaN for a monochrome photo,
    which the floor leaves alone)."""
    img = read_image(path, min_side=MIN_SIDE)
    prep = prepare(img.rgb, (MEASURE_SIZE,), scale=img.scale, orig_size=img.original_size)
    sq = prep.squares[MEASURE_SIZE]
    return float("nan") if monochrome(sq) else visible_brightness(measure_regions(sq), prep.fov.visible_fraction)


def brightness_all(paths, desc: str = "brightness") -> np.ndarray:
    return np.array([brightness_of(p) for p in tqdm(paths, desc=desc, mininterval=20)])


def graded_training_photos(root: Path) -> list[tuple[Path, str, bool]]:
    """(photo, source, passed by its grader) for every graded photo training may see."""
    ey = eyeq_thumbs(root)
    out = [(p, "eyeq", g < 2) for split in ("train", "tune") for p, g, _ in ey[split]]
    out += [(p, "drimdb", lab == "good") for p, lab in drimdb(root)["train"] if lab != "outlier"]
    return out + [(p, "clean", True) for p in clean_sources(root)["train"]]


def calibrate(root: Path) -> dict:
    photos = graded_training_photos(root)
    b = brightness_all([p for p, _, _ in photos])
    colour = ~np.isnan(b)
    passed = np.array([ok for *_, ok in photos]) & colour
    darkest = int(np.flatnonzero(passed)[np.argmin(b[passed])])
    floor = float(round(b[darkest], 2))
    below = colour & (b < floor)
    sources = {s: [i for i, (_, src, _) in enumerate(photos) if src == s and colour[i]] for s in ("eyeq", "drimdb", "clean")}
    return {
        "brightness": floor,
        "measure": "measure.visible_brightness of the Analyzer's 256 px field square (brightest channel, 0-255, "
                   "over the visible field)",
        "evidence": {
            "darkest_passed_photo": f"{photos[darkest][1]}: {photos[darkest][0].name}",
            "graded_colour_photos": {s: len(ix) for s, ix in sources.items()},
            "monochrome_photos_left_out": int((~colour).sum()),
            "below_floor_rejected": int((below & ~passed).sum()),
            "below_floor_passed": int((below & passed).sum()),
            "darkest_passed_by_source": {s: float(round(b[[i for i in ix if passed[i]]].min(), 2))
                                         for s, ix in sources.items()},
        },
        "set_by": "python -m training.grade_floor --write",
        "created": time.strftime("%Y-%m-%d"),
    }


def main(argv=None) -> None:
    calibration_cli(argv, __doc__, OUT, calibrate)


if __name__ == "__main__":
    main()
