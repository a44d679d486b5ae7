"""Shared fixtures. Tests that need ../shared/data fail under CI=true when it is missing."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("RIQA_DATA") or REPO.parent / "shared" / "data")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real photos in ../shared/data (or RIQA_DATA)."""
    if not (SHARED_DATA / "DRIMDB" / "labels.csv").is_file():
        msg = f"shared data not found at {SHARED_DATA}: these tests need ../shared/data (or RIQA_DATA)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return SHARED_DATA


@pytest.fixture(scope="session")
def retina_rgb() -> np.ndarray:
    """scikit-image's CC0 fundus photo (1411 x 1411 RGB)."""
    from skimage import data

    return np.ascontiguousarray(data.retina())


@pytest.fixture()
def retina_jpeg(tmp_path, retina_rgb) -> Path:
    from PIL import Image

    p = tmp_path / "retina.jpg"
    Image.fromarray(retina_rgb).save(p, quality=92)
    return p
