"""Shared helpers for the UI tests: tiny random models (the model contract, no shipped weights)
and a main window wired to them with a temporary QSettings file and data folder."""

from __future__ import annotations

import pytest
import torch
from torch import nn

TINY_SIZE, TINY_GRID = 64, 8


class TinyQuality(nn.Module):
    """forward(x) -> {"grade": (N,3), "not_fundus": (N,), "illumination"/"clarity"/"contrast": (N,)}."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 5, stride=4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.grade = nn.Linear(8, 3)
        self.attrs = nn.Linear(8, 3)
        self.not_fundus = nn.Linear(8, 1)
        nn.init.constant_(self.not_fundus.bias, -6.0)  # these photos are fundus photos

    def forward(self, x):
        f = self.features(x)
        attrs = self.attrs(f)
        return {"grade": self.grade(f), "not_fundus": self.not_fundus(f)[:, 0],
                "illumination": attrs[:, 0], "clarity": attrs[:, 1], "contrast": attrs[:, 2]}


class TinyMap(nn.Module):
    """forward(x) -> (N, G, G) logits."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 1, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(TINY_GRID)

    def forward(self, x):
        return self.pool(self.conv(x))[:, 0] * 4.0


def tiny_models() -> dict:
    torch.manual_seed(0)
    card = {"input_size": TINY_SIZE}
    return {"quality": (TinyQuality(), {**card, "version": "tiny-q"}),
            "map": (TinyMap(), {**card, "version": "tiny-map"})}


def tiny_factory():
    from riqa_desktop.core.analyzer import Analyzer

    return Analyzer(device="cpu", models=tiny_models(), advise=False, thumbnail_side=128)


def make_window(qtbot, tmp_path, factory=tiny_factory, wait_ready: bool = True):
    from PySide6.QtCore import QSettings

    from riqa_desktop.ui.main_window import MainWindow

    qs = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(qs, analyzer_factory=factory, data_dir=str(tmp_path / "data"),
                   watcher_options={"stable_s": 0.2, "rescan_s": 0.5, "polling": False})
    qtbot.addWidget(w)
    w.show()
    w.start()
    if wait_ready:
        qtbot.waitUntil(lambda: w.analysis.analyzer is not None, timeout=30000)
    return w


@pytest.fixture()
def window(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path)
    yield w
    w.close()
