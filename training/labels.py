"""Readers for the official quality-label formats, all mapped to one coding.

Our coding: grade 0 Good, 1 Usable, 2 Reject; details {attribute: 1 bad, 0 good};
`not_fundus` True for pictures that are not a usable fundus photo.
- EyeQ `Label_EyeQ_{train,test}.csv`: columns `,image,quality,DR_grade`; quality 0 Good / 1 Usable / 2 Reject.
- EyeQ-D `EyeQ-D-Quality-Details.csv`: `file_name` (no extension), overall **reversed** (2 Good / 1 Usable /
  0 Reject), illumination / clarity / contrast **1 good / 0 bad** (so they are inverted here).
- DeepDRiD regular fundus (`regular-fundus-{training,validation}.csv`): `image_id`, `image_path`,
  `Overall quality` (1 good enough for diagnosis -> Good, 0 -> Reject), `Clarity`, `Field definition`,
  `Artifact` kept as raw scores in `extra`.
- DRIMDB: `labels.csv` (filename,label) or the Good / Bad / Outlier folders.
- Generic CSV: `path,label` with label good / usable / reject (bad = reject) / outlier, or 0 / 1 / 2.
Rows whose image file is absent are skipped (`missing="skip"`) or raise (`missing="error"`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

IMAGE_EXTS = (".jpeg", ".jpg", ".png", ".tif", ".tiff", ".bmp")
NAMED_GRADES = {"good": 0, "usable": 1, "reject": 2, "bad": 2}


@dataclass
class LabeledImage:
    path: Path
    grade: int | None  # 0 Good, 1 Usable, 2 Reject; None when not a fundus photo
    details: dict[str, int] = field(default_factory=dict)  # attribute -> 1 bad / 0 good
    not_fundus: bool = False
    extra: dict = field(default_factory=dict)


def _rows(csv_path: Path) -> list[dict]:
    with open(csv_path, newline="", encoding="utf-8-sig") as fh:
        return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]


def _find(image_dir: Path, name: str) -> Path | None:
    p = image_dir / name
    if p.suffix.lower() in IMAGE_EXTS and p.is_file():
        return p
    for ext in IMAGE_EXTS:
        q = image_dir / f"{name}{ext}"
        if q.is_file():
            return q
    return None


def _keep(out: list, path: Path | None, name: str, missing: str, item) -> None:
    if path is None:
        if missing == "error":
            raise FileNotFoundError(f"labelled image '{name}' not found")
        return
    out.append(item(path))


def read_eyeq(csv_path, image_dir, missing: str = "skip") -> list[LabeledImage]:
    out: list[LabeledImage] = []
    for r in _rows(Path(csv_path)):
        q = int(r["quality"])
        if q not in (0, 1, 2):
            raise ValueError(f"{csv_path}: quality {q} is not 0/1/2")
        _keep(out, _find(Path(image_dir), r["image"]), r["image"], missing,
              lambda p, q=q, r=r: LabeledImage(p, q, extra={"DR_grade": int(r["DR_grade"])}))
    return out


def read_eyeq_details(csv_path, image_dir, missing: str = "skip") -> list[LabeledImage]:
    """EyeQ-D: reversed overall coding and 1 = good details, both converted to ours."""
    out: list[LabeledImage] = []
    for r in _rows(Path(csv_path)):
        overall = int(r["overall_quality"])
        if overall not in (0, 1, 2):
            raise ValueError(f"{csv_path}: overall_quality {overall} is not 0/1/2")
        details = {a: 1 - int(r[a]) for a in ("illumination", "clarity", "contrast")}
        _keep(out, _find(Path(image_dir), r["file_name"]), r["file_name"], missing,
              lambda p, g=2 - overall, d=details: LabeledImage(p, g, d))
    return out


def read_deepdrid(csv_path, image_root, missing: str = "skip") -> list[LabeledImage]:
    """DeepDRiD regular fundus quality labels; images found by `image_path` or by `image_id` anywhere below root."""
    root = Path(image_root)
    index = None
    out: list[LabeledImage] = []
    for r in _rows(Path(csv_path)):
        rel = r.get("image_path", "").replace("\\", "/").lstrip("/")
        path = next((c for c in (root / rel, root / Path(rel).name) if rel and c.is_file()), None)
        if path is None:
            if index is None:
                index = {p.stem: p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTS}
            path = index.get(r["image_id"])
        extra = {k: float(r[k]) for k in ("Clarity", "Field definition", "Artifact") if r.get(k, "") != ""}
        grade = 0 if int(float(r["Overall quality"])) == 1 else 2
        _keep(out, path, r["image_id"], missing, lambda p, g=grade, e=extra: LabeledImage(p, g, extra=e))
    return out


def _from_name(label: str) -> tuple[int | None, bool]:
    lab = label.strip().lower()
    if lab == "outlier":
        return None, True
    if lab in NAMED_GRADES:
        return NAMED_GRADES[lab], False
    if lab in ("0", "1", "2"):
        return int(lab), False
    raise ValueError(f"unknown quality label '{label}' (good/usable/reject/bad/outlier or 0/1/2)")


def read_generic_csv(csv_path, image_dir=None, missing: str = "skip") -> list[LabeledImage]:
    """`path,label` rows; relative paths are taken from image_dir (default: the CSV's folder)."""
    base = Path(image_dir) if image_dir else Path(csv_path).parent
    out: list[LabeledImage] = []
    for r in _rows(Path(csv_path)):
        name = r.get("path") or r.get("filename") or r.get("image")
        if name is None or "label" not in r:
            raise ValueError(f"{csv_path}: needs columns path (or filename) and label")
        grade, nf = _from_name(r["label"])
        p = Path(name) if Path(name).is_absolute() else base / name
        _keep(out, p if p.is_file() else None, name, missing, lambda p, g=grade, n=nf: LabeledImage(p, g, not_fundus=n))
    return out


def read_drimdb(folder, missing: str = "skip") -> list[LabeledImage]:
    """DRIMDB: `labels.csv` when present, else one folder per class (Good, Bad, Outlier)."""
    folder = Path(folder)
    if (folder / "labels.csv").is_file():
        return read_generic_csv(folder / "labels.csv", folder, missing)
    out = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        grade, nf = _from_name(sub.name)
        out += [LabeledImage(p, grade, not_fundus=nf) for p in sorted(sub.iterdir()) if p.suffix.lower() in IMAGE_EXTS]
    return out
