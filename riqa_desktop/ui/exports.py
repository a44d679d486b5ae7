"""Batch exports and display decoding: plain functions that the task pool runs off the GUI thread."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..core.assessment import Assessment

DISPLAY_SIDE = 1400  # decode photos for the screen, not at camera resolution


def export_csv(assessments: list[Assessment], path: str) -> str:
    from ..core.report import write_csv

    write_csv(assessments, Path(path))
    return path


def export_html(assessments: list[Assessment], path: str, thumbs=None) -> str:
    """The report: self-contained for a small batch, linking a thumbnails folder beside it past that.

    `thumbs` is the session's ThumbnailStore, where batch rows keep their thumbnails.
    """
    from ..core.report import csv_row, write_html, write_report

    if thumbs is None:
        write_html(assessments, Path(path))
        return path
    for a in assessments:
        if a.thumbnail is not None:  # a row whose thumbnail could not go to disk earlier
            thumbs.put(a)
    write_report([csv_row(a) for a in assessments], Path(path), thumbs)
    return path


def load_display(a: Assessment, side: int = DISPLAY_SIDE) -> tuple:
    """(assessment, photo at screen size, its smooth quality map, the map's contour RGBA) - off the GUI thread."""
    from ..core.loading import read_file
    from ..core.overlay import contour_rgba, decision_level

    frames = read_file(a.path, min_side=side)
    rgb = frames[min(a.frame_index, len(frames) - 1)].rgb
    qmap = contour = None
    if a.quality_map is not None:
        qmap = a.quality_map.full_size((rgb.shape[1], rgb.shape[0]))
        contour = contour_rgba(qmap, decision_level())
    return a, rgb, qmap, contour


def load_thumbnails(assessments: list[Assessment], side: int = 128) -> list[tuple[Assessment, np.ndarray]]:
    """Thumbnails for rows restored from the results store (unreadable files are skipped)."""
    from ..core.analyzer import thumbnail
    from ..core.errors import InputError
    from ..core.loading import read_file

    out = []
    for a in assessments:
        try:
            frames = read_file(a.path, min_side=side)
        except InputError:
            continue
        out.append((a, thumbnail(frames[min(a.frame_index, len(frames) - 1)].rgb, side)))
    return out


def read_today(data_dir: str | None) -> list[tuple[Assessment, datetime]]:
    """Today's (assessment, time) from the results store, oldest first (the worklist adds newest on top)."""
    from ..core.store import ResultsStore, assessment_from_row

    start = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    store = ResultsStore(data_dir or None)
    try:
        rows = store.rows(since=start.astimezone(timezone.utc).isoformat(timespec="seconds"), limit=500)
    finally:
        store.close()
    out = []
    for row in reversed(rows):
        if row.get("batch"):
            continue  # batch reviews are not part of the clinic day's worklist
        out.append((assessment_from_row(row), datetime.fromisoformat(row["assessed_at"]).astimezone()))
    return out
