"""The result of assessing one photo (or one DICOM frame): what every view reads.

Conventions: probabilities are floats in [0, 1]; the quality map holds the
probability that a patch is degraded (0 = fine, 1 = surely degraded);
`quality_score` is 1 - mean patch probability, so higher is better.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .loading import PhotoMetadata, display_path
from .preprocess import Geometry

GRADES = ("good", "usable", "reject")
ATTRIBUTES = ("illumination", "clarity", "contrast")
GRADE_WORDS = {"good": "Good", "usable": "Usable", "reject": "Reject", "not_fundus": "Not a fundus photo"}


@dataclass
class AttributeResult:
    ok: bool
    p_bad: float

    def as_dict(self) -> dict:
        return {"ok": self.ok, "p_bad": round(self.p_bad, 4)}


@dataclass
class QualityMap:
    """EFIQA patch grid (G x G, degraded probability) over the FOV square."""

    grid: np.ndarray
    geometry: Geometry

    def full_size(self, out_size: tuple[int, int] | None = None) -> np.ndarray:
        """The map drawn smoothly over the original photo (or `out_size` = (w, h)), float32 in [0, 1]."""
        from .overlay import smooth_grid

        return np.clip(self.geometry.to_original(smooth_grid(self.grid), out_size), 0.0, 1.0)


@dataclass
class AdviceItem:
    """One piece of recapture advice; `evidence` says which output triggered it."""

    code: str
    severity: str  # "info" | "warning" | "critical"
    title: str
    action: str
    region: str = "whole photo"
    evidence: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Assessment:
    path: str
    ok: bool = True
    error: str | None = None
    grade: str | None = None  # good | usable | reject | not_fundus
    grade_probs: dict[str, float] = field(default_factory=dict)
    confidence: float | None = None
    attributes: dict[str, AttributeResult] = field(default_factory=dict)
    quality_score: float | None = None
    quality_map: QualityMap | None = None
    fov: dict = field(default_factory=dict)
    measurements: dict = field(default_factory=dict)  # per-sector brightness / sharpness
    advice: list[AdviceItem] = field(default_factory=list)
    comparison: str | None = None  # re-shot comparison with the previous photo of the eye
    eye_group: str = ""  # shots of one eye share this id (core.reshoot); "" = not grouped yet
    metadata: PhotoMetadata = field(default_factory=PhotoMetadata)
    timings_ms: dict[str, float] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)
    file_sha256: str = ""
    file_size: int = 0
    thumbnail: np.ndarray | None = field(default=None, repr=False)  # small RGB copy for lists and reports
    eye_print: np.ndarray | None = field(default=None, repr=False)  # vessel pattern (core.sameeye)
    eye_model: dict | None = None  # the quality model's laterality: {"p_right", "threshold"} (see core/laterality)
    eye_guess: dict | None = None  # core.laterality.eye_of, made once by `eye()`: the eye every output names

    @property
    def frame_index(self) -> int:
        return self.metadata.frame_index

    @classmethod
    def failed(cls, path: str, reason: str) -> "Assessment":
        return cls(path=path, ok=False, error=reason)

    def lower_grade(self, to: str, rule: str, reason: dict) -> None:
        """A core rule (`grade_floor`, `grade_cap`) lowers the model's verdict to `to`: the better grades' probability
        moves to it, so the clinic's thresholds agree, and `measurements[rule]` keeps the reason beside the model's
        own grade and probabilities."""
        self.measurements[rule] = {**reason, "model_grade": self.grade,
                                   "model_probs": {k: round(v, 4) for k, v in self.grade_probs.items()}}
        k = GRADES.index(to)
        p = self.grade_probs
        self.grade_probs = {**p, **{g: 0.0 for g in GRADES[:k]}, to: sum(p.get(g, 0.0) for g in GRADES[:k + 1])}
        norm = sum(self.grade_probs.get(g, 0.0) for g in GRADES) or 1.0
        self.grade, self.confidence = to, self.grade_probs[to] / norm

    def eye(self) -> tuple[str | None, str]:
        """(eye "R" / "L" / None, where it came from: "dicom", "filename", "model", "disc" or "").

        The metadata's eye, else the photo's (`core.laterality.eye_of`), worked out on first
        use (a few ms) and kept, so the advice, the GUI, the CLI and the JSON name one eye.
        """
        if self.eye_guess is None and self.ok:
            from .laterality import eye_of

            self.eye_guess = eye_of(self).as_dict()
        if self.eye_guess is not None:
            return self.eye_guess.get("eye"), self.eye_guess.get("source") or ""
        md = self.metadata
        return md.laterality, (md.laterality_source or "metadata") if md.laterality else ""

    def to_json(self) -> dict:
        """The stable JSON record of `riqa assess --json` (one object per line)."""
        eye, eye_source = self.eye()
        return {
            "path": display_path(self.path),
            "frame": self.metadata.frame_index,
            "ok": self.ok,
            "error": self.error,
            "grade": self.grade,
            "grade_probs": {k: round(v, 4) for k, v in self.grade_probs.items()},
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "grade_floor": self.measurements.get("grade_floor"),  # core.grade_floor: too dark to grade
            "grade_cap": self.measurements.get("grade_cap"),  # core.grade_cap: a large part of the field marked
            "attributes": {k: v.as_dict() for k, v in self.attributes.items()},
            "quality_score": None if self.quality_score is None else round(self.quality_score, 4),
            "advice": [a.title + ": " + a.action if a.action else a.title for a in self.advice],
            "advice_items": [a.as_dict() for a in self.advice],
            "comparison": self.comparison,
            "eye_group": self.eye_group or None,
            "fov": self.fov,
            "eye": eye,
            "eye_source": eye_source or None,
            "eye_model": self.eye_model,
            "patient_id": self.metadata.patient_id,
            "acquired": self.metadata.acquired,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "models": self.models,
            "sha256": self.file_sha256,
        }
