"""CLI progress: a tqdm bar on a terminal, plain lines every few seconds in a log (no carriage returns)."""

from __future__ import annotations

import io

from riqa_desktop.progress import Progress


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_in_a_log_one_line_every_few_seconds_and_the_last_count():
    log, clock = io.StringIO(), Clock()
    p = Progress(100, stream=log, every_s=5.0, clock=clock)
    for done in range(1, 101):
        clock.t += 0.12  # 12 s in all
        p.advance_to(done)
    p.close()
    text = log.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert [line.split()[0] for line in lines] == ["42/100", "84/100", "100/100"]
    assert lines[-1].startswith("100/100 photos [00:12<00:00")


def test_no_repeated_last_line_and_nothing_for_an_empty_run():
    log, clock = io.StringIO(), Clock()
    p = Progress(2, stream=log, every_s=5.0, clock=clock)
    clock.t += 6
    p.advance_to(2)
    p.close()
    assert log.getvalue().count("\n") == 1 and log.getvalue().startswith("2/2 photos")
    empty = io.StringIO()
    Progress(0, stream=empty).close()
    assert empty.getvalue() == ""


def test_on_a_terminal_a_tqdm_bar():
    term = Terminal()
    p = Progress(3, stream=term)
    for done in (1, 2, 3):
        p.advance_to(done)
    p.close()
    out = term.getvalue()
    assert "\r" in out and "3/3" in out and "photo/s" in out
