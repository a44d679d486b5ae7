"""A DICOM receiver (C-STORE SCP) for cameras and PACS that send photos over the network.

Off unless started (`riqa receive`). Each accepted object is written once,
atomically (a hidden `.part` file, then a hard link that fails rather than
overwrite), into an incoming folder that `core/watcher.py` reads, so a received
photo is assessed exactly like one a camera saved. Refusals always carry a
DICOM status and a log line, and the receiver keeps running:

* association: unknown calling AE title or address -> A-ASSOCIATE-RJ;
  a class that is not a storage SOP class -> its presentation context refused
* 0xA700 out of resources: larger than `max_bytes`, or the disk write failed
* 0xA900 the dataset's SOP class is not the one negotiated
* 0xC210 cannot understand: the dataset does not decode, or lacks its UIDs
* 0xC001 not a fundus photo: the header says CT, MR, ultrasound, ... (core/modality.py)
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from .dicom import SUPPORTED_TS
from .modality import refusal

log = logging.getLogger("riqa.receiver")

OUT_OF_RESOURCES, SOP_MISMATCH, CANNOT_UNDERSTAND, NOT_FUNDUS = 0xA700, 0xA900, 0xC210, 0xC001
MAX_BYTES = 256 << 20  # far above any fundus photo; bounds what one object may make us keep
_UID = re.compile(r"[0-9.]{1,64}")


class DicomReceiver:
    """C-STORE / C-ECHO SCP on `port`, answering to `ae_title`, writing into `incoming`.

    `allowed_callers`: calling AE titles accepted (empty: any). `allowed_addresses`:
    peer IP addresses accepted (empty: any). `on_stored(path)` is called after each
    new file lands (the watcher also sees it).
    """

    def __init__(self, incoming: str | os.PathLike, port: int, ae_title: str = "RIQA",
                 allowed_callers: Iterable[str] = (), allowed_addresses: Iterable[str] = (),
                 bind: str = "", max_bytes: int = MAX_BYTES, on_stored: Callable[[Path], None] | None = None):
        self.incoming = Path(incoming)
        self.port, self.ae_title, self.bind = port, ae_title.strip(), bind
        self.allowed_callers = {a.strip() for a in allowed_callers if a.strip()}
        self.allowed_addresses = {a.strip() for a in allowed_addresses if a.strip()}
        self.max_bytes = max_bytes
        self.on_stored = on_stored
        self._server = None

    # -- life cycle --------------------------------------------------------------
    def start(self) -> None:
        """Listen in background threads (one per association); returns at once."""
        from pynetdicom import AE, StoragePresentationContexts, evt
        from pynetdicom.sop_class import Verification

        self.incoming.mkdir(parents=True, exist_ok=True)
        ae = AE(ae_title=self.ae_title)
        ae.require_called_aet = True
        for cx in StoragePresentationContexts:
            ae.add_supported_context(cx.abstract_syntax, list(SUPPORTED_TS))
        ae.add_supported_context(Verification)
        handlers = [(evt.EVT_REQUESTED, self._on_requested), (evt.EVT_C_STORE, self._on_store),
                    (evt.EVT_C_ECHO, self._on_echo), (evt.EVT_REJECTED, self._on_rejected)]
        self._server = ae.start_server((self.bind, self.port), block=False, evt_handlers=handlers)
        self.port = self._server.server_address[1]  # the real port when asked for 0
        log.info("receiving as %s on port %d into %s", self.ae_title, self.port, self.incoming)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    # -- association -------------------------------------------------------------
    def _on_requested(self, event) -> None:
        calling = str(event.assoc.requestor.primitive.calling_ae_title).strip()
        address = event.assoc.requestor.address
        why = ""
        if self.allowed_callers and calling not in self.allowed_callers:
            why, diagnostic = f"calling AE title '{calling}' is not allowed", 0x03
        elif self.allowed_addresses and address not in self.allowed_addresses:
            why, diagnostic = f"address {address} is not allowed", 0x01
        if why:
            log.warning("refused association from %s (%s): %s", address, calling, why)
            event.assoc.acse.send_reject(0x01, 0x01, diagnostic)
            event.assoc.kill()  # as pynetdicom's own rejection does: lets the A-ASSOCIATE-RJ go out first

    def _on_rejected(self, event) -> None:
        a = event.assoc.requestor
        log.warning("refused association from %s (%s) by negotiation (called AE title or limits)",
                    a.address, str(a.ae_title).strip())

    def _on_echo(self, event) -> int:
        log.info("C-ECHO from %s (%s)", event.assoc.requestor.address, str(event.assoc.requestor.ae_title).strip())
        return 0x0000

    # -- storage -----------------------------------------------------------------
    def _on_store(self, event):
        peer = f"{event.assoc.requestor.address} ({str(event.assoc.requestor.ae_title).strip()})"
        size = len(event.request.DataSet.getbuffer())
        if size > self.max_bytes:
            return self._refuse(OUT_OF_RESOURCES, f"object is too large ({size >> 20} MB)", peer)
        try:
            ds = event.dataset
            sop_class, sop_uid = str(ds.SOPClassUID), str(ds.SOPInstanceUID)
        except Exception:  # pydicom raises many types on a malformed stream
            return self._refuse(CANNOT_UNDERSTAND, "dataset does not decode or lacks its UIDs", peer)
        if sop_class != str(event.context.abstract_syntax):
            return self._refuse(SOP_MISMATCH, "SOP class differs from the negotiated one", peer)
        reason = refusal(ds)
        if reason:
            return self._refuse(NOT_FUNDUS, reason, peer)
        problem = _pixel_problem(ds, str(event.context.transfer_syntax))
        if problem:
            return self._refuse(CANNOT_UNDERSTAND, problem, peer)
        name = (sop_uid if _UID.fullmatch(sop_uid) else uuid.uuid5(uuid.NAMESPACE_OID, sop_uid).hex) + ".dcm"
        try:
            path = self._write_once(name, event.encoded_dataset(include_meta=True))
        except OSError as exc:
            return self._refuse(OUT_OF_RESOURCES, f"cannot write to the incoming folder ({exc.strerror or exc})", peer)
        if path is None:
            log.info("already received %s from %s: kept the first copy", name, peer)
            return 0x0000
        log.info("stored %s from %s (%d bytes)", path.name, peer, size)
        if self.on_stored:
            self.on_stored(path)
        return 0x0000

    def _write_once(self, name: str, data: bytes) -> Path | None:
        """Write `data` as incoming/name, never overwriting; None when that name already exists."""
        final = self.incoming / name
        tmp = self.incoming / f".{uuid.uuid4().hex}.part"  # the watcher skips dot files and .part
        try:
            with open(tmp, "xb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, final)  # atomic, and fails instead of replacing an existing file
            except FileExistsError:
                return None
            return final
        finally:
            tmp.unlink(missing_ok=True)

    @staticmethod
    def _refuse(status: int, why: str, peer: str):
        from pydicom.dataset import Dataset

        log.warning("refused an object from %s: 0x%04X %s", peer, status, why)
        rsp = Dataset()
        rsp.Status = status
        rsp.ErrorComment = why[:64]
        return rsp


def _pixel_problem(ds, ts: str) -> str:
    """Why the pixel data cannot be what the header says ('' when it can): caught here, not by the watcher."""
    try:
        if "PixelData" not in ds:
            return "object has no pixel data"
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        data = ds.PixelData
        if ts in _NATIVE:
            need = int(ds.Rows) * int(ds.Columns) * int(ds.SamplesPerPixel) * ((int(ds.BitsAllocated) + 7) // 8)
            return "" if len(data) >= need * frames else "pixel data is shorter than its header says"
        from pydicom.encaps import generate_frames

        return "" if sum(1 for _ in generate_frames(data, number_of_frames=frames)) == frames else "frames missing"
    except Exception:
        return "pixel data does not match its header"


_NATIVE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"}
