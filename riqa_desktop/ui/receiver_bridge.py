"""The DICOM receiver (core/receiver.py) for the desktop app: its threads, the GUI's signals.

Off unless Settings give it a port. Each received photo is handed to the
analysis thread like a watched one. Starting and stopping open and close
sockets, so they run off the GUI thread, one after another in order (a restart
on the same port must close the old socket before opening the new one).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QObject, Signal


class ReceiverBridge(QObject):
    received = Signal(str)  # path of a new object in the incoming folder
    status = Signal(str)

    def __init__(self, parent: QObject | None = None, **receiver_options):
        super().__init__(parent)
        self._options = receiver_options
        self._ops = ThreadPoolExecutor(max_workers=1, thread_name_prefix="riqa-receiver")
        self._receiver = None
        self.config: tuple | None = None  # (port, AE title, callers, incoming) in use

    def apply(self, port: int, ae_title: str, callers: str, incoming: str | Path) -> None:
        """Start, restart or stop (port 0) the receiver to match these settings."""
        config = (port, ae_title, callers, str(incoming)) if port else None
        if config == self.config:
            return
        self.stop()
        self.config = config
        if config is None:
            return
        from ..core.receiver import DicomReceiver

        allowed = [a for a in callers.replace(",", " ").split() if a]
        receiver = DicomReceiver(incoming, port, ae_title, allowed, on_stored=lambda p: self.received.emit(str(p)),
                                 **self._options)
        self._receiver = receiver
        self._ops.submit(self._start, receiver, allowed)

    def _start(self, receiver, allowed: list[str]) -> None:
        try:
            receiver.start()
        except OSError as exc:
            self.status.emit(f"DICOM receiver could not listen on port {receiver.port}: {exc.strerror or exc}")
            return
        except Exception as exc:  # e.g. a bundle without pynetdicom: say so, never crash the window
            self.status.emit(f"DICOM receiver could not start: {type(exc).__name__}: {exc}")
            return
        who = f", from {', '.join(allowed)}" if allowed else ""
        self.status.emit(f"Receiving DICOM as {receiver.ae_title} on port {receiver.port}{who}")

    def stop(self) -> None:
        r, self._receiver, self.config = self._receiver, None, None
        if r is not None:
            self._ops.submit(r.stop)
            self.status.emit("DICOM receiver off")

    def stop_now(self) -> None:
        """Stop and wait (when the app quits)."""
        self.stop()
        self._ops.shutdown(wait=True)
