"""Exports of a batch: `results.csv` and a self-contained `report.html`.

A small batch's HTML embeds thumbnails and map overlays as data URIs, so one
file can be mailed or archived; a big one links them from a folder beside it
and is split into pages, so it stays light at archive scale. Every text that comes from a file or its metadata is
escaped (a patient name or file name can contain markup).
"""

from __future__ import annotations

import base64
import csv
import html
import os
import shutil
from pathlib import Path

import numpy as np

from . import imageops
from .assessment import ATTRIBUTES, GRADE_WORDS, Assessment
from .loading import display_path

EMBED_LIMIT = 200  # photos up to which a report is one self-contained file
PAGE_ROWS = 500  # rows per page of a bigger report (its images linked from a folder beside it)

CSV_FIELDS = [
    "path", "frame", "ok", "error", "grade", "confidence", "p_good", "p_usable", "p_reject", "p_not_fundus",
    *[f"{a}_ok" for a in ATTRIBUTES], *[f"{a}_p_bad" for a in ATTRIBUTES], "quality_score", "advice",
    "eye", "patient_id", "acquired", "sha256", "total_ms",
]


def csv_row(a: Assessment) -> dict:
    p = a.grade_probs
    row = {
        "path": display_path(a.path), "frame": a.metadata.frame_index, "ok": a.ok, "error": a.error or "",
        "grade": a.grade or "", "confidence": _r(a.confidence),
        "p_good": _r(p.get("good")), "p_usable": _r(p.get("usable")), "p_reject": _r(p.get("reject")),
        "p_not_fundus": _r(p.get("not_fundus")), "quality_score": _r(a.quality_score),
        "advice": " | ".join(f"{x.title}: {x.action}" for x in a.advice),
        "eye": a.metadata.laterality or "", "patient_id": a.metadata.patient_id,
        "acquired": a.metadata.acquired, "sha256": a.file_sha256, "total_ms": _r(a.timings_ms.get("total"), 1),
    }
    for name in ATTRIBUTES:
        attr = a.attributes.get(name)
        row[f"{name}_ok"] = "" if attr is None else attr.ok
        row[f"{name}_p_bad"] = "" if attr is None else _r(attr.p_bad)
    return row


def _r(v, nd: int = 4):
    return "" if v is None else round(float(v), nd)


def write_csv(assessments: list[Assessment], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        w.writeheader()
        for a in assessments:
            w.writerow(csv_row(a))


def jpeg_data_uri(rgb: np.ndarray) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(imageops.encode_jpeg(rgb, 82)).decode("ascii")


_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#1b1b1b}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:6px;vertical-align:top;text-align:left}
th{background:#f3f3f3}img{width:180px;border-radius:4px}
.good{color:#0a5c2b}.usable{color:#7a5200}.reject,.not_fundus{color:#9b1c1c}.err{color:#9b1c1c}
.summary span{margin-right:1.5em}
"""
_ICON = {"good": "&#10004;", "usable": "&#9888;", "reject": "&#10008;", "not_fundus": "&#8856;"}


def map_thumbnail(a: Assessment) -> np.ndarray | None:
    """The assessment's thumbnail with its quality map blended over it (None without both)."""
    from .overlay import blend, decision_level

    if a.thumbnail is None or a.quality_map is None:
        return None
    h, w = a.thumbnail.shape[:2]
    return blend(a.thumbnail, a.quality_map.full_size((w, h)), level=decision_level())


def write_html(assessments: list[Assessment], path: Path, title: str = "Fundus photo quality report") -> None:
    """The report with each photo's thumbnail and map overlay embedded."""
    images = {}
    for a in assessments:
        if a.thumbnail is not None:
            over = map_thumbnail(a)
            images[(display_path(a.path), a.metadata.frame_index)] = (
                jpeg_data_uri(a.thumbnail), jpeg_data_uri(over) if over is not None else "")
    write_html_rows([csv_row(a) for a in assessments], path, images, title)


def write_html_rows(rows: list[dict], path: Path, images: dict[tuple[str, int], tuple[str, str]],
                    title: str = "Fundus photo quality report") -> None:
    """The report from CSV rows (so a resumed batch reports every photo, old and new), one page."""
    Path(path).write_text(_page(rows, rows, images, title, ""), encoding="utf-8")


def write_report(rows: list[dict], path: Path, thumbs, title: str = "Fundus photo quality report",
                 embed_limit: int = EMBED_LIMIT, page_rows: int = PAGE_ROWS) -> list[Path]:
    """The report of a batch from its CSV rows and its `ThumbnailStore`; returns the files written.

    Up to `embed_limit` photos: one self-contained file (images as data URIs). Past it, the images are
    linked from a thumbnails folder beside the report (the store's own when it is there already) and
    the rows are split into pages of `page_rows`, so no file grows with the archive.
    """
    path = Path(path)
    keys = [(r["path"], int(r["frame"] or 0)) for r in rows]
    if len(rows) <= embed_limit:
        images = {k: tuple(_data_uri(thumbs.jpeg(*k, overlay=o)) for o in (False, True)) for k in keys}
        write_html_rows(rows, path, images, title)
        return [path]
    folder = thumbs.folder
    if folder.resolve().parent != path.parent.resolve():
        folder = path.parent / f"{path.stem}_thumbs"
        folder.mkdir(parents=True, exist_ok=True)
        for k in keys:
            for o in (False, True):
                src = thumbs.file(*k, overlay=o)
                if src.exists():
                    shutil.copyfile(src, folder / src.name)
    images = {}
    for k in keys:
        images[k] = tuple(f"{folder.name}/{thumbs.file(*k, overlay=o).name}"
                          if (folder / thumbs.file(*k, overlay=o).name).exists() else "" for o in (False, True))
    pages = [rows[i:i + page_rows] for i in range(0, len(rows), page_rows)]
    names = [path.name] + [f"{path.stem}_{i + 1}{path.suffix}" for i in range(1, len(pages))]
    for i, page in enumerate(pages):
        nav = "<p class='pages'>Pages: " + " ".join(
            f"<b>{j + 1}</b>" if j == i else f"<a href='{html.escape(n)}'>{j + 1}</a>" for j, n in enumerate(names)) + "</p>"
        (path.parent / names[i]).write_text(_page(rows, page, images, title, nav), encoding="utf-8")
    return [path.parent / n for n in names]


def _data_uri(jpeg: bytes | None) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii") if jpeg else ""


def _page(all_rows: list[dict], rows: list[dict], images: dict, title: str, nav: str) -> str:
    counts: dict[str, int] = {}
    for r in all_rows:
        key = r["grade"] if _true(r["ok"]) else "unreadable"
        counts[key] = counts.get(key, 0) + 1
    e = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title>"
             f"<style>{_STYLE}</style></head><body><h1>{e(title)}</h1><p class='summary'>"]
    parts += [f"<span>{e(GRADE_WORDS.get(k, k.capitalize()))}: <b>{v}</b></span>" for k, v in sorted(counts.items())]
    parts.append(f"</p>{nav}<table><tr><th>Photo</th><th>Quality map</th><th>Verdict</th><th>Details</th>"
                 "<th>Advice</th></tr>")
    parts += [_row(r, images) for r in rows]
    parts.append(f"</table>{nav}</body></html>")
    return "".join(parts)


def _row(r: dict, images: dict) -> str:
    e = html.escape
    frame = int(r["frame"] or 0)
    thumb, over = images.get((r["path"], frame), ("", ""))
    name = e(Path(r["path"]).name) + (f" (frame {frame + 1})" if frame else "")
    img = f"<img alt='photo' loading='lazy' src='{e(thumb)}'>" if thumb else ""
    ov = f"<img alt='quality map' loading='lazy' src='{e(over)}'>" if over else ""
    if not _true(r["ok"]):
        return (f"<tr><td>{img}<br>{name}</td><td></td><td class='err'>Unreadable</td>"
                f"<td class='err'>{e(r['error'] or '')}</td><td></td></tr>")
    grade = r["grade"] or ""
    conf = f" ({float(r['confidence']):.0%})" if r["confidence"] not in ("", None) else ""
    attrs = []
    for n in ATTRIBUTES:
        if r.get(f"{n}_ok") not in ("", None):
            attrs.append(f"{n.capitalize()}: {'ok' if _true(r[f'{n}_ok']) else 'poor'}"
                         f" ({float(r[f'{n}_p_bad']):.0%} poor)")
    meta = []
    if r["eye"]:
        meta.append("Eye: " + ("right" if r["eye"] == "R" else "left"))
    if r["patient_id"]:
        meta.append("Patient ID: " + e(str(r["patient_id"])))
    if r["quality_score"] not in ("", None):
        meta.append(f"Quality score: {float(r['quality_score']):.2f}")
    advice = "<br>".join(e(x) for x in str(r["advice"] or "").split(" | ") if x)
    return (f"<tr><td>{img}<br>{name}</td><td>{ov}</td>"
            f"<td class='{e(grade)}'>{_ICON.get(grade, '')} {e(GRADE_WORDS.get(grade, grade))}{conf}</td>"
            f"<td>{'<br>'.join(attrs + meta)}</td><td>{advice}</td></tr>")


def _true(v) -> bool:
    return v is True or str(v) == "True"


class CsvLog:
    """`results.csv` written one durable row at a time; reopening continues it."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.rows: list[dict] = []
        if self.path.exists():
            with open(self.path, newline="", encoding="utf-8") as fh:
                self.rows = list(csv.DictReader(fh))
        self._fh = open(self.path, "a", newline="", encoding="utf-8")
        self._w = csv.DictWriter(self._fh, fieldnames=CSV_FIELDS)
        if not self.rows and self._fh.tell() == 0:
            self._w.writeheader()

    def done(self) -> set[str]:
        return {r["path"] for r in self.rows}

    def append(self, a: Assessment) -> None:
        row = csv_row(a)
        self._w.writerow(row)
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.rows.append({k: ("" if v is None else str(v)) for k, v in row.items()})

    def close(self) -> None:
        self._fh.close()
