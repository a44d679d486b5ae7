"""Run the two shipped models with torch (CPU or CUDA): numpy in, numpy logits out.

CUDA out of memory falls back to the CPU with a warning, once.
"""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)


def pick_device(device: str = "auto") -> str:
    import torch

    from ..core.errors import RiqaError

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RiqaError("CUDA was requested but no CUDA device is available")
    if device not in ("cpu", "cuda"):
        raise RiqaError(f"unknown device '{device}' (auto, cpu or cuda)")
    return device


class TorchBackend:
    name = "torch"

    def __init__(self, quality: tuple, qmap: tuple, device: str = "auto"):
        self.quality, self.quality_card = quality
        self.qmap, self.map_card = qmap
        self.device = pick_device(device)
        self._place()

    @classmethod
    def from_dir(cls, models_dir, device: str = "auto", quality_name: str = "quality_multitask",
                 map_name: str = "efiqa_adapter") -> "TorchBackend":
        from .registry import load_model

        return cls(load_model(quality_name, models_dir), load_model(map_name, models_dir), device)

    def _place(self) -> None:
        import torch

        fmt = torch.channels_last if self.device == "cpu" else torch.contiguous_format
        for m in (self.quality, self.qmap):
            m.eval().to(self.device, memory_format=fmt)

    def quality_logits(self, x: np.ndarray) -> dict[str, np.ndarray]:
        out = self._run(self.quality, x)
        return {k: v.float().cpu().numpy() for k, v in out.items()}

    def map_logits(self, x: np.ndarray) -> np.ndarray:
        return self._run(self.qmap, x).float().cpu().numpy()

    def _run(self, model, x: np.ndarray):
        import torch

        try:
            with torch.inference_mode():
                t = torch.from_numpy(x).to(self.device)
                if self.device == "cpu":
                    t = t.contiguous(memory_format=torch.channels_last)
                return model(t)
        except RuntimeError as exc:
            if self.device != "cuda" or "out of memory" not in str(exc).lower():
                raise
            log.warning("CUDA out of memory: falling back to the CPU")
            torch.cuda.empty_cache()
            self.device = "cpu"
            self._place()
            return self._run(model, x)
