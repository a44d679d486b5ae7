"""The results store: every assessment appended to SQLite, the app's audit trail.

WAL mode and one transaction per row, so a crash (even SIGKILL) mid-batch
loses nothing already written and never leaves half a row. Patient names are
never stored; patient ID and eye are, for the worklist.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

from .assessment import Assessment
from .loading import display_path

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
    batch TEXT
);
CREATE INDEX IF NOT EXISTS idx_assessments_sha ON assessments(sha256);
CREATE INDEX IF NOT EXISTS idx_assessments_path ON assessments(path);
CREATE INDEX IF NOT EXISTS idx_assessments_time ON assessments(assessed_at);
"""


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

    def add(self, a: Assessment, batch: str | None = None) -> int:
        row = (
            datetime.now(timezone.utc).isoformat(timespec="seconds"),
            display_path(a.path), a.metadata.frame_index, a.file_size or None, a.file_sha256 or None, int(a.ok), a.error,
            a.grade, a.confidence, json.dumps(a.grade_probs),
            json.dumps({k: v.as_dict() for k, v in a.attributes.items()}), a.quality_score,
            json.dumps([x.as_dict() for x in a.advice]), a.comparison, a.metadata.laterality,
            a.metadata.patient_id or None, a.metadata.acquired or None, json.dumps(a.models),
            json.dumps({k: round(v, 2) for k, v in a.timings_ms.items()}), batch,
        )
        with self._lock, self._db:
            cur = self._db.execute(
                "INSERT INTO assessments (assessed_at, path, frame, size, sha256, ok, error, grade, confidence,"
                " grade_probs, attributes, quality_score, advice, comparison, eye, patient_id, acquired, models,"
                " timings, batch) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
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
