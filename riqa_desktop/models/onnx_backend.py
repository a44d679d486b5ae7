"""Run the shipped models with ONNX Runtime on the CPU: the lean app needs no torch.

`python -m training export-onnx` writes `<name>.onnx` beside the weights and
records its sha256 and its measured parity with torch in the model card
(`card["onnx"]`); the hash is checked here before a session is created.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..core.errors import ModelError, ModelMissingError, WeightsIntegrityError
from ..resources import models_dir as default_models_dir
from ..core.loading import sha256_file


def load_onnx(name: str, models_dir=None, threads: int | None = None):
    d = Path(models_dir) if models_dir else default_models_dir()
    card_path, onnx_path = d / f"{name}.json", d / f"{name}.onnx"
    if not card_path.is_file() or not onnx_path.is_file():
        raise ModelMissingError(f"model '{name}' is missing its ONNX export: expected {onnx_path} and {card_path.name}")
    card = json.loads(card_path.read_text(encoding="utf-8"))
    expected = (card.get("onnx") or {}).get("sha256")
    digest = sha256_file(onnx_path)
    if digest != expected:
        raise WeightsIntegrityError(f"model '{name}' refused: {onnx_path.name} hash {digest[:12]}... does not match "
                                    f"its card ({str(expected)[:12]}...)")
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = threads
    # Idle pool threads would spin after each run and hold the cores that decoding and the field of
    # view need next: on the 2-core machine (shared with another job) that more than doubled file ->
    # verdict (HRF p50 210-290 ms spinning, 117-123 ms not; the models alone got faster too).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelError(f"model '{name}': ONNX Runtime cannot load {onnx_path.name}: {exc}") from None
    return session, card


class OnnxBackend:
    name = "onnx"
    device = "cpu"

    def __init__(self, quality: tuple, qmap: tuple):
        self._q, self.quality_card = quality
        self._m, self.map_card = qmap
        self._q_names = [o.name for o in self._q.get_outputs()]

    @classmethod
    def from_dir(cls, models_dir=None, quality_name: str = "quality_multitask",
                 map_name: str = "efiqa_adapter", threads: int | None = None) -> "OnnxBackend":
        return cls(load_onnx(quality_name, models_dir, threads), load_onnx(map_name, models_dir, threads))

    def quality_logits(self, x: np.ndarray) -> dict[str, np.ndarray]:
        outs = self._q.run(None, {self._q.get_inputs()[0].name: x})
        return dict(zip(self._q_names, outs))

    def map_logits(self, x: np.ndarray) -> np.ndarray:
        return self._m.run(None, {self._m.get_inputs()[0].name: x})[0]
