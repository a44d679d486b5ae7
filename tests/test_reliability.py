"""Hostile files, a watched folder misbehaving, kills mid-batch: nothing lost, nothing touched."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import pytest
from PIL import Image

from riqa_desktop import cli
from riqa_desktop.core import errors
from riqa_desktop.core.loading import read_file
from riqa_desktop.core.watcher import FolderWatcher

from .dicom_fixtures import write_raw
from .hostile_corpus import make_corpus
from .tiny_models import write_tiny_models

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    return d, make_corpus(d)


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    write_tiny_models(d)
    return d


def _fingerprint(folder: Path) -> dict:
    out = {}
    for p in sorted(folder.iterdir()):
        if p.is_symlink() or not p.is_file() or p.name == "fifo.jpg":
            continue
        try:
            out[p.name] = (hashlib.sha256(p.read_bytes()).hexdigest(), os.stat(p).st_mtime_ns)
        except PermissionError:
            out[p.name] = ("unreadable", os.stat(p).st_mtime_ns)
    return out


def test_corpus_has_at_least_60_files(corpus):
    assert len(corpus[1]) >= 60


def test_every_hostile_file_gets_a_reason_or_a_photo(corpus):
    folder, entries = corpus
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for name, expect in entries:
        t = time.perf_counter()
        try:
            frames = read_file(folder / name, min_side=256)
            outcome = "ok"
            assert frames and frames[0].rgb.dtype.name == "uint8" and frames[0].rgb.shape[2] == 3
        except errors.InputError as exc:
            outcome = "error"
            reason = str(exc)
            assert reason and "\n" not in reason and len(reason) < 140, (name, reason)
        assert time.perf_counter() - t < 10, f"{name} took too long"
        if expect != "ok_or_error":
            assert outcome == expect, name
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert grown_mb < 600, f"peak memory grew by {grown_mb:.0f} MB"


def test_batch_over_corpus_reports_each_and_touches_nothing(corpus, models_dir, tmp_path, capsys):
    folder, entries = corpus
    before = _fingerprint(folder)
    code = cli.main(["batch", str(folder), "--out", str(tmp_path / "out"), "--models-dir", str(models_dir),
                     "--data-dir", str(tmp_path / "data"), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    with open(tmp_path / "out" / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    files = [n for n, _ in entries if n != "a_folder.jpg"]  # a folder is walked, not read
    assert len(rows) == len(files)
    assert all(r["ok"] == "True" or r["error"] for r in rows)
    assert _fingerprint(folder) == before


def test_no_socket_is_opened(models_dir, retina_jpeg, tmp_path, monkeypatch, capsys):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    code = cli.main(["assess", str(retina_jpeg), "--json", "--models-dir", str(models_dir),
                     "--data-dir", str(tmp_path / "d"), "--device", "auto"])
    assert code == 0 and json.loads(capsys.readouterr().out.splitlines()[0])["ok"]


def test_report_escapes_names_and_ids(models_dir, retina_rgb, tmp_path, capsys):
    import pydicom

    folder = tmp_path / "in"
    folder.mkdir()
    small = cv2.resize(retina_rgb, (256, 256))
    p = write_raw(folder / "<img src=x onerror=alert(1)>.dcm", small)
    ds = pydicom.dcmread(p)
    ds.PatientID = "<script>alert('id')</script>"
    ds.PatientName = "<b>Evil^Name</b>"
    ds.save_as(p)
    cli.main(["batch", str(folder), "--out", str(tmp_path / "out"), "--models-dir", str(models_dir),
              "--no-store", "--device", "cpu"])
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html
    assert "Evil" not in html  # patient names are never in the report


def test_no_patient_data_in_the_log(models_dir, retina_rgb, tmp_path, caplog, capsys):
    small = cv2.resize(retina_rgb, (256, 256))
    p = write_raw(tmp_path / "pt.dcm", small)  # PatientName Doe^Jane, PatientID TEST-0042
    with caplog.at_level(logging.DEBUG):
        cli.main(["assess", str(p), "--models-dir", str(models_dir), "--data-dir", str(tmp_path / "d"),
                  "--device", "cpu"])
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Doe" not in logged and "Jane" not in logged and "TEST-0042" not in logged
    import sqlite3

    db = sqlite3.connect(tmp_path / "d" / "results.sqlite")
    assert "Doe" not in json.dumps(db.execute("SELECT * FROM assessments").fetchall())


# -- folder watching ------------------------------------------------------------

class Collector:
    def __init__(self):
        self.ready: list[Path] = []
        self.problems: list[tuple[Path, str]] = []
        self.status: list[str] = []
        self.lock = threading.Lock()

    def watcher(self, root: Path, **kw) -> FolderWatcher:
        kw.setdefault("rescan_s", 0.5)
        kw.setdefault("stable_s", 0.3)
        return FolderWatcher(root, on_ready=self._ready, on_problem=self._problem, on_status=self.status.append,
                             **kw)

    def _ready(self, p):
        with self.lock:
            self.ready.append(p)

    def _problem(self, p, why):
        with self.lock:
            self.problems.append((p, why))

    def wait(self, cond, timeout=30.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if cond():
                return True
            time.sleep(0.1)
        return False


@pytest.fixture(scope="module")
def png_bytes(retina_rgb):
    import io

    buf = io.BytesIO()
    Image.fromarray(cv2.resize(retina_rgb, (64, 64))).save(buf, format="PNG")
    return buf.getvalue()


def _unique_png(png_bytes: bytes, i: int) -> bytes:
    """Distinct bytes per file (hash dedupe must not merge them): a tEXt chunk before IEND."""
    import struct
    import zlib

    data = f"n\x00{i}".encode()
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))
    return png_bytes[:-12] + chunk + png_bytes[-12:]


def test_burst_of_500_each_handed_over_once(tmp_path, png_bytes):
    c = Collector()
    w = c.watcher(tmp_path)
    w.start()
    try:
        sub = tmp_path / "day" / "session"
        sub.mkdir(parents=True)
        for i in range(500):
            (sub if i % 2 else tmp_path).joinpath(f"img_{i:04d}.png").write_bytes(_unique_png(png_bytes, i))
        assert c.wait(lambda: len(c.ready) >= 500, 60)
        time.sleep(1.0)
    finally:
        w.stop()
    assert len(c.ready) == 500 and len(set(c.ready)) == 500


def test_temp_name_then_rename_and_duplicates(tmp_path, png_bytes):
    c = Collector()
    w = c.watcher(tmp_path)
    w.start()
    try:
        tmp = tmp_path / "IMG_0001.jpg.tmp"
        tmp.write_bytes(png_bytes)
        time.sleep(1.0)
        tmp.rename(tmp_path / "IMG_0001.png")
        assert c.wait(lambda: len(c.ready) == 1)
        shutil.copy(tmp_path / "IMG_0001.png", tmp_path / "IMG_0001 copy.png")  # the same photo twice
        time.sleep(2.0)
    finally:
        w.stop()
    assert [p.name for p in c.ready] == ["IMG_0001.png"]


def test_file_that_never_completes_is_reported(tmp_path):
    c = Collector()
    w = c.watcher(tmp_path, incomplete_timeout_s=1.5)
    w.start()
    try:
        (tmp_path / "stuck.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 5000)  # no end marker
        assert c.wait(lambda: c.problems, 20)
    finally:
        w.stop()
    assert c.problems[0][0].name == "stuck.jpg" and "never completed" in c.problems[0][1]
    assert not c.ready


def test_permission_denied_reported_at_once(tmp_path, png_bytes, monkeypatch):
    import riqa_desktop.core.watcher as wmod

    def denied(path):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(wmod, "is_complete", denied)
    c = Collector()
    w = c.watcher(tmp_path)
    w.start()
    try:
        (tmp_path / "locked.png").write_bytes(png_bytes)
        assert c.wait(lambda: c.problems, 10)
    finally:
        w.stop()
    assert "permission denied" in c.problems[0][1]


def test_folder_deleted_recreated_and_share_gone_and_back(tmp_path, png_bytes):
    root = tmp_path / "export"
    root.mkdir()
    c = Collector()
    w = c.watcher(root)
    w.start()
    try:
        (root / "a.png").write_bytes(_unique_png(png_bytes, 1))
        assert c.wait(lambda: len(c.ready) == 1)
        shutil.rmtree(root)  # folder deleted (or the share unmounted)
        assert c.wait(lambda: "unavailable" in w.status, 10)
        root.mkdir()
        (root / "b.png").write_bytes(_unique_png(png_bytes, 2))
        assert c.wait(lambda: len(c.ready) == 2, 20)
        moved = tmp_path / "away"
        root.rename(moved)  # a share that disappears ...
        assert c.wait(lambda: "unavailable" in w.status, 10)
        (moved / "c.png").write_bytes(_unique_png(png_bytes, 3))
        moved.rename(root)  # ... and comes back with a new photo
        assert c.wait(lambda: len(c.ready) == 3, 20)
    finally:
        w.stop()
    assert sorted(p.name for p in c.ready) == ["a.png", "b.png", "c.png"]


def test_restart_skips_what_the_store_holds(tmp_path, png_bytes):
    from riqa_desktop.core.assessment import Assessment
    from riqa_desktop.core.store import ResultsStore

    root = tmp_path / "cam"
    root.mkdir()
    for i in range(3):
        (root / f"{i}.png").write_bytes(_unique_png(png_bytes, i))
    store = ResultsStore(tmp_path / "data")
    done = root / "0.png"
    store.add(Assessment(path=str(done), grade="good", file_sha256=hashlib.sha256(done.read_bytes()).hexdigest()))
    c = Collector()
    w = c.watcher(root, known=store.seen)
    w.start()
    try:
        assert c.wait(lambda: len(c.ready) == 2)
        time.sleep(1.0)
    finally:
        w.stop()
    assert sorted(p.name for p in c.ready) == ["1.png", "2.png"]


def test_modified_since_ignores_older_photos(tmp_path, png_bytes):
    old = tmp_path / "last_year.png"
    old.write_bytes(_unique_png(png_bytes, 1))
    os.utime(old, (time.time() - 86400 * 365,) * 2)
    (tmp_path / "today.png").write_bytes(_unique_png(png_bytes, 2))
    c = Collector()
    w = c.watcher(tmp_path, modified_since=time.time() - 3600)
    w.start()
    try:
        assert c.wait(lambda: c.ready)
        time.sleep(1.0)
    finally:
        w.stop()
    assert [p.name for p in c.ready] == ["today.png"]


def test_sigkill_mid_batch_then_resume(models_dir, retina_rgb, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    small = cv2.resize(retina_rgb, (500, 500))
    for i in range(40):
        img = small.copy()
        img[i, i] = (i, i, i)
        Image.fromarray(img).save(folder / f"p{i:02d}.png")
    before = _fingerprint(folder)
    out = tmp_path / "out"
    code = ("import sys; from tests.tiny_models import register_tiny_families; register_tiny_families();"
            "from riqa_desktop.cli import main; sys.exit(main(sys.argv[1:]))")
    argv = [sys.executable, "-c", code, "batch", str(folder), "--out", str(out), "--models-dir", str(models_dir),
            "--data-dir", str(tmp_path / "data"), "--device", "cpu"]
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    csv_path = out / "results.csv"

    def rows() -> int:
        try:
            return max(0, len(csv_path.read_text().splitlines()) - 1)
        except OSError:
            return 0

    end = time.monotonic() + 120
    while rows() < 8 and time.monotonic() < end and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = rows()
    assert 0 < killed_at < 40
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "resuming" in done.stderr
    with open(csv_path, newline="") as fh:
        paths = [r["path"] for r in csv.DictReader(fh)]
    assert len(paths) == 40 and len(set(paths)) == 40  # nothing lost, nothing twice
    assert _fingerprint(folder) == before


def test_report_embeds_thumbnails_for_undecodable_names(tmp_path):
    """A file name that is not UTF-8 still gets its thumbnail in the HTML report (GUI export path)."""
    import numpy as np

    from riqa_desktop.core.assessment import Assessment
    from riqa_desktop.core.report import write_html

    a = Assessment(path=os.fsdecode(b"/camera/latin1_\xe9.jpg"), grade="good",
                   thumbnail=np.full((16, 16, 3), 120, np.uint8))
    write_html([a], tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "latin1_\\xe9.jpg" in page and "data:image/jpeg;base64" in page
