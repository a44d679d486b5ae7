"""The results store: every assessment appended to SQLite, the app's audit trail.

WAL mode and one transaction per row, so a crash (even SIGKILL) mid-batch
loses nothing already written and never leaves half a row. Patient names are
never stored; patient ID and eye are, for the worklist, and so are each
photo's eye group and eye print (core.sameeye), so re-shots still find the
earlier shot of their eye after a restart.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import threading
import zlib
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .assessment import AdviceItem, Assessment, AttributeResult
from .loading import PhotoMetadata, display_path
from .sameeye import SIDE as PRINT_SIDE

_SCHEMA = """
CREATE TABLE IF NOT EXISTS assessments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    assessed_at TEXT NOT NULL,
    path TEXT NOT NULL,
    frame INTEGER NOT NULL DEFAULT 0,
    size INTEGER,
    sha256 TEXT,
    ok INTEGER NOT NULL,
    error TEXT,
    grade TEXT,
    confidence REAL,
    grade_probs TEXT,
    attributes TEXT,
    quality_score REAL,
    advice TEXT,
    comparison TEXT,
    eye TEXT,
    patient_id TEXT,
    acquired TEXT,
    models TEXT,
    timings TEXT,
    batch TEXT,
    eye_group TEXT,
    eye_print BLOB
);
CREATE INDEX IF NOT EXISTS idx_assessments_sha ON assessments(sha256);
CREATE INDEX IF NOT EXISTS idx_assessments_path ON assessments(path);
CREATE INDEX IF NOT EXISTS idx_assessments_time ON assessments(assessed_at);
"""
_ADDED_COLUMNS = {"eye_group": "TEXT", "eye_print": "BLOB"}  # columns newer than the first stores


def _pack_print(p: np.ndarray | None) -> bytes | None:
    """The eye print, zlib-compressed (mostly zeros: about 2 KB instead of 16 KB)."""
    return None if p is None else zlib.compress(np.ascontiguousarray(p, np.uint8).tobytes(), 6)


def _unpack_print(blob) -> np.ndarray | None:
    try:
        raw = zlib.decompress(blob) if blob else b""
    except (zlib.error, TypeError):
        return None
    if len(raw) != PRINT_SIDE * PRINT_SIDE:
        return None
    return np.frombuffer(raw, np.uint8).reshape(PRINT_SIDE, PRINT_SIDE).copy()


def assessment_from_row(row: dict) -> Assessment:
    """A results-store row as a (map-less, thumbnail-less) Assessment: refills the worklist and the tracker."""
    a = Assessment(path=row["path"], ok=bool(row["ok"]), error=row.get("error"), grade=row.get("grade"),
                   confidence=row.get("confidence"), quality_score=row.get("quality_score"),
                   comparison=row.get("comparison"), eye_group=row.get("eye_group") or "")
    a.grade_probs = json.loads(row.get("grade_probs") or "{}")
    a.attributes = {k: AttributeResult(**v) for k, v in json.loads(row.get("attributes") or "{}").items()}
    a.advice = [AdviceItem(**d) for d in json.loads(row.get("advice") or "[]")]
    a.metadata = PhotoMetadata(laterality=row.get("eye"), patient_id=row.get("patient_id") or "",
                               acquired=row.get("acquired") or "", frame_index=int(row.get("frame") or 0))
    a.eye_print = _unpack_print(row.get("eye_print"))
    return a


def default_data_dir() -> Path:
    """`RIQA_DATA_DIR`, else the platform's per-user data folder."""
    env = os.environ.get("RIQA_DATA_DIR")
    if env:
        return Path(env)
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home())) / "riqa_desktop"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "riqa_desktop"
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "riqa_desktop"


class ResultsStore:
    """Thread-safe append-only log of assessments in `<data_dir>/results.sqlite`."""

    def __init__(self, data_dir: str | Path | None = None):
        self.data_dir = Path(data_dir) if data_dir else default_data_dir()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / "results.sqlite"
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        have = {r[1] for r in self._db.execute("PRAGMA table_info(assessments)")}
        with self._db:
            for name, kind in _ADDED_COLUMNS.items():
                if name not in have:
                    self._db.execute(f"ALTER TABLE assessments ADD COLUMN {name} {kind}")

    def add(self, a: Assessment, batch: str | None = None) -> int:
        row = (
            datetime.now(timezone.utc).isoformat(timespec="seconds"),
            display_path(a.path), a.metadata.frame_index, a.file_size or None, a.file_sha256 or None, int(a.ok), a.error,
            a.grade, a.confidence, json.dumps(a.grade_probs),
            json.dumps({k: v.as_dict() for k, v in a.attributes.items()}), a.quality_score,
            json.dumps([x.as_dict() for x in a.advice]), a.comparison, a.metadata.laterality,
            a.metadata.patient_id or None, a.metadata.acquired or None, json.dumps(a.models),
            json.dumps({k: round(v, 2) for k, v in a.timings_ms.items()}), batch, a.eye_group or None,
            _pack_print(a.eye_print),
        )
        with self._lock, self._db:
            cur = self._db.execute(
                "INSERT INTO assessments (assessed_at, path, frame, size, sha256, ok, error, grade, confidence,"
                " grade_probs, attributes, quality_score, advice, comparison, eye, patient_id, acquired, models,"
                " timings, batch, eye_group, eye_print) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                row,
            )
            return int(cur.lastrowid)

    def seen(self, sha256: str) -> bool:
        """Has a photo with these exact bytes been assessed successfully before?"""
        with self._lock:
            cur = self._db.execute("SELECT 1 FROM assessments WHERE sha256 = ? AND ok = 1 LIMIT 1", (sha256,))
            return cur.fetchone() is not None

    def done_paths(self, batch: str) -> set[str]:
        """Paths (as `display_path` text) already recorded for a batch (to resume after a crash)."""
        with self._lock:
            cur = self._db.execute("SELECT DISTINCT path FROM assessments WHERE batch = ?", (batch,))
            return {r[0] for r in cur.fetchall()}

    def recorded(self, batch: str) -> set[tuple[str, int]]:
        """(path, frame) pairs already recorded for a batch: a resumed cluster batch records each once."""
        with self._lock:
            cur = self._db.execute("SELECT DISTINCT path, frame FROM assessments WHERE batch = ?", (batch,))
            return {(r[0], int(r[1])) for r in cur.fetchall()}

    def rows(self, since: str | None = None, limit: int = 1000) -> list[dict]:
        """Newest first; `since` is an ISO date/time (e.g. today's date for the clinic day)."""
        q = "SELECT * FROM assessments"
        args: tuple = ()
        if since:
            q += " WHERE assessed_at >= ?"
            args = (since,)
        q += " ORDER BY id DESC LIMIT ?"
        with self._lock:
            cur = self._db.execute(q, args + (limit,))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM assessments").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
