"""`riqa-desktop`: the window appears first; torch and the models load afterwards, on a worker thread.

riqa-desktop [--watch DIR] [--data-dir DIR] [--device auto|cpu|cuda] [PATH ...]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="riqa-desktop", description="Recapture assistant for fundus photography.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="photos to assess, or a folder to review")
    p.add_argument("--watch", metavar="DIR", help="watch this camera export folder from the start")
    p.add_argument("--data-dir", metavar="DIR", help="where the results store lives (default: per user)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where the models run (default: setting)")
    p.add_argument("--try-it", action="store_true", help="open the bundled sample photos (also on first run)")
    p.add_argument("--self-test", action="store_true",
                   help="assess the bundled samples offscreen, check them, exit 0 (passed) or 1 (failed)")
    return p


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()  # first: bundled builds re-enter main in worker processes
    args = build_parser().parse_args(argv)
    from .core.applog import configure
    from .core.store import default_data_dir

    configure(args.data_dir or default_data_dir())  # library warnings: log file, never window or terminal
    if args.self_test:
        from .selftest import run

        return run()

    from . import qt_platform

    problem = qt_platform.check()  # else Qt aborts with a page of text that names no package
    if problem:
        print(problem, file=sys.stderr)
        return 1

    from .ui.launch import run_window

    return run_window(args)


if __name__ == "__main__":
    sys.exit(main())
