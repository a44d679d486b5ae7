"""ONNX export and the torch-free backend give the same assessments as torch."""

from __future__ import annotations

import json
import shutil

import pytest

from riqa_desktop.core.analyzer import Analyzer
from riqa_desktop.core.errors import WeightsIntegrityError
from training.export_cli import RUNTIME_MODELS, export_one, parity_inputs

from .tiny_models import write_tiny_models


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    d = tmp_path_factory.mktemp("onnx_models")
    write_tiny_models(d)
    for name in RUNTIME_MODELS:
        export_one(name, d, lambda size: parity_inputs(size, None, 1))
    return d


def test_export_records_hash_and_parity(exported):
    card = json.loads((exported / "quality_multitask.json").read_text())
    assert len(card["onnx"]["sha256"]) == 64
    assert card["onnx"]["parity_with_torch"]["grade_agreement"] == 1.0


def test_onnx_backend_matches_torch(exported, retina_jpeg):
    t, = Analyzer(models_dir=exported, backend="torch", device="cpu").assess_path(retina_jpeg)
    o, = Analyzer(models_dir=exported, backend="onnx").assess_path(retina_jpeg)
    assert o.grade == t.grade
    for k in t.grade_probs:
        assert abs(o.grade_probs[k] - t.grade_probs[k]) < 1e-4
    assert abs(o.quality_score - t.quality_score) < 1e-4
    assert abs(o.quality_map.grid - t.quality_map.grid).max() < 1e-4


def test_altered_onnx_refused(exported, tmp_path):
    d = tmp_path / "m"
    shutil.copytree(exported, d)
    p = d / "efiqa_adapter.onnx"
    p.write_bytes(p.read_bytes() + b"\0")
    with pytest.raises(WeightsIntegrityError, match="hash"):
        Analyzer(models_dir=d, backend="onnx")


def test_shipped_quality_model_exports_with_its_text_filter(shared_data, tmp_path):
    """DRIMDB photos carry a green timestamp the model fills in: the export must keep that step."""
    import shutil as sh
    from pathlib import Path

    from riqa_desktop.resources import models_dir

    for f in ("quality_multitask.safetensors", "quality_multitask.json"):
        sh.copy(Path(models_dir()) / f, tmp_path / f)
    info = export_one("quality_multitask", tmp_path, lambda size: parity_inputs(size, shared_data, 4))
    parity = info["parity_with_torch"]
    assert parity["grade_agreement"] == 1.0
    assert max(v for k, v in parity.items() if k.startswith("max_abs_logit")) < 1e-3


def test_auto_picks_onnx_on_the_cpu_and_torch_without_exports(exported, tmp_path):
    assert Analyzer(models_dir=exported, device="cpu").backend.name == "onnx"
    bare = tmp_path / "bare"
    shutil.copytree(exported, bare, ignore=shutil.ignore_patterns("*.onnx"))
    assert Analyzer(models_dir=bare, device="cpu").backend.name == "torch"


def test_gradcam_loads_torch_on_request_under_onnx():
    """Explanations always come from torch (shipped models), even when ONNX Runtime gives the verdicts."""
    from riqa_desktop.resources import samples_dir

    photo = samples_dir() / "hrf_07_dr_defocus.jpg"
    o = Analyzer(device="cpu")
    t = Analyzer(backend="torch", device="cpu")
    assert o.backend.name == "onnx" and o._explainer is None
    for head in ("grade", "clarity"):
        g = o.explain(photo, head).grid
        assert g.max() > 0.5 and abs(g - t.explain(photo, head).grid).max() < 1e-5


def test_default_cpu_verdict_never_imports_torch(retina_jpeg):
    """The CPU default is ONNX Runtime, so `riqa assess` does not pay torch's import (seconds of cold start)."""
    import subprocess
    import sys

    code = ("import sys; from riqa_desktop.core.analyzer import Analyzer; an = Analyzer(device='cpu'); "
            f"(a,) = an.assess_path({str(retina_jpeg)!r}); print(a.ok, an.backend.name, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "onnx", "False"]
