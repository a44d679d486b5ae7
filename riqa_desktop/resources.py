"""Where bundled resources live, in a checkout and in a PyInstaller bundle."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def resources_dir() -> Path:
    if getattr(sys, "frozen", False) and hasattr(sys, "_MEIPASS"):
        return Path(sys._MEIPASS) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def models_dir() -> Path:
    """`RIQA_MODELS_DIR` overrides the shipped models (used by tests and training)."""
    env = os.environ.get("RIQA_MODELS_DIR")
    return Path(env) if env else resources_dir() / "models"


def samples_dir() -> Path:
    return resources_dir() / "samples"
