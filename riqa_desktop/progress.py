"""Progress of a long CLI run on stderr: a tqdm bar on a terminal; in a log file or a pipe, one plain line
every few seconds (a bar there would be hundreds of carriage-return updates on one line)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from tqdm import tqdm

LINE = "{n_fmt}/{total_fmt} {unit}s [{elapsed}<{remaining}, {rate_fmt}]"


class Progress:
    def __init__(self, total: int, unit: str = "photo", stream: TextIO | None = None, every_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic):
        self.stream = stream if stream is not None else sys.stderr
        self.total, self.unit, self.every_s, self.clock = total, unit, every_s, clock
        self.n = self.said = 0
        self.start = self.last = clock()
        isatty = getattr(self.stream, "isatty", None)
        self.bar = tqdm(total=total, unit=unit, file=self.stream, dynamic_ncols=True) if isatty and isatty() else None

    def advance_to(self, done: int) -> None:
        """`done` of `total` are finished."""
        if self.bar is not None:
            self.bar.update(done - self.n)
        self.n = done
        if self.bar is None and self.clock() - self.last >= self.every_s:
            self._line()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.n != self.said:
            self._line()  # the final count, unless the last line said it

    def _line(self) -> None:
        self.last = now = self.clock()
        self.said = self.n
        text = tqdm.format_meter(self.n, self.total, now - self.start, unit=self.unit, bar_format=LINE)
        self.stream.write(text + "\n")
        self.stream.flush()
