"""Received-to-verdict latency of the DICOM receiver: C-STORE sent -> file in the incoming folder -> Assessment.

The same parts as `riqa receive`: DicomReceiver on loopback, the folder watcher
on its incoming folder (no settle wait: received files appear whole), the
Analyzer with the shipped models. Photos are real: a DRIMDB 760x570 photo as
uncompressed Ophthalmic Photography, and the HRF 3504x2336 photo as JPEG-LS,
the lossless syntax many cameras send.
"""

from __future__ import annotations

import queue
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

from .tables import percentile, table

OP8 = "1.2.840.10008.5.1.4.1.1.77.1.5.1"


def _datasets(root: Path, tmp: Path) -> dict[str, object]:
    import pydicom

    from tests.dicom_fixtures import write_raw, write_syntax

    drimdb = np.asarray(Image.open(root / "DRIMDB" / "Good" / "drimdb_good (1).jpg").convert("RGB"))
    hrf = np.asarray(Image.open(root / "HRF" / "images" / "01_h.jpg").convert("RGB"))
    return {"DRIMDB 760x570, uncompressed": pydicom.dcmread(write_raw(tmp / "d.dcm", drimdb)),
            "HRF 3504x2336, JPEG-LS lossless": pydicom.dcmread(write_syntax(tmp / "h.dcm", hrf, "jpegls"))}


def receive(root: Path, repeats: int, backend: str = "torch") -> str:
    from pydicom.uid import generate_uid
    from pynetdicom import AE

    from riqa_desktop.core.analyzer import Analyzer
    from riqa_desktop.core.receiver import DicomReceiver
    from riqa_desktop.core.watcher import FolderWatcher

    analyzer = Analyzer(device="cpu", backend=backend)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        datasets = _datasets(root, tmp)
        receiver = DicomReceiver(tmp / "incoming", port=0, bind="127.0.0.1")
        receiver.start()
        ready: queue.Queue = queue.Queue()
        watcher = FolderWatcher(tmp / "incoming", on_ready=ready.put, stable_s=0.0, polling=False)
        watcher.start()
        done: dict[str, float] = {}

        def consume():
            while True:
                path = ready.get()
                if path is None:
                    return
                analyzer.assess_path(path)
                done[Path(path).stem] = time.perf_counter()

        worker = threading.Thread(target=consume, daemon=True)
        worker.start()
        ae = AE(ae_title="BENCH")
        for ts in ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2.4.80"):
            ae.add_requested_context(OP8, ts)
        assoc = ae.associate("127.0.0.1", receiver.port, ae_title="RIQA")
        try:
            for label, ds in datasets.items():
                stored, verdict = [], []
                for i in range(repeats + 1):  # the first is a warm-up
                    ds.SOPInstanceUID = uid = generate_uid()
                    t = time.perf_counter()
                    assert assoc.send_c_store(ds).Status == 0x0000
                    t_stored = time.perf_counter()
                    while uid not in done:
                        time.sleep(0.002)
                    if i:
                        stored.append((t_stored - t) * 1000)
                        verdict.append((done[uid] - t) * 1000)
                rows.append([label, percentile(stored, 50), percentile(verdict, 50), percentile(verdict, 95)])
        finally:
            assoc.release()
            ready.put(None)
            watcher.stop()
            receiver.stop()
    return table(f"DICOM receiver: C-STORE sent -> verdict ({backend}, {repeats} photos each, loopback)",
                 ["photo", "stored p50 ms", "verdict p50 ms", "verdict p95 ms"], rows)
