"""`riqa batch --cluster`: a local Dask cluster of 2 worker processes over 24 photos made from the samples.

The cluster path must write what a local batch writes, and lose or duplicate nothing when a worker or
the driver is killed mid-run (SIGKILL; the rerun resumes).
"""

from __future__ import annotations

import csv
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from distributed import Client, LocalCluster
from PIL import Image

from riqa_desktop import cli
from riqa_desktop.core.cluster import run_cluster_batch
from riqa_desktop.core.store import ResultsStore
from riqa_desktop.resources import samples_dir

N_PHOTOS = 24
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("archive")
    src = sorted(samples_dir().glob("*.jpg"))
    for i in range(N_PHOTOS):
        im = Image.open(src[i % len(src)]).convert("RGB")
        w = 420 + 8 * i
        im.resize((w, round(w * im.height / im.width))).save(d / f"p{i:02d}.jpg", quality=90)
    (d / "broken.jpg").write_bytes(b"\xff\xd8\xff not a whole JPEG")
    return d


@pytest.fixture(scope="module")
def cluster():
    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, silence_logs=logging.ERROR,
                     scheduler_kwargs={"dashboard": False})
    yield c
    c.close()


def _rows(out: Path) -> list[dict]:
    f = out / "results.csv"
    if not f.exists():
        return []
    with open(f, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _store_rows(data: Path) -> list[tuple]:
    with sqlite3.connect(data / "results.sqlite") as db:
        return db.execute("SELECT path, frame, batch, grade FROM assessments").fetchall()


def _assert_each_photo_once(out: Path, data: Path, photos: Path) -> None:
    rows = _rows(out)
    expected = sorted(str(p) for p in photos.iterdir())
    assert sorted(r["path"] for r in rows) == expected  # every photo, none twice
    stored = _store_rows(data)
    assert sorted(r[0] for r in stored) == expected
    assert len({r[2] for r in stored}) == 1 and stored[0][2]  # one batch id, kept across the resume


def _wait_for_rows(out: Path, until) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        n = len(_rows(out))
        if n >= 1 or not until():
            return n
        time.sleep(0.02)
    raise AssertionError("no result rows appeared")


def test_cluster_batch_writes_what_a_local_batch_writes(cluster, photos, tmp_path):
    rc = cli.main(["batch", str(photos), "--out", str(tmp_path / "c"), "--cluster", cluster.scheduler_address,
                   "--data-dir", str(tmp_path / "dc"), "--device", "cpu"])
    assert cli.main(["batch", str(photos), "--out", str(tmp_path / "l"), "--data-dir", str(tmp_path / "dl"),
                     "--device", "cpu"]) == rc == cli.EXIT_UNREADABLE
    local = {r["path"]: r for r in _rows(tmp_path / "l")}
    on_cluster = {r["path"]: r for r in _rows(tmp_path / "c")}
    assert set(local) == set(on_cluster) and len(local) == N_PHOTOS + 1
    for path, r in local.items():
        assert {k: v for k, v in on_cluster[path].items() if k != "total_ms"} == \
            {k: v for k, v in r.items() if k != "total_ms"}, path
    assert sorted(os.listdir(tmp_path / "c" / "thumbs")) == sorted(os.listdir(tmp_path / "l" / "thumbs"))
    assert (tmp_path / "c" / "report.html").stat().st_size > 0
    _assert_each_photo_once(tmp_path / "c", tmp_path / "dc", photos)


def test_worker_killed_mid_run_loses_and_duplicates_nothing(cluster, photos, tmp_path):
    out, data = tmp_path / "out", tmp_path / "data"
    run = threading.Thread(target=cli.main, args=(["batch", str(photos), "--out", str(out), "--cluster",
                                                   cluster.scheduler_address, "--data-dir", str(data)],))
    run.start()
    seen = _wait_for_rows(out, run.is_alive)
    victim = next(iter(cluster.workers.values())).process.pid
    os.kill(victim, signal.SIGKILL)
    run.join(timeout=180)
    assert 0 < seen < N_PHOTOS + 1, "the worker was not killed mid-run"
    _assert_each_photo_once(out, data, photos)


def test_driver_killed_mid_run_resumes_on_a_new_local_cluster(cluster, photos, tmp_path):
    out, data = tmp_path / "out", tmp_path / "data"
    driver = subprocess.Popen([sys.executable, "-m", "riqa_desktop.cli", "batch", str(photos), "--out", str(out),
                               "--cluster", cluster.scheduler_address, "--data-dir", str(data)],
                              cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen = _wait_for_rows(out, lambda: driver.poll() is None)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    assert 0 < seen < N_PHOTOS + 1, "the driver was not killed mid-run"
    assert cli.main(["batch", str(photos), "--out", str(out), "--cluster", "local", "--workers", "1",
                     "--data-dir", str(data)]) == cli.EXIT_UNREADABLE
    _assert_each_photo_once(out, data, photos)


def test_frames_already_in_the_store_are_not_recorded_again(cluster, photos, tmp_path):
    """A driver killed between the store and the CSV: the rerun yields the photo again but stores it once."""
    paths = sorted(photos.glob("p0[0-2].jpg"))
    store = ResultsStore(tmp_path)
    with Client(cluster.scheduler_address) as client:
        opts = {"device": "cpu"}
        first = list(run_cluster_batch(client, paths[:1], opts, store, "b1"))
        again = list(run_cluster_batch(client, paths, opts, store, "b1"))
    assert [a.grade for a in again[:1]] == [a.grade for a in first]
    assert sorted(store.recorded("b1")) == [(str(p), 0) for p in paths]
    assert store.count() == len(paths)


def test_a_bad_scheduler_address_is_one_line(photos, tmp_path, capsys):
    assert cli.main(["batch", str(photos), "--out", str(tmp_path), "--cluster", "no-port-here", "--no-store"]) \
        == cli.EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "cannot reach the cluster scheduler at no-port-here" in err and "Traceback" not in err
