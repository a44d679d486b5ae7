"""The same-eye rule: metadata when present, else time window + eye + vessel pattern; unsure = not the same."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import cv2
import numpy as np
import pytest

from riqa_desktop.core.analyzer import thumbnail
from riqa_desktop.core.assessment import Assessment
from riqa_desktop.core.fov import detect_fov
from riqa_desktop.core.loading import PhotoMetadata, read_image
from riqa_desktop.core.preprocess import square_crop
from riqa_desktop.core.reshoot import ReshootTracker
from riqa_desktop.core import imageops, sameeye
from riqa_desktop.core.sameeye import MATCH_SCORE, Shot, eye_print, match_score, same_eye
from riqa_desktop.core.store import ResultsStore
from training import degradations as D
from training.splits import clean_sources

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def field(rgb: np.ndarray, side: int = 512) -> np.ndarray:
    return square_crop(rgb, detect_fov(rgb), side)


def moved(photo: np.ndarray, angle: float, dx: float, dy: float) -> np.ndarray:
    """The retina rotated and shifted (fractions of the side) inside the camera's fixed field."""
    s = photo.shape[0]
    m = cv2.getRotationMatrix2D(((s - 1) / 2, (s - 1) / 2), angle, 1.0)
    m[:, 2] += (dx * s, dy * s)
    out = cv2.warpAffine(photo, m, (s, s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    out[photo.max(axis=2) <= 10] = 0
    return out


def scratched(photo: np.ndarray, shift_px: int = 0) -> np.ndarray:
    """The photo through a lens with faint scratches that stay put in the frame (moved by `shift_px`, as a
    re-crop of the frame moves them)."""
    lines = np.zeros(photo.shape[:2], np.float32)
    rng = np.random.default_rng(5)
    for _ in range(4):
        pts = (rng.uniform(0.2, 0.8, (4, 2)) * photo.shape[0]).astype(np.int32) + shift_px
        cv2.polylines(lines, [pts], False, 1.0, 8, cv2.LINE_AA)
    out = (photo * (1 - 0.3 * cv2.GaussianBlur(lines, (0, 0), 3))[..., None]).astype(np.uint8)
    out[photo.max(axis=2) <= 10] = 0
    return out


def photo(img: np.ndarray, name: str = "x.jpg", **meta) -> Assessment:
    a = Assessment(path=name, grade="usable", metadata=PhotoMetadata(**meta))
    a.thumbnail = thumbnail(img, 256)  # what the Analyzer keeps, whatever the photo's size
    return a


def shot(img: np.ndarray | None, seconds: float = 0, **meta) -> Shot:
    a = photo(img, **meta) if img is not None else Assessment(path="x", metadata=PhotoMetadata(**meta))
    return Shot.of(a, T0 + timedelta(seconds=seconds))


def unknown_eye(img: np.ndarray, seconds: float = 0) -> Shot:
    """A shot whose eye is unknown (no metadata, no clear disc): only the vessel print can tell."""
    return Shot(arrived=T0 + timedelta(seconds=seconds), print=eye_print(thumbnail(img, 256)))


@pytest.fixture(scope="module")
def retina_field(retina_rgb):
    return field(retina_rgb, 1024)


@pytest.mark.parametrize("kind,severity", [(None, 0.0), ("lid_shadow", 0.6), ("defocus", 0.5), ("haze", 0.5),
                                           ("underexposure", 0.6), ("underexposure", 0.95), ("lash_shadow", 0.8),
                                           ("motion", 0.6)])
def test_a_reshot_without_metadata_matches_despite_shadow_blur_and_movement(retina_field, kind, severity):
    reshot = moved(retina_field, 6.0, 0.04, -0.03)
    if kind:
        reshot = D.apply(reshot, kind, severity, np.random.default_rng(3))
    first = shot(retina_field)
    assert same_eye(first, shot(reshot, 40))
    assert same_eye(shot(reshot, 40), first)  # either may be the bad one


def test_the_block_search_is_template_matching_of_every_block(retina_field):
    # All blocks are correlated at once by FFT; each must find the shift that template matching finds.
    a, b = (eye_print(thumbnail(img, 256)).astype(np.float32)
            for img in (retina_field, moved(retina_field, 2.0, 0.03, -0.02)))
    s, size = sameeye.SEARCH, sameeye.BLOCK
    expected = []
    for y, x in sameeye._BLOCKS:
        blk = a[y: y + size, x: x + size]
        if np.count_nonzero(blk) >= 0.05 * size * size:
            r = imageops.match_template(b[y - s: y + size + s, x - s: x + size + s], blk)
            py, px = np.unravel_index(int(np.argmax(r)), r.shape)
            if r[py, px] > sameeye.BLOCK_MIN_NCC:
                expected.append([px - s, py - s])
    assert len(expected) > 20
    assert sameeye._shifts(a, b).tolist() == expected


def test_a_very_dark_photo_still_has_a_print(retina_field):
    # The field of an underexposed photo is only a few levels above the black frame.
    dark = D.apply(retina_field, "underexposure", 1.0, np.random.default_rng(0))
    assert dark.max() < 40
    assert eye_print(thumbnail(dark, 256)) is not None


@pytest.mark.parametrize("shift_px", [0, 8])
def test_lens_scratches_seen_in_two_eyes_do_not_make_them_one(retina_field, shift_px):
    # The scratches line up with the frames as they are (or re-cropped by a print pixel), the vessels
    # do not: that needs STILL_SCORE, which marks alone do not reach.
    first = unknown_eye(scratched(retina_field))
    other_eye = unknown_eye(scratched(np.ascontiguousarray(retina_field[:, ::-1]), shift_px), 30)
    assert not same_eye(first, other_eye)
    # A re-shot through the same lens: the retina moved, the scratches did not.
    assert same_eye(first, unknown_eye(scratched(moved(retina_field, 5.0, 0.04, -0.03)), 30))


def test_the_mirrored_eye_and_a_late_reshot_do_not_match(retina_field):
    first = shot(retina_field)
    assert not same_eye(first, shot(np.ascontiguousarray(retina_field[:, ::-1]), 30))
    assert not same_eye(first, shot(moved(retina_field, 3.0, 0.02, 0.0), 301))  # outside the time window


def test_other_people_never_match(shared_data):
    files = clean_sources(shared_data)["val"][::3][:10]
    shots = [shot(field(read_image(f).rgb), 30 * i) for i, f in enumerate(files)]
    assert all(s.print is not None for s in shots)
    matches = [(files[i].name, files[j].name) for i in range(len(shots)) for j in range(i)
               if same_eye(shots[j], shots[i])]
    assert matches == []


def test_left_and_right_eyes_of_one_patient_never_match(shared_data):
    folder = shared_data / "EyeQ_thumbs200" / "images"
    names = sorted(p.name for p in folder.glob("*_left.jpeg"))
    patients = [n.split("_")[0] for n in names if (folder / n.replace("_left", "_right")).is_file()][:12]
    for p in patients:
        left, right = (read_image(folder / f"{p}_{s}.jpeg") for s in ("left", "right"))
        assert right.metadata.laterality == "R"  # from the EyePACS file name
        # Names withheld: only the pictures can tell; with names, the eye alone does.
        assert not same_eye(shot(left.rgb), shot(right.rgb, 30)), p
        assert not same_eye(shot(left.rgb, laterality="L"), shot(right.rgb, 30, laterality="R"))


def test_metadata_decides_when_present(retina_field):
    dicom = {"patient_id": "P1", "laterality": "R", "laterality_source": "dicom"}
    first = shot(None, acquired="2026-03-02T10:00:00", **dicom)
    assert same_eye(first, shot(None, acquired="2026-03-02T10:02:00", **dicom))  # no picture needed
    assert not same_eye(first, shot(None, acquired="2026-03-02T10:30:00", **dicom))  # too late
    # The same picture under another patient or eye is not compared (metadata outranks the print).
    a = shot(retina_field, **dicom)
    assert not same_eye(a, shot(retina_field, 10, **{**dicom, "patient_id": "P2"}))
    assert not same_eye(a, shot(retina_field, 10, **{**dicom, "laterality": "L"}))


def test_unsure_means_no_match(retina_field):
    black = np.zeros((300, 300, 3), np.uint8)
    grey = np.full((300, 300, 3), 128, np.uint8)
    assert eye_print(black) is None and eye_print(None) is None and eye_print(grey[..., 0]) is None
    assert eye_print(grey[:10, :10]) is None
    assert match_score(None, eye_print(thumbnail(retina_field, 256))) == 0
    assert match_score(np.zeros((5, 5), np.uint8), np.zeros((5, 5), np.uint8)) == 0
    assert not same_eye(shot(black), shot(black, 10))
    assert not same_eye(shot(grey), shot(grey, 10))


def test_prints_are_deterministic(retina_field):
    t = thumbnail(retina_field, 256)
    p1, p2 = eye_print(t), eye_print(t.copy())
    assert np.array_equal(p1, p2)
    other = eye_print(thumbnail(moved(retina_field, 4.0, 0.03, 0.02), 256))
    assert match_score(p1, other) == match_score(p1, other) >= MATCH_SCORE


def test_eye_groups_survive_a_store_restart(tmp_path, retina_field, retina_rgb):
    store, tracker = ResultsStore(tmp_path), ReshootTracker()
    first = photo(retina_field, "shot1.jpg")
    first.advice = []
    tracker.update(first)
    store.add(first)
    store.close()

    store, tracker = ResultsStore(tmp_path), ReshootTracker()  # the app restarted
    tracker.resume(store)
    other = photo(field(np.ascontiguousarray(retina_rgb[:, ::-1]), 1024), "someone_else.jpg")
    assert tracker.update(other) is None and other.eye_group != first.eye_group
    reshot = photo(D.apply(moved(retina_field, -5.0, -0.03, 0.02), "lid_shadow", 0.5, np.random.default_rng(1)),
                   "shot2.jpg")
    assert tracker.update(reshot) is not None
    assert reshot.eye_group == first.eye_group
    store.add(reshot)
    rows = store.rows()
    assert rows[0]["eye_group"] == rows[-1]["eye_group"] == first.eye_group
    store.close()


def test_a_store_from_before_eye_groups_opens_and_records(tmp_path, retina_field):
    with sqlite3.connect(tmp_path / "results.sqlite") as db:
        db.execute("CREATE TABLE assessments (id INTEGER PRIMARY KEY AUTOINCREMENT, assessed_at TEXT NOT NULL,"
                   " path TEXT NOT NULL, frame INTEGER NOT NULL DEFAULT 0, size INTEGER, sha256 TEXT,"
                   " ok INTEGER NOT NULL, error TEXT, grade TEXT, confidence REAL, grade_probs TEXT,"
                   " attributes TEXT, quality_score REAL, advice TEXT, comparison TEXT, eye TEXT,"
                   " patient_id TEXT, acquired TEXT, models TEXT, timings TEXT, batch TEXT)")
        db.execute("INSERT INTO assessments (assessed_at, path, ok) VALUES ('2026-01-01T00:00:00+00:00', 'old', 1)")
    store = ResultsStore(tmp_path)
    a = photo(retina_field)
    a.eye_group, a.eye_print = "g1", eye_print(a.thumbnail)
    store.add(a)
    from riqa_desktop.core.store import assessment_from_row

    new, old = (assessment_from_row(r) for r in store.rows())
    assert new.eye_group == "g1" and np.array_equal(new.eye_print, a.eye_print)
    assert old.eye_group == "" and old.eye_print is None
    store.close()
