"""`riqa`: assess photos, review a folder, watch a camera folder, or receive photos over DICOM from a terminal.

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
from .core.laterality import METADATA_SOURCES
from .core.loading import display_path
from .progress import Progress

EXIT_OK, EXIT_INTERNAL, EXIT_UNREADABLE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="riqa", description="Fundus photo quality: grade, quality map and advice.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    common.add_argument("--backend", default="auto", choices=["auto", "torch", "onnx"],
                        help="inference engine (auto: ONNX Runtime on the CPU when its exports are there, torch on CUDA)")
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
    b.add_argument("--cluster", metavar="ADDRESS", default=None,
                   help="assess on a Dask cluster: its scheduler address, or 'local' to start one here "
                        "(optional extra 'cluster')")
    b.add_argument("--workers", type=int, default=2, help="worker processes of --cluster local (default 2)")

    w = sub.add_parser("watch", parents=[common], help="assess each new photo as it arrives in a folder")
    w.add_argument("folder")
    w.add_argument("--json", action="store_true")
    w.add_argument("--polling", action="store_true", help="poll the folder (network shares)")
    w.add_argument("--limit", type=int, default=0, help="stop after this many photos (for scripts)")

    r = sub.add_parser("receive", parents=[common], help="receive photos over DICOM (C-STORE) and assess each")
    r.add_argument("--port", type=int, required=True, help="TCP port to listen on (104 and 11112 are usual)")
    r.add_argument("--ae-title", default="RIQA", help="this receiver's AE title (the camera's 'called AE')")
    r.add_argument("--allow-ae", action="append", default=[], metavar="AE",
                   help="a calling AE title to accept (repeat; default: any)")
    r.add_argument("--allow-address", action="append", default=[], metavar="IP",
                   help="a sender address to accept (repeat; default: any)")
    r.add_argument("--bind", default="", metavar="ADDR", help="listen on this local address only (default: all)")
    r.add_argument("--incoming", metavar="DIR", help="where received objects are kept (default: DATA_DIR/incoming)")
    r.add_argument("--json", action="store_true")
    r.add_argument("--limit", type=int, default=0, help="stop after this many photos (for scripts)")
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    args = build_parser().parse_args(argv)
    from .core.applog import configure
    from .core.store import default_data_dir

    configure(args.data_dir or default_data_dir())  # library warnings and tracebacks: log file, not terminal
    try:
        from .core.analyzer import Analyzer

        # A cluster batch loads the models on its workers, not here.
        analyzer = None if getattr(args, "cluster", None) else \
            Analyzer(models_dir=args.models_dir, device=args.device, backend=args.backend)
        store = None
        if not args.no_store:
            from .core.store import ResultsStore

            store = ResultsStore(args.data_dir)
        commands = {"assess": _assess, "batch": _batch, "watch": _watch, "receive": _receive}
        return commands[args.command](args, analyzer, store)
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
    eye, source = a.eye()
    if eye:
        bits.append(("right eye" if eye == "R" else "left eye") + ("" if source in METADATA_SOURCES else " (from the photo)"))
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
    import numpy as np

    from .core.errors import InputError
    from .core.imageops import write_png
    from .core.loading import read_file
    from .core.overlay import blend, decision_level

    if a.quality_map is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    stem = Path(display_path(a.path)).stem + (f"_f{a.metadata.frame_index + 1}" if a.metadata.n_frames > 1 else "")
    out = folder / f"{stem}_quality.png"
    full = a.quality_map.full_size()
    write_png(out, np.round(full * 65535).astype(np.uint16))
    try:
        frames = read_file(a.path)
        rgb = frames[min(a.metadata.frame_index, len(frames) - 1)].rgb
    except InputError:
        return out  # the 16-bit map is written; the photo went away meanwhile
    shown = blend(rgb, a.quality_map.full_size((rgb.shape[1], rgb.shape[0])), level=decision_level())
    write_png(folder / f"{stem}_overlay.png", shown)
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
    from .core.batch import list_photos, run_batch
    from .core.report import CsvLog, write_report
    from .core.thumbstore import ThumbnailStore

    folder, out = Path(args.folder), Path(args.out)
    if not folder.is_dir():
        print(f"riqa: {folder} is not a folder", file=sys.stderr)
        return EXIT_INTERNAL
    thumbs = ThumbnailStore(out / "thumbs")
    if args.fresh and (out / "results.csv").exists():
        (out / "results.csv").unlink()
    fresh = not (out / "results.csv").exists()
    log = CsvLog(out / "results.csv")
    done = log.done()
    paths = [p for p in list_photos(folder) if display_path(p) not in done]
    if done:
        print(f"resuming: {len(done)} photos already in {out / 'results.csv'}", file=sys.stderr)
    progress = Progress(len(paths))  # a bar on a terminal, a line every few seconds in a log

    def advance(i: int, _n: int, _a: Assessment) -> None:
        progress.advance_to(i)

    if args.cluster:
        results = _cluster_results(args, paths, store, _batch_id(out, fresh), advance)
    else:
        results = run_batch(analyzer, paths, store, on_result=advance)
    for a in results:
        thumbs.put(a)
        log.append(a)
    progress.close()
    log.close()
    write_report(log.rows, out / "report.html", thumbs, title=f"Fundus photo quality: {folder.name}")
    bad = [r for r in log.rows if r["ok"] != "True"]
    for r in bad:
        print(f"{Path(r['path']).name}: UNREADABLE - {r['error']}", file=sys.stderr)
    print(f"{len(log.rows)} results ({len(bad)} unreadable) -> {out / 'results.csv'}, {out / 'report.html'}")
    return EXIT_UNREADABLE if bad else EXIT_OK


def _batch_id(out: Path, fresh: bool) -> str:
    """The results store's id for the review written to `out`, kept across resumes (in out/batch_id)."""
    import uuid

    f = out / "batch_id"
    if fresh or not f.is_file():
        f.write_text(f"cli-{uuid.uuid4().hex[:12]}\n", encoding="utf-8")
    return f.read_text(encoding="utf-8").strip()


def _cluster_results(args, paths, store, batch_id, progress):
    """The photos assessed on a Dask cluster's workers (the same Analyzer options as a local run)."""
    from .core.cluster import connect, run_cluster_batch

    client, cluster = connect(args.cluster, args.workers)
    # One intra-op thread per worker process: scale with processes (one per core), as decoding does.
    options = {"models_dir": args.models_dir, "device": args.device, "backend": args.backend, "threads": 1}
    try:
        yield from run_cluster_batch(client, paths, options, store, batch_id, on_result=progress)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _watch(args, analyzer, store, stable_s: float = 1.0) -> int:
    from .core.reshoot import ReshootTracker
    from .core.watcher import FolderWatcher

    ready: queue.Queue = queue.Queue()
    watcher = FolderWatcher(
        args.folder, on_ready=lambda p: ready.put((p, None)), on_problem=lambda p, why: ready.put((p, why)),
        on_status=lambda s: print(f"[{s}]", file=sys.stderr, flush=True), polling=args.polling or None,
        known=store.seen if store else None, stable_s=stable_s,
    )
    reshoot = ReshootTracker()
    if store:
        reshoot.resume(store)  # a re-shot right after a restart still finds its eye
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


def _receive(args, analyzer, store) -> int:
    """The receiver writes into the incoming folder; the watcher there assesses each object like a new photo."""
    from .core.receiver import DicomReceiver
    from .core.store import default_data_dir

    incoming = Path(args.incoming or Path(args.data_dir or default_data_dir()) / "incoming")
    receiver = DicomReceiver(incoming, args.port, args.ae_title, args.allow_ae, args.allow_address, bind=args.bind)
    try:
        receiver.start()
    except OSError as exc:
        print(f"riqa: cannot listen on port {args.port}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_INTERNAL
    print(f"[receiving as {receiver.ae_title} on port {receiver.port} into {display_path(incoming)}]",
          file=sys.stderr, flush=True)
    args.folder, args.polling = str(incoming), False
    try:
        return _watch(args, analyzer, store, stable_s=0.0)  # received files appear whole (linked when written)
    finally:
        receiver.stop()


if __name__ == "__main__":
    sys.exit(main())
