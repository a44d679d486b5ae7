"""The Analyzer end to end with tiny random models (no shipped weights needed)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from riqa_desktop.core.analyzer import Analyzer
from riqa_desktop.models.torch_backend import pick_device
from riqa_desktop.core.assessment import ATTRIBUTES
from riqa_desktop.core.errors import ModelMissingError, RiqaError

from .dicom_fixtures import write_raw
from .tiny_models import tiny_models


@pytest.fixture(scope="module")
def analyzer():
    return Analyzer(models=tiny_models(), device="cpu")


def test_assessment_fields(analyzer, retina_jpeg):
    (a,) = analyzer.assess_path(retina_jpeg)
    assert a.ok and a.error is None
    assert a.grade in ("good", "usable", "reject", "not_fundus")
    assert sum(a.grade_probs.values()) == pytest.approx(1.0, abs=1e-5)
    assert set(a.attributes) == set(ATTRIBUTES)
    assert 0.0 <= a.quality_score <= 1.0
    assert a.quality_map.grid.shape == (8, 8)
    assert a.quality_map.full_size().shape == (1411, 1411)
    for stage in ("decode", "fov", "quality_model", "quality_map", "total"):
        assert a.timings_ms[stage] >= 0
    assert a.models["quality_multitask"] == "tiny-test"
    assert len(a.file_sha256) == 64 and a.file_size > 0
    assert a.fov["found"] and a.fov["r"] > 500


def test_same_photo_same_result(analyzer, retina_jpeg):
    a1, = analyzer.assess_path(retina_jpeg)
    a2, = analyzer.assess_path(retina_jpeg)
    assert a1.grade_probs == a2.grade_probs
    assert np.array_equal(a1.quality_map.grid, a2.quality_map.grid)


def test_bad_input_becomes_a_failed_assessment(analyzer, tmp_path):
    p = tmp_path / "broken.jpg"
    p.write_bytes(b"\xff\xd8\xff\xe0garbage")
    (a,) = analyzer.assess_path(p)
    assert not a.ok and "still being written" in a.error


def test_blank_frame_is_not_fundus_without_models(analyzer, tmp_path):
    p = tmp_path / "black.png"
    Image.fromarray(np.zeros((400, 400, 3), np.uint8)).save(p)
    (a,) = analyzer.assess_path(p)
    assert a.ok and a.grade == "not_fundus" and "blank" in a.measurements["gate"]
    assert a.quality_map is None


def test_multi_frame_dicom_gives_one_assessment_per_frame(analyzer, tmp_path, retina_rgb):
    import cv2

    small = cv2.resize(retina_rgb, (256, 256))
    results = analyzer.assess_path(write_raw(tmp_path / "IM0001", small, frames=2, laterality="L"))
    assert [a.metadata.frame_index for a in results] == [0, 1]
    assert all(a.metadata.laterality == "L" and a.metadata.patient_id == "TEST-0042" for a in results)


def test_missing_shipped_model_is_named(tmp_path):
    with pytest.raises(ModelMissingError, match="quality_multitask"):
        Analyzer(models_dir=tmp_path, device="cpu")


def test_device_choice():
    assert pick_device("cpu") == "cpu"
    with pytest.raises(RiqaError):
        pick_device("tpu")


def test_one_eye_for_every_output(analyzer, retina_jpeg, tmp_path, retina_rgb):
    """The JSON, the CLI, the GUI and the advice name the same eye: the metadata's, else the photo's guess."""
    import cv2

    from riqa_desktop.core.laterality import eye_of

    (a,) = analyzer.assess_path(retina_jpeg)
    assert a.eye() == (eye_of(a).eye, eye_of(a).source) and a.eye_guess == eye_of(a).as_dict()
    assert a.to_json()["eye"] == a.eye_guess["eye"] and (a.to_json()["eye_source"] or "") == a.eye_guess["source"]
    (d,) = analyzer.assess_path(write_raw(tmp_path / "IM0002", cv2.resize(retina_rgb, (256, 256)), laterality="L"))
    assert d.eye() == ("L", "dicom") and d.to_json()["eye"] == "L"
