"""The analysis pipeline: file -> Assessment, shared by the CLI, the GUI and benchmarks.

Models are loaded once (hash-verified) and run by a backend: ONNX Runtime on
the CPU when the exports are there (the default: twice torch's CPU speed and a
sub-second cold start), torch under `inference_mode` on CUDA or without exports.
One FOV detection and one crop feed both models. Bad input never raises out
of `assess_path`: it becomes an Assessment with `ok=False` and a one-line reason.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import errors, grade_cap, grade_floor
from .assessment import ATTRIBUTES, GRADES, Assessment, AttributeResult, QualityMap
from .calibration import probabilities
from .gate import fundus_gate
from .loading import LoadedImage, read_file
from .measure import measure_regions
from .preprocess import Prepared, normalize_batch, prepare

QUALITY_MODEL = "quality_multitask"
MAP_MODEL = "efiqa_adapter"
MEASURE_SIZE = 256


def torch_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def onnx_ready(models_dir=None) -> bool:
    """ONNX Runtime is installed and both runtime models have their exports."""
    import importlib.util

    from ..resources import models_dir as default_models_dir

    d = Path(models_dir) if models_dir else default_models_dir()
    return importlib.util.find_spec("onnxruntime") is not None and all(
        (d / f"{name}.onnx").is_file() for name in (QUALITY_MODEL, MAP_MODEL))


def cuda_driver_present() -> bool:
    """Is an NVIDIA driver installed? Asked without importing torch, which costs seconds of cold start."""
    import ctypes

    names = {"win32": ["nvcuda.dll"], "darwin": []}.get(sys.platform, ["libcuda.so.1", "libcuda.so"])
    for name in names:
        try:
            ctypes.CDLL(name)
            return True
        except OSError:
            continue
    return False


def auto_backend(models_dir=None, device: str = "auto") -> str:
    """The fastest engine for the device: ONNX Runtime on the CPU (about twice torch there), torch on CUDA."""
    if device == "cuda" or not onnx_ready(models_dir):
        return "torch" if torch_available() else "onnx"
    if device == "auto" and torch_available() and cuda_driver_present():
        import torch

        if torch.cuda.is_available():
            return "torch"
    return "onnx"


def make_backend(models_dir=None, device: str = "auto", backend: str = "auto", models: dict | None = None,
                 threads: int | None = None):
    """`backend` torch, onnx or auto (`auto_backend`); `models` = in-memory torch models (tests)."""
    if backend == "auto" and models is None:
        backend = auto_backend(models_dir, device)
    if backend == "onnx" and models is None:
        from ..models.onnx_backend import OnnxBackend

        if device == "cuda":
            raise errors.RiqaError("the ONNX Runtime backend runs on the CPU only")
        return OnnxBackend.from_dir(models_dir, threads=threads)
    if backend not in ("auto", "torch"):
        raise errors.RiqaError(f"unknown backend '{backend}' (auto, torch or onnx)")
    from ..models.torch_backend import TorchBackend

    if threads:
        import torch

        torch.set_num_threads(threads)
    if models is not None:
        return TorchBackend(models["quality"], models["map"], device)
    return TorchBackend.from_dir(models_dir, device)


THUMBNAIL_SIDE = 256  # the copy an Assessment keeps for overlays and the disc-based eye check


def thumbnail(rgb: np.ndarray, side: int) -> np.ndarray:
    from .imageops import shrink_to

    h, w = rgb.shape[:2]
    f = side / max(h, w)
    if f >= 1:
        return rgb.copy()
    return shrink_to(rgb, f)


@dataclass
class Loaded:
    """A file read and decoded, waiting for the models (or the reason it could not be read)."""

    path: str
    frames: list[LoadedImage] = field(default_factory=list)
    sha256: str = ""
    size: int = 0
    decode_ms: float = 0.0
    error: str | None = None


class Analyzer:
    """Loads the quality model and the EFIQA adapter once; assesses photos.

    By default both come from the shipped `resources/models` (or `models_dir`),
    run by the engine `auto_backend` picks (or `backend`); `models`
    maps "quality" and "map" to in-memory (torch module, card) pairs (tests).
    A missing model is a `ModelMissingError` naming it.
    """

    def __init__(self, models_dir: str | Path | None = None, device: str = "auto",
                 models: dict | None = None, advise: bool = True, thumbnail_side: int = THUMBNAIL_SIDE,
                 backend: str = "auto", threads: int | None = None):
        self.backend = make_backend(models_dir, device, backend, models, threads)
        self.quality_card, self.map_card = self.backend.quality_card, self.backend.map_card
        self.q_size = int(self.quality_card["input_size"])
        self.m_size = int(self.map_card["input_size"])
        self.min_side = max(int(self.quality_card.get("min_side", 0) or 0),
                            int(self.map_card.get("min_side", 0) or 0), self.q_size, self.m_size, MEASURE_SIZE)
        self.advise = advise
        self.thumbnail_side = thumbnail_side
        self.models_dir = models_dir
        self._vessel_models = None
        self._explainer = None  # torch models for Grad-CAM when ONNX Runtime assesses

    @property
    def device(self) -> str:
        return self.backend.device

    @property
    def model_versions(self) -> dict[str, str]:
        return {
            QUALITY_MODEL: str(self.quality_card.get("version", "?")),
            MAP_MODEL: str(self.map_card.get("version", "?")),
        }

    # -- public API -------------------------------------------------------------
    def assess_path(self, path: str | Path) -> list[Assessment]:
        """One Assessment per frame; a failed read is one Assessment with `ok=False`."""
        return self.assess_loaded([self.load(path)])

    def load(self, path: str | Path) -> "Loaded":
        """Read, decode and hash a file (I/O only: safe to run on worker threads)."""
        t0 = time.perf_counter()
        path = str(path)
        try:
            frames = read_file(path, min_side=self.min_side)
            digest, size = frames[0].sha256, os.path.getsize(path)
        except errors.InputError as exc:
            return Loaded(path, error=str(exc))
        except MemoryError:
            return Loaded(path, error="image is too large to open safely")
        return Loaded(path, frames, digest, size, (time.perf_counter() - t0) * 1000)

    def assess_loaded(self, items: list["Loaded"]) -> list[Assessment]:
        """Assess loaded files together: the frames of all of them share one pass per model."""
        frames = [f for it in items for f in it.frames]
        assessed = iter(self.assess_images(frames))
        out = []
        for it in items:
            if it.error is not None:
                out.append(Assessment.failed(it.path, it.error))
                continue
            for _ in it.frames:
                a = next(assessed)
                a.timings_ms = {"decode": it.decode_ms / len(it.frames), **a.timings_ms}
                a.timings_ms["total"] = sum(v for k, v in a.timings_ms.items() if k != "total")
                a.file_sha256, a.file_size = it.sha256, it.size
                out.append(a)
        return out

    def assess_images(self, images: list[LoadedImage]) -> list[Assessment]:
        """Assess decoded photos together (one batched pass per model)."""
        if not images:
            return []
        preps, results, keep = [], [], []
        for img in images:
            t = time.perf_counter()
            prep = prepare(img.rgb, (self.q_size, self.m_size, MEASURE_SIZE), scale=img.scale,
                           orig_size=img.original_size)
            a = Assessment(path=img.path, metadata=img.metadata, models=self.model_versions)
            if self.thumbnail_side:
                a.thumbnail = thumbnail(img.rgb, self.thumbnail_side)
            a.fov = {**prep.fov.scaled(img.scale, *img.original_size).as_dict(),
                     "visible_fraction": round(prep.fov.visible_fraction, 3)}
            a.timings_ms["fov"] = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            a.measurements = measure_regions(prep.squares[MEASURE_SIZE])
            looks_fundus, reason = fundus_gate(img.rgb, prep.fov)
            a.timings_ms["measure"] = (time.perf_counter() - t) * 1000
            if not looks_fundus:
                a.grade, a.confidence = "not_fundus", 1.0
                a.grade_probs = {"good": 0.0, "usable": 0.0, "reject": 0.0, "not_fundus": 1.0}
                a.measurements["gate"] = reason
            else:
                keep.append(len(results))
                preps.append(prep)
            results.append(a)
        if preps:
            self._run_models(preps, [results[i] for i in keep])
        if self.advise:
            self._advise(results)
        return results

    # -- explanations, on request (never on the hot path; always torch) --------
    def explain(self, path: str | Path, head: str = "grade", frame: int = 0) -> QualityMap:
        """Grad-CAM of one head of the quality model, as a map over the photo."""
        from ..models.gradcam import gradcam

        prep = self._prepare_frame(path, frame, self.q_size)
        import torch

        model = self._torch_model("quality")
        x = torch.from_numpy(normalize_batch([prep.squares[self.q_size]])).to(next(model.parameters()).device)
        return QualityMap(grid=gradcam(model, x, head).astype(np.float32),
                          geometry=prep.geometry)

    def missing_vessels(self, path: str | Path, frame: int = 0) -> QualityMap:
        """"Vessels expected here but not seen": the vessel segmenter and EFIQA's stage 1."""
        from ..models.efiqa import missing_vessels_map
        from ..models.registry import load_model

        if self._vessel_models is None:
            vessel, vcard = load_model("vessel_unet", self.models_dir)
            vuad, _ = load_model("efiqa_vuad", self.models_dir)
            self._vessel_models = (vessel, vuad, int(vcard["input_size"]))
        vessel, vuad, size = self._vessel_models
        prep = self._prepare_frame(path, frame, size)
        return QualityMap(grid=missing_vessels_map(prep.squares[size], vessel, vuad), geometry=prep.geometry)

    def _prepare_frame(self, path: str | Path, frame: int, size: int) -> Prepared:
        img = read_file(path, min_side=max(self.min_side, size))[frame]
        return prepare(img.rgb, (size,), scale=img.scale, orig_size=img.original_size)

    def _torch_model(self, role: str):
        """The torch model behind a role; with ONNX Runtime assessing, torch is loaded now, once."""
        if self.backend.name == "torch":
            b = self.backend
        else:
            if self._explainer is None:
                if not torch_available():
                    raise errors.RiqaError("explanations need torch (not installed in the lean build)")
                from ..models.torch_backend import TorchBackend

                self._explainer = TorchBackend.from_dir(self.models_dir, "cpu")
            b = self._explainer
        return b.quality if role == "quality" else b.qmap

    # -- internals --------------------------------------------------------------
    def _run_models(self, preps: list[Prepared], targets: list[Assessment]) -> None:
        t = time.perf_counter()
        xq = normalize_batch([p.squares[self.q_size] for p in preps])
        q_out = self.backend.quality_logits(xq)
        q_ms = (time.perf_counter() - t) * 1000 / len(preps)
        t = time.perf_counter()
        xm = xq if self.m_size == self.q_size else normalize_batch([p.squares[self.m_size] for p in preps])
        grids = probabilities(self.backend.map_logits(xm))
        m_ms = (time.perf_counter() - t) * 1000 / len(preps)
        cal = self.quality_card.get("calibration", {})
        thr = self.quality_card.get("thresholds", {})
        p = {head: probabilities(q_out[head], float(cal.get(head, 1.0))) for head in ("grade", "not_fundus", *ATTRIBUTES)}
        if "laterality" in q_out:
            p["laterality"] = probabilities(q_out["laterality"], float(cal.get("laterality", 1.0)))
        for i, (prep, a) in enumerate(zip(preps, targets)):
            g = p["grade"][i]
            p_nf = float(p["not_fundus"][i])
            probs = {k: float(g[j]) * (1.0 - p_nf) for j, k in enumerate(GRADES)}
            probs["not_fundus"] = p_nf
            a.grade_probs = probs
            a.grade = "not_fundus" if p_nf >= float(thr.get("not_fundus", 0.5)) else GRADES[int(np.argmax(g))]
            a.confidence = p_nf if a.grade == "not_fundus" else float(g.max())
            grade_floor.apply(a, prep.squares[MEASURE_SIZE])
            for name in ATTRIBUTES:
                p_bad = float(p[name][i])
                a.attributes[name] = AttributeResult(ok=p_bad < float(thr.get(name, 0.5)), p_bad=p_bad)
            grid = grids[i].astype(np.float32)
            a.quality_map = QualityMap(grid=grid, geometry=prep.geometry)
            a.quality_score = 1.0 - float(grid.mean())
            grade_cap.apply(a)
            if "laterality" in p:
                a.eye_model = {"p_right": round(float(p["laterality"][i]), 4),
                               "threshold": float(thr.get("laterality", 0.5))}
            a.timings_ms["quality_model"] = q_ms
            a.timings_ms["quality_map"] = m_ms

    def _advise(self, results: list[Assessment]) -> None:
        from .advice import advise

        for a in results:
            t = time.perf_counter()
            a.advice = advise(a)
            a.timings_ms["advice"] = (time.perf_counter() - t) * 1000
