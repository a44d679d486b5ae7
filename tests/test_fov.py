"""Field of view on every shared photo, on hard synthetic frames, and the map back to the photo."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest
from PIL import Image

from riqa_desktop.core.fov import detect_fov
from riqa_desktop.core.loading import read_image
from riqa_desktop.core.preprocess import prepare, square_crop

# Four very bad DRIMDB photos (a near-black frame, heavy glare) whose field the detector
# the shipped models were trained with cannot find in full: a partial circle, or none
# (then the whole frame is used). A lower threshold finds them but changes the models'
# inputs, so it waits for a retrain.
KNOWN_PARTIAL = {"Bad/drimdb_bad (49).jpg", "Bad/drimdb_bad (17).jpg", "Bad/drimdb_bad (52).jpg",
                 "Bad/drimdb_bad (69).jpg"}


def _gt_pairs(root):
    pairs = []
    for split in ("training", "test"):
        for f in sorted((root / "DRIVE" / split / "images").glob("*")):
            n = f.name.split("_")[0]
            pairs.append((f, next((root / "DRIVE" / split / "mask").glob(f"{n}_*"))))
    for f in sorted(root.glob("CHASEDB1/*/images/*")):
        m = list((f.parent.parent / "mask").glob(f.stem + ".*"))
        if m:
            pairs.append((f, m[0]))
    return pairs


def test_fov_matches_ground_truth_masks(shared_data):
    """DRIVE and CHASE_DB1 ship FOV masks: our circle overlaps each with IoU >= 0.97."""
    pairs = _gt_pairs(shared_data)
    assert len(pairs) >= 60
    ious = []
    for img_path, mask_path in pairs:
        img = read_image(img_path)
        fov = detect_fov(img.rgb)
        gt = np.asarray(Image.open(mask_path).convert("L")) > 127
        pred = fov.mask(gt.shape)
        ious.append((gt & pred).sum() / (gt | pred).sum())
    assert min(ious) >= 0.97, f"worst IoU {min(ious):.3f}"


def test_fov_found_on_every_drimdb_and_hrf_photo(shared_data):
    """One camera per dataset: every fundus photo gets a found circle of that camera's size."""
    with open(shared_data / "DRIMDB" / "labels.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["label"] != "outlier"]
    ratios = []
    for r in rows:
        img = read_image(shared_data / "DRIMDB" / r["filename"], min_side=570)
        fov = detect_fov(img.rgb)
        if r["filename"] not in KNOWN_PARTIAL:
            assert fov.found, r["filename"]
            ratios.append(fov.r / img.rgb.shape[0])
    assert 0.68 < min(ratios) and max(ratios) < 0.83
    for f in sorted((shared_data / "HRF" / "images").glob("*")):
        img = read_image(f, min_side=600)
        fov = detect_fov(img.rgb)
        assert fov.found and 0.68 < fov.r / img.rgb.shape[0] < 0.72, f.name


def _disc_photo(h=600, w=800, r=260, cx=400, cy=300, bg=0, level=120):
    img = np.full((h, w, 3), bg, np.uint8)
    cv2.circle(img, (cx, cy), r, (level, int(level * 0.5), int(level * 0.2)), -1)
    return img


@pytest.mark.parametrize("case", ["plain", "grey_border", "dark", "bright", "cut", "notch", "text", "lid_shadow"])
def test_synthetic_frames(case):
    kw = {"grey_border": {"bg": 60, "level": 160}, "dark": {"level": 18}, "bright": {"level": 250},
          "cut": {"r": 360}}.get(case, {})
    img = _disc_photo(**kw)
    if case == "notch":
        cv2.rectangle(img, (390, 30), (410, 60), (0, 0, 0), -1)
    if case == "text":
        cv2.putText(img, "12/05/2009 10:41", (600, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 255, 0), 2)
    if case == "lid_shadow":  # the upper 40 % of the field nearly black, as under a drooping lid
        top = img[:250]
        top[top.max(axis=2) > 0] = (16, 8, 3)
    fov = detect_fov(img)
    r = kw.get("r", 260)
    assert fov.found
    assert abs(fov.cx - 400) < 6 and abs(fov.cy - 300) < 6 and abs(fov.r - r) < 8


def test_blank_frame_is_not_found():
    assert not detect_fov(np.zeros((400, 600, 3), np.uint8)).found


def test_square_crop_masks_text_in_the_corners():
    img = _disc_photo(r=330)  # circle wider than the frame height, like DRIMDB
    cv2.putText(img, "03/09/2008", (640, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 255, 0), 2)
    fov = detect_fov(img)
    sq = square_crop(img, fov, 256)
    green_text = (sq[..., 1] > 200) & (sq[..., 0] < 100)
    assert not green_text.any()


def test_geometry_maps_grid_back_onto_photo():
    img = _disc_photo()
    prep = prepare(img, (128,), scale=2.0, orig_size=(1600, 1200))
    grid = np.zeros((8, 8), np.float32)
    grid[:, 4:] = 1.0  # right half of the square is degraded
    full = prep.geometry.to_original(grid)
    assert full.shape == (1200, 1600)
    cx, cy, r = 800, 600, 520  # the disc in original pixels
    assert full[cy, cx + r // 2] > 0.9 and full[cy, cx - r // 2] < 0.1
    assert full[5, 5] == 0.0  # outside the square
