"""User preferences persisted with QSettings (registry / plist / INI, per platform).

One typed accessor per key so a typo cannot silently create a new setting.
Tests pass their own QSettings (an INI file in a temporary folder).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSettings

ORG, APP = "riqa", "riqa-desktop"
COLORMAPS = ("cividis", "CET-CBL2", "viridis")  # all colour-blind safe


@dataclass
class Preferences:
    device: str = "auto"  # auto | cpu | cuda
    reject_min: float = 0.50  # call Reject when P(reject) reaches this
    good_min: float = 0.0  # call Good only when P(good) reaches this (0 = the model's own choice)
    colormap: str = "cividis"
    overlay_opacity: int = 70  # alpha ceiling of the map, percent
    watch_folder: str = ""
    data_dir: str = ""  # empty = the per-user default
    receiver_port: int = 0  # the DICOM receiver's TCP port; 0 = off (the default)
    receiver_ae_title: str = "RIQA"
    receiver_callers: str = ""  # calling AE titles accepted, comma-separated; empty = any


def load(qs: QSettings) -> Preferences:
    d = Preferences()
    cmap = str(qs.value("overlay/colormap", d.colormap))
    device = str(qs.value("device", d.device))
    return Preferences(
        device=device if device in ("auto", "cpu", "cuda") else d.device,
        reject_min=_float(qs.value("grading/reject_min"), d.reject_min),
        good_min=_float(qs.value("grading/good_min"), d.good_min),
        colormap=cmap if cmap in COLORMAPS else d.colormap,
        overlay_opacity=int(_float(qs.value("overlay/opacity"), d.overlay_opacity)),
        watch_folder=str(qs.value("watch/folder", d.watch_folder) or ""),
        data_dir=str(qs.value("data/dir", d.data_dir) or ""),
        receiver_port=min(65535, max(0, int(_float(qs.value("receiver/port"), d.receiver_port)))),
        receiver_ae_title=str(qs.value("receiver/ae_title", d.receiver_ae_title) or d.receiver_ae_title)[:16],
        receiver_callers=str(qs.value("receiver/callers", d.receiver_callers) or ""),
    )


def save(qs: QSettings, p: Preferences) -> None:
    qs.setValue("device", p.device)
    qs.setValue("grading/reject_min", p.reject_min)
    qs.setValue("grading/good_min", p.good_min)
    qs.setValue("overlay/colormap", p.colormap)
    qs.setValue("overlay/opacity", p.overlay_opacity)
    qs.setValue("watch/folder", p.watch_folder)
    qs.setValue("data/dir", p.data_dir)
    qs.setValue("receiver/port", p.receiver_port)
    qs.setValue("receiver/ae_title", p.receiver_ae_title)
    qs.setValue("receiver/callers", p.receiver_callers)
    qs.sync()


def _float(v, default: float) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return default
