"""`riqa`: assess photos, review a folder, or watch a camera folder from a terminal.

Exit codes: 0 every input was read, 2 some inputs were unreadable (each is
reported and the rest processed), 1 internal error (e.g. a missing model).
Bad input never prints a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import queue
import sys
from pathlib import Path

from .core import errors
from .core.assessment import GRADE_WORDS, Assessment
from .core.loading import display_path
from .progress import Progress

EXIT_OK, EXIT_INTERNAL, EXIT_UNREADABLE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="riqa", description="Fundus photo quality: grade, quality map and advice.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    common.add_argument("--backend", default="auto", choices=["auto", "torch", "onnx"],
                        help="inference engine (auto: torch when installed, else ONNX Runtime)")
    common.add_argument("--data-dir", default=None, help="results store folder (default: RIQA_DATA_DIR or per-user)")
    common.add_argument("--models-dir", default=None, help=argparse.SUPPRESS)
    common.add_argument("--no-store", action="store_true", help="do not record results in the results store")
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("assess", parents=[common], help="assess photos (JPEG, PNG, TIFF, BMP, DICOM)")
    a.add_argument("paths", nargs="+")
    a.add_argument("--json", action="store_true", help="one JSON object per line")
    a.add_argument("--maps", metavar="DIR",
                   help="write <stem>_quality.png (16-bit map, photo size) and <stem>_overlay.png (photo, map, contour)")

    b = sub.add_parser("batch", parents=[common], help="assess every photo below a folder; write CSV and HTML")
    b.add_argument("folder")
    b.add_argument("--out", required=True, help="output folder for results.csv and report.html")
    b.add_argument("--fresh", action="store_true", help="start over instead of resuming an earlier run in --out")

    w = sub.add_parser("watch", parents=[common], help="assess each new photo as it arrives in a folder")
    w.add_argument("folder")
    w.add_argument("--json", action="store_true")
    w.add_argument("--polling", action="store_true", help="poll the folder (network shares)")
    w.add_argument("--limit", type=int, default=0, help="stop after this many photos (for scripts)")
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        from .core.analyzer import Analyzer

        analyzer = Analyzer(models_dir=args.models_dir, device=args.device, backend=args.backend)
        store = None
        if not args.no_store:
            from .core.store import ResultsStore

            store = ResultsStore(args.data_dir)
        return {"assess": _assess, "batch": _batch, "watch": _watch}[args.command](args, analyzer, store)
    except errors.RiqaError as exc:
        print(f"riqa: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    except KeyboardInterrupt:
        return EXIT_OK
    except Exception as exc:  # an internal error: say so in one line; details at -v are not needed by users
        print(f"riqa: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_INTERNAL


def describe(a: Assessment) -> str:
    """One human-readable line (plus advice lines) for a terminal."""
    name = Path(display_path(a.path)).name + (f" [frame {a.metadata.frame_index + 1}]" if a.metadata.n_frames > 1 else "")
    if not a.ok:
        return f"{name}: UNREADABLE - {a.error}"
    word = GRADE_WORDS.get(a.grade or "", str(a.grade)).upper()
    bits = [f"{name}: {word}" + (f" ({a.confidence:.0%})" if a.confidence is not None else "")]
    bits += [f"{k} {'ok' if v.ok else 'POOR'}" for k, v in a.attributes.items()]
    if a.quality_score is not None:
        bits.append(f"quality {a.quality_score:.2f}")
    if a.metadata.laterality:
        bits.append("right eye" if a.metadata.laterality == "R" else "left eye")
    line = " | ".join(bits)
    if "gate" in a.measurements:
        line += f" - {a.measurements['gate']}"
    for item in a.advice:
        line += f"\n    -> {item.title}: {item.action}" if item.action else f"\n    -> {item.title}"
    if a.comparison:
        line += f"\n    => {a.comparison}"
    return line


def _emit(a: Assessment, as_json: bool) -> None:
    print(json.dumps(a.to_json()) if as_json else describe(a), flush=True)


def write_map(a: Assessment, folder: Path) -> Path | None:
    """16-bit grayscale PNG of the original photo's size (0 fine, 65535 surely degraded), and the
    overlay a person reads: the photo with the smooth map and its contour at the decision level."""
    import cv2
    import numpy as np

    from .core.errors import InputError
    from .core.loading import read_file
    from .core.overlay import blend, decision_level

    if a.quality_map is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    stem = Path(display_path(a.path)).stem + (f"_f{a.metadata.frame_index + 1}" if a.metadata.n_frames > 1 else "")
    out = folder / f"{stem}_quality.png"
    full = a.quality_map.full_size()
    cv2.imwrite(str(out), np.round(full * 65535).astype(np.uint16))
    try:
        frames = read_file(a.path)
        rgb = frames[min(a.metadata.frame_index, len(frames) - 1)].rgb
    except InputError:
        return out  # the 16-bit map is written; the photo went away meanwhile
    shown = blend(rgb, a.quality_map.full_size((rgb.shape[1], rgb.shape[0])), level=decision_level())
    cv2.imwrite(str(folder / f"{stem}_overlay.png"), cv2.cvtColor(shown, cv2.COLOR_RGB2BGR))
    return out


def _assess(args, analyzer, store) -> int:
    from .core.batch import list_photos

    unreadable = False
    paths = []
    for raw in args.paths:
        p = Path(raw)
        paths += list_photos(p) if p.is_dir() else [p]
    for p in paths:
        for a in analyzer.assess_path(p):
            unreadable |= not a.ok
            if store:
                store.add(a)
            if args.maps and a.ok:
                write_map(a, Path(args.maps))
            _emit(a, args.json)
    return EXIT_UNREADABLE if unreadable else EXIT_OK


def _batch(args, analyzer, store) -> int:
    """Crash-safe: each result is a durable CSV row; a rerun resumes where it stopped."""
    import cv2

    from .core.batch import list_photos, run_batch
    from .core.report import CsvLog, map_thumbnail, write_html_rows

    folder, out = Path(args.folder), Path(args.out)
    if not folder.is_dir():
        print(f"riqa: {folder} is not a folder", file=sys.stderr)
        return EXIT_INTERNAL
    thumbs = out / "thumbs"
    thumbs.mkdir(parents=True, exist_ok=True)
    if args.fresh and (out / "results.csv").exists():
        (out / "results.csv").unlink()
    log = CsvLog(out / "results.csv")
    done = log.done()
    paths = [p for p in list_photos(folder) if display_path(p) not in done]
    if done:
        print(f"resuming: {len(done)} photos already in {out / 'results.csv'}", file=sys.stderr)
    progress = Progress(len(paths))  # a bar on a terminal, a line every few seconds in a log
    for a in run_batch(analyzer, paths, store, on_result=lambda done, _n, _a: progress.advance_to(done)):
        if a.thumbnail is not None:
            stem = _thumb_stem(display_path(a.path), a.metadata.frame_index)
            cv2.imwrite(str(thumbs / f"{stem}.jpg"), cv2.cvtColor(a.thumbnail, cv2.COLOR_RGB2BGR))
            over = map_thumbnail(a)
            if over is not None:
                cv2.imwrite(str(thumbs / f"{stem}_map.jpg"), cv2.cvtColor(over, cv2.COLOR_RGB2BGR))
        log.append(a)
    progress.close()
    log.close()
    images = {}
    for r in log.rows:
        key = (r["path"], int(r["frame"] or 0))
        stem = _thumb_stem(*key)
        images[key] = tuple(_file_uri(thumbs / f"{stem}{suffix}.jpg") for suffix in ("", "_map"))
    write_html_rows(log.rows, out / "report.html", images, title=f"Fundus photo quality: {folder.name}")
    bad = [r for r in log.rows if r["ok"] != "True"]
    for r in bad:
        print(f"{Path(r['path']).name}: UNREADABLE - {r['error']}", file=sys.stderr)
    print(f"{len(log.rows)} results ({len(bad)} unreadable) -> {out / 'results.csv'}, {out / 'report.html'}")
    return EXIT_UNREADABLE if bad else EXIT_OK


def _thumb_stem(path: str, frame: int) -> str:
    import hashlib

    return hashlib.sha1(f"{path}#{frame}".encode("utf-8")).hexdigest()[:16]


def _file_uri(p: Path) -> str:
    import base64

    if not p.exists():
        return ""
    return "data:image/jpeg;base64," + base64.b64encode(p.read_bytes()).decode("ascii")


def _watch(args, analyzer, store) -> int:
    from .core.reshoot import ReshootTracker
    from .core.watcher import FolderWatcher

    ready: queue.Queue = queue.Queue()
    watcher = FolderWatcher(
        args.folder, on_ready=lambda p: ready.put((p, None)), on_problem=lambda p, why: ready.put((p, why)),
        on_status=lambda s: print(f"[{s}]", file=sys.stderr, flush=True), polling=args.polling or None,
        known=store.seen if store else None,
    )
    reshoot = ReshootTracker()
    handled = 0
    watcher.start()
    try:
        while not args.limit or handled < args.limit:
            try:
                path, problem = ready.get(timeout=0.5)
            except queue.Empty:
                continue
            handled += 1
            if problem:
                _emit(Assessment.failed(str(path), problem), args.json)
                continue
            for a in analyzer.assess_path(path):
                reshoot.update(a)  # "Better: blur fixed. Still dark in the upper part."
                if store:
                    store.add(a)
                _emit(a, args.json)
    finally:
        watcher.stop()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
