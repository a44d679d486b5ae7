"""`python -m bench`: latency, throughput, memory and reference paths, printed as tables.

Sections (each can be skipped):
  latency    end to end "file complete on disk" -> Assessment, p50/p95, per stage, per backend
  batch      photos per second over 200 real photos, and peak RSS (in a fresh process)
  reference  model-only time of (a) EFIQA's reference runtime, ViT-L/16 at 224 + linear patch head
             (random weights: speed only), the peers' models (MCF-Net, QuickQual, AutoMorph; random
             weights), (b) the paper's ResNet-18 multi-task model, (c) ours
  startup    a fresh `riqa assess` process: import + model load + first verdict
  gui        the desktop app offscreen: window shown, first verdict, longest GUI-thread stall in a batch
  receive    the DICOM receiver: C-STORE sent -> file stored -> verdict, p50/p95 (bench/receive.py)
  cluster    `riqa batch --cluster`: photos/s on a local Dask cluster of 1 and 2 workers
  memory     batch table RSS over 20,000 rows (thumbnails on disk vs in memory) and report size vs photos
Threads: torch and ONNX Runtime use `--threads` (default 2, the target machine's cores).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .cluster import cluster
from .inputs import batch_inputs, latency_inputs
from .receive import receive
from .tables import percentile, table

REPO = Path(__file__).resolve().parent.parent


def _analyzer(backend: str, threads: int):
    from riqa_desktop.core.analyzer import Analyzer

    return Analyzer(device="cpu", backend=backend, threads=threads)


def backends() -> list[str]:
    from riqa_desktop.resources import models_dir

    names = ["torch"]
    if (models_dir() / "quality_multitask.onnx").exists() and (models_dir() / "efiqa_adapter.onnx").exists():
        names.append("onnx")
    return names


def latency(root: Path, repeats: int, threads: int) -> str:
    rows = []
    stages = ["decode", "fov", "measure", "quality_model", "quality_map", "advice"]
    with tempfile.TemporaryDirectory() as d:
        inputs = latency_inputs(root, Path(d))
        for backend in backends():
            an = _analyzer(backend, threads)
            for label, path in inputs.items():
                an.assess_path(path)  # warm-up
                totals, per_stage = [], {s: [] for s in stages}
                for _ in range(repeats):
                    t = time.perf_counter()
                    (a,) = an.assess_path(path)
                    totals.append((time.perf_counter() - t) * 1000)
                    for s in stages:
                        per_stage[s].append(a.timings_ms.get(s, 0.0))
                rows.append([backend, label, percentile(totals, 50), percentile(totals, 95),
                             *[float(np.median(per_stage[s])) for s in stages]])
    return table(f"End-to-end latency, ms ({repeats} runs each; stage columns are medians)",
                 ["backend", "photo", "p50", "p95", *stages], rows)


BATCH_MODES = {"one by one": {"batch_size": 1, "decode_workers": 1},
               "batched, decoding ahead": {"batch_size": 8, "decode_workers": 2}}


def batch(root: Path, n: int) -> str:
    rows = []
    for backend, (mode, opts) in [(b, m) for b in backends() for m in BATCH_MODES.items()]:
        code = ("import json, sys, time; from pathlib import Path;"
                "from riqa_desktop.core.analyzer import Analyzer; from riqa_desktop.core.batch import run_batch;"
                f"an = Analyzer(device='cpu', backend='{backend}'); opts = {opts!r};"
                "paths = [Path(p) for p in json.loads(sys.stdin.read())];"
                "t = time.perf_counter(); res = list(run_batch(an, paths, **opts)); dt = time.perf_counter() - t;"
                # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec (it would report this parent's peak).
                "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1];"
                "print(json.dumps({'n': len(res), 's': dt, 'rss_mb': int(hwm) / 1024}))")
        paths = [str(p) for p in batch_inputs(root, n)]
        out = subprocess.run([sys.executable, "-c", code], input=json.dumps(paths), capture_output=True, text=True,
                             cwd=REPO, env=_env(), check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append([backend, mode, r["n"], r["s"], r["n"] / r["s"], r["rss_mb"]])
    return table(f"Batch review over {n} real photos (DRIMDB, HRF, DRIVE, CHASE_DB1), fresh process each",
                 ["backend", "mode", "photos", "seconds", "photos/s", "peak RSS MB"], rows)


def _time_model(fn, x, repeats: int) -> float:
    fn(x)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn(x)
        times.append((time.perf_counter() - t) * 1000)
    return float(np.median(times))


# Peers' published inference paths (random weights: speed only): (label, input, [(timm model, copies)]).
PEERS = [("MCF-Net: 3 x DenseNet121 (RGB, HSV, LAB)", 224, [("densenet121", 3)]),
         ("QuickQual: DenseNet121 features", 512, [("densenet121", 1)]),
         ("AutoMorph quality: 8 x EfficientNet-B4 ensemble", 512, [("efficientnet_b4", 8)])]


def _peer(label: str, size: int, nets: list, t_a: float, repeats: int) -> list:
    """One photo through every network a peer runs (each copy run, not multiplied)."""
    import timm
    import torch

    models = [timm.create_model(name, pretrained=False).eval() for name, copies in nets for _ in range(copies)]
    x = torch.randn(1, 3, size, size)
    t = _time_model(lambda v: [m(v) for m in models], x, max(2, repeats // 5))
    return [f"peer, {label}", str(size), t, t_a / t]


def reference(repeats: int) -> str:
    import timm
    import torch

    from riqa_desktop.models import build_model
    from riqa_desktop.models.torch_backend import TorchBackend

    ours = TorchBackend.from_dir(None, "cpu")
    qs, ms = int(ours.quality_card["input_size"]), int(ours.map_card["input_size"])
    rows = []
    with torch.inference_mode():
        vit = timm.create_model("vit_large_patch16_224", pretrained=False).eval()
        head = torch.nn.Linear(1024, 1)
        x224 = torch.randn(1, 3, 224, 224)
        t_a = _time_model(lambda x: head(vit.forward_features(x)[:, 1:]), x224, max(2, repeats // 5))
        rows.append(["(a) EFIQA reference: ViT-L/16 + linear patch head", "224", t_a, 1.0])
        for label, size, net in PEERS:
            rows.append(_peer(label, size, net, t_a, repeats))
        r18 = build_model("multitask", backbone="resnet18").eval()
        xq = torch.randn(1, 3, qs, qs)
        t_b = _time_model(r18, xq, repeats)
        rows.append(["(b) paper: ResNet-18 multi-task", str(qs), t_b, t_a / t_b])
        xm = np.random.randn(1, 3, ms, ms).astype(np.float32)
        xqn = xq.numpy()
        t_c = _time_model(lambda _: (ours.quality_logits(xqn), ours.map_logits(xm)), None, repeats)
        rows.append(["(c) ours, torch: multi-task + EFIQA adapter", f"{qs}+{ms}", t_c, t_a / t_c])
    if "onnx" in backends():
        from riqa_desktop.models.onnx_backend import OnnxBackend

        ob = OnnxBackend.from_dir()
        t_o = _time_model(lambda _: (ob.quality_logits(xqn), ob.map_logits(xm)), None, repeats)
        rows.append(["(c) ours, ONNX Runtime: both models", f"{qs}+{ms}", t_o, t_a / t_o])
    return table("Model-only time per photo, ms (median), and speed-up over (a)",
                 ["path", "input", "ms", "x faster than (a)"], rows)


def startup(root: Path) -> str:
    photo = root / "DRIMDB" / "Good" / "drimdb_good (1).jpg"
    rows = []
    for backend in ["auto", *backends()]:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "riqa_desktop.cli", "assess", str(photo), "--no-store",
                        "--backend", backend], capture_output=True, cwd=REPO, env=_env(), check=True)
        rows.append([backend + (" (the default: device auto)" if backend == "auto" else ""),
                     (time.perf_counter() - t) * 1000])
    return table("Cold start of `riqa assess` to the first verdict, ms", ["backend", "ms"], rows)


def gui(root: Path, n: int) -> str:
    out = subprocess.run([sys.executable, "-m", "bench.gui", str(n), str(root)], capture_output=True, text=True,
                         cwd=REPO, env=_env(), check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return table("Desktop app (offscreen, torch backend)", ["measure", "value"], [
        ["process start -> window shown, ms", r["window_ms"]],
        ["process start -> first verdict, ms", r["first_verdict_ms"]],
        [f"batch review of {r['batch_photos']} photos, s", r["batch_s"]],
        ["longest GUI-thread stall during the batch, ms", r["max_stall_ms"]],
        ["99th percentile stall, ms", r["p99_stall_ms"]]])


def memory(n: int = 20000) -> str:
    out = subprocess.run([sys.executable, "-m", "bench.memory", str(n)], capture_output=True, text=True,
                         cwd=REPO, env=_env(), check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    rows = [["thumbnails on disk (now)", int(k), v] for k, v in r["disk"].items()]
    rows += [["thumbnails in memory (before)", int(k), v] for k, v in r["memory"].items()]
    t1 = table("Batch table RSS against rows (synthetic rows from one real assessment; offscreen, scrolled)",
               ["mode", "rows", "RSS MB"], rows)
    t2 = table("`riqa batch` report size against photos (self-contained up to 200, then linked and paged)",
               ["photos", "pages", "first page MB", "all pages MB", "thumbnails folder MB"],
               [[x["photos"], x["pages"], x["first_page_mb"], x["all_pages_mb"], x["thumbs_mb"]] for x in r["report"]])
    return t1 + "\n" + t2


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", default=os.environ.get("RIQA_DATA", str(REPO.parent / "shared" / "data")))
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", nargs="*", choices=["latency", "batch", "reference", "startup", "gui", "receive", "cluster", "memory"])
    args = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    root = Path(args.data_root)
    sections = args.only or ["latency", "batch", "reference", "startup", "gui", "receive", "cluster", "memory"]
    import platform

    print(f"# riqa_desktop benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"{args.threads} threads, torch {torch.__version__}, backends {', '.join(backends())}")
    for name in sections:
        print({"latency": lambda: latency(root, args.repeats, args.threads), "batch": lambda: batch(root, args.batch_size),
               "reference": lambda: reference(args.repeats), "startup": lambda: startup(root),
               "gui": lambda: gui(root, args.batch_size),
               "receive": lambda: receive(root, args.repeats),
               "cluster": lambda: cluster(root, args.batch_size), "memory": memory}[name](), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
