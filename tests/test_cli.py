"""`riqa` end to end with tiny models saved as real, hash-checked model files."""

from __future__ import annotations

import json
import shutil
import threading
import time

import cv2
import numpy as np
import pytest
from PIL import Image

from riqa_desktop import cli

from .tiny_models import write_tiny_models


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    write_tiny_models(d)
    return d


@pytest.fixture()
def run(models_dir, tmp_path, capsys):
    def _run(*argv):
        code = cli.main([*argv, "--models-dir", str(models_dir), "--data-dir", str(tmp_path / "data"), "--device", "cpu"])
        out = capsys.readouterr()
        return code, out.out, out.err
    return _run


def test_assess_json_fields(run, retina_jpeg):
    code, out, _ = run("assess", str(retina_jpeg), "--json")
    assert code == 0
    rec = json.loads(out.strip().splitlines()[0])
    for key in ("path", "ok", "error", "grade", "grade_probs", "attributes", "quality_score", "advice",
                "advice_items", "timings_ms", "models"):
        assert key in rec
    assert rec["ok"] is True and rec["grade"] in ("good", "usable", "reject", "not_fundus")
    assert set(rec["attributes"]) == {"illumination", "clarity", "contrast"}
    assert set(rec["attributes"]["clarity"]) == {"ok", "p_bad"}


def test_unreadable_input_exit_2_and_rest_processed(run, retina_jpeg, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a photo at all" * 40)
    code, out, err = run("assess", str(bad), str(retina_jpeg), "--json")
    assert code == 2
    recs = [json.loads(line) for line in out.strip().splitlines()]
    assert [r["ok"] for r in recs] == [False, True]
    assert recs[0]["error"] == "not an image"
    assert "Traceback" not in err


def test_maps_are_16_bit_photo_sized(run, retina_jpeg, tmp_path):
    code, _, _ = run("assess", str(retina_jpeg), "--maps", str(tmp_path / "maps"))
    assert code == 0
    m = cv2.imread(str(tmp_path / "maps" / "retina_quality.png"), cv2.IMREAD_UNCHANGED)
    assert m.dtype == np.uint16 and m.shape == (1411, 1411)


def test_missing_model_exit_1_names_it(tmp_path, capsys, retina_jpeg):
    code = cli.main(["assess", str(retina_jpeg), "--models-dir", str(tmp_path), "--no-store"])
    assert code == 1
    assert "quality_multitask" in capsys.readouterr().err


def test_batch_writes_csv_and_html(run, retina_rgb, tmp_path):
    folder = tmp_path / "clinic" / "sub"
    folder.mkdir(parents=True)
    small = cv2.resize(retina_rgb, (400, 400))
    Image.fromarray(small).save(folder / "a.jpg")
    Image.fromarray(small).save(folder.parent / "b.png")
    (folder / "c.jpg").write_bytes(b"\xff\xd8\xff" + b"\x00" * 10)
    code, out, err = run("batch", str(tmp_path / "clinic"), "--out", str(tmp_path / "out"))
    assert code == 2
    assert "\r" not in err and "3/3 photos" in err  # stderr is not a terminal here: lines, not a bar
    rows = (tmp_path / "out" / "results.csv").read_text().strip().splitlines()
    assert len(rows) == 4  # header + 3
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.count("data:image/jpeg;base64") >= 4  # 2 thumbnails + 2 overlays
    assert "Unreadable" in html


def test_watch_reports_new_photos_and_compares_the_reshot(run, retina_rgb, tmp_path):
    cam = tmp_path / "camera"
    cam.mkdir()
    result = {}

    def watch():
        result["code"] = run("watch", str(cam), "--json", "--limit", "2")

    t = threading.Thread(target=watch)
    t.start()
    time.sleep(1.0)
    photo = cv2.resize(retina_rgb, (400, 400))
    for name, img in (("shot1.jpg", (photo * 0.25).astype(np.uint8)), ("shot2.jpg", photo)):
        Image.fromarray(img).save(tmp_path / name)
        shutil.copy(tmp_path / name, cam / name)
        time.sleep(2.5)
    t.join(timeout=60)
    assert not t.is_alive()
    code, out, _ = result["code"]
    assert code == 0
    first, second = [json.loads(line) for line in out.strip().splitlines()]
    assert first["path"].endswith("shot1.jpg") and first["ok"] and first["comparison"] is None
    assert second["path"].endswith("shot2.jpg") and second["comparison"]  # "Better: ..." / "Worse: ..."


def test_maps_come_with_a_readable_overlay(run, retina_jpeg, tmp_path):
    code, _, _ = run("assess", str(retina_jpeg), "--maps", str(tmp_path / "maps"))
    assert code == 0
    over = cv2.imread(str(tmp_path / "maps" / "retina_overlay.png"))
    assert over is not None and over.shape == (1411, 1411, 3)
