"""Decode DICOM pixel data in a child process, for codecs that can end the process they run in.

python-gdcm is the only permissive JPEG Lossless decoder we may ship, and on
some corrupt codestreams it aborts (a C++ exception nobody catches): no
Python `except` can stop that. So its decodes run in one long-lived worker
process; when a file kills the worker, that file gets a reason, a fresh
worker is started, and the batch goes on.
"""

from __future__ import annotations

import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from . import errors
from .applog import CODEC_LOG, c_stderr_to_log

TIMEOUT_S = 120.0  # a 4000x3000 16-bit lossless frame decodes in about a second
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def _decode_in_child(data: bytes) -> tuple[np.ndarray, list[str]]:
    """Runs in the worker: the pixel array of a whole DICOM file given as bytes, and what the codec printed."""
    import io
    import logging
    import warnings

    import pydicom

    said: list[str] = []
    catch = logging.Handler()
    catch.emit = lambda record: said.append(record.getMessage())
    CODEC_LOG.addHandler(catch)
    CODEC_LOG.setLevel(logging.INFO)  # a fresh process: nothing has configured the log here
    try:
        with warnings.catch_warnings():  # the parent read this header already and logged its warnings
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(io.BytesIO(data), force=True)
        with c_stderr_to_log():
            return ds.pixel_array, said
    finally:
        CODEC_LOG.removeHandler(catch)


def _worker() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            import multiprocessing

            # spawn, never fork: the app has Qt and loader threads running
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    for proc in list(getattr(pool, "_processes", {}).values()):  # a hung decoder will not stop by itself
        proc.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def pixel_array(data: bytes) -> np.ndarray:
    """`ds.pixel_array` of the DICOM file `data`, decoded in the worker process.

    A decoder crash or hang becomes `NotAnImageError`; the decoder's own
    exceptions come back as they are, for the caller to word. A worker found
    dead may have died before this file reached it (killed while idle), so a
    file is blamed only when it also kills a fresh worker.
    """
    for attempt in range(2):
        pool = _worker()
        try:
            try:
                future = pool.submit(_decode_in_child, data)
            except RuntimeError:  # a pool another thread just shut down
                raise BrokenProcessPool from None
            arr, said = future.result(timeout=TIMEOUT_S)
            break
        except BrokenProcessPool:
            _discard(pool)
            if attempt:
                raise errors.NotAnImageError("DICOM pixel data is corrupt (its decoder crashed)") from None
        except TimeoutError:
            _discard(pool)
            raise errors.NotAnImageError("DICOM pixel data could not be decoded in time") from None
    for line in said:  # into the parent's log, where the app's log file is
        CODEC_LOG.info("%s", line)
    return arr
