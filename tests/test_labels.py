"""Label readers on the real EyeQ label files, with small image folders made here."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from training import labels as L


def _touch(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / n)


def _csv_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def eyeq(shared_data):
    return shared_data / "EyeQ_labels"


def test_eyeq_reader_keeps_coding_and_skips_missing_images(eyeq, tmp_path):
    rows = _csv_rows(eyeq / "Label_EyeQ_train.csv")
    picked = {q: next(r for r in rows if r["quality"] == q) for q in ("0", "1", "2")}
    _touch(tmp_path, [r["image"] for r in picked.values()])
    got = L.read_eyeq(eyeq / "Label_EyeQ_train.csv", tmp_path)
    assert len(got) == 3
    by_name = {g.path.name: g.grade for g in got}
    for q, r in picked.items():
        assert by_name[r["image"]] == int(q)
    with pytest.raises(FileNotFoundError):
        L.read_eyeq(eyeq / "Label_EyeQ_train.csv", tmp_path, missing="error")


def test_eyeq_d_overall_is_reversed_and_details_inverted(eyeq, tmp_path):
    rows = _csv_rows(eyeq / "EyeQ-D-Quality-Details.csv")
    assert len(rows) == 160
    _touch(tmp_path, [r["file_name"] + ".jpeg" for r in rows])
    got = L.read_eyeq_details(eyeq / "EyeQ-D-Quality-Details.csv", tmp_path)
    assert len(got) == 160
    grades = [g.grade for g in got]
    assert (grades.count(0), grades.count(1), grades.count(2)) == (78, 49, 33)  # Good/Usable/Reject (anchors 1.2)
    assert sum(g.details["illumination"] for g in got) == 106  # bad illumination
    assert sum(g.details["clarity"] for g in got) == 39
    assert sum(g.details["contrast"] for g in got) == 55
    # Same images as the EyeQ test file, whose coding is the non-reversed one.
    test = {r["image"].rsplit(".", 1)[0]: int(r["quality"]) for r in _csv_rows(eyeq / "Label_EyeQ_test.csv")}
    assert all(test[g.path.stem] == g.grade for g in got)


def test_deepdrid_reader(tmp_path):
    csv_path = tmp_path / "regular-fundus-training.csv"
    with open(csv_path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["patient_id", "image_id", "image_path", "patient_DR_Level", "Overall quality", "Clarity",
                    "Field definition", "Artifact"])
        w.writerow([1, "1_l1", "\\regular_fundus_images\\regular-fundus-training\\Images\\1\\1_l1.jpg", 0, 1, 10, 10, 0])
        w.writerow([1, "1_l2", "\\regular_fundus_images\\regular-fundus-training\\Images\\1\\1_l2.jpg", 0, 0, 4, 6, 8])
        w.writerow([2, "2_r1", "whatever/2_r1.jpg", 0, 1, 8, 8, 1])
    _touch(tmp_path / "regular_fundus_images" / "regular-fundus-training" / "Images" / "1", ["1_l1.jpg", "1_l2.jpg"])
    _touch(tmp_path / "elsewhere", ["2_r1.jpg"])
    got = {g.path.stem: g for g in L.read_deepdrid(csv_path, tmp_path)}
    assert set(got) == {"1_l1", "1_l2", "2_r1"}
    assert got["1_l1"].grade == 0 and got["1_l2"].grade == 2
    assert got["1_l2"].extra == {"Clarity": 4.0, "Field definition": 6.0, "Artifact": 8.0}


def test_drimdb_labels_and_folders(shared_data, tmp_path):
    real = L.read_drimdb(shared_data / "DRIMDB")
    assert len(real) == 110
    assert sum(g.not_fundus for g in real) == 11
    assert sum(g.grade == 0 for g in real) == 61 and sum(g.grade == 2 for g in real) == 38
    _touch(tmp_path / "Good", ["a.jpg"])
    _touch(tmp_path / "Bad", ["b.jpg"])
    _touch(tmp_path / "Outlier", ["c.jpg"])
    got = {g.path.name: (g.grade, g.not_fundus) for g in L.read_drimdb(tmp_path)}
    assert got == {"a.jpg": (0, False), "b.jpg": (2, False), "c.jpg": (None, True)}


def test_generic_csv(tmp_path):
    _touch(tmp_path, ["x.png", "y.png", "z.png"])
    (tmp_path / "l.csv").write_text("path,label\nx.png,good\ny.png,1\nz.png,bad\nmissing.png,good\n")
    got = [(g.path.name, g.grade) for g in L.read_generic_csv(tmp_path / "l.csv")]
    assert got == [("x.png", 0), ("y.png", 1), ("z.png", 2)]
    (tmp_path / "w.csv").write_text("path,label\nx.png,great\n")
    with pytest.raises(ValueError):
        L.read_generic_csv(tmp_path / "w.csv")
