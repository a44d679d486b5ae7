"""`python -m training export-onnx`: ONNX exports of the runtime models, with measured parity.

Each shipped runtime model is exported (dynamic batch, opset 17), run by ONNX
Runtime and torch on the same real photos, and the largest differences are
written into its model card beside the export's sha256 (`card["onnx"]`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from riqa_desktop.core.calibration import probabilities

RUNTIME_MODELS = ("quality_multitask", "efiqa_adapter")


def add_commands(sub) -> None:
    p = sub.add_parser("export-onnx", help="export the runtime models to ONNX and measure parity with torch")
    p.add_argument("--models-dir", default=None)
    p.add_argument("--data-root", default=None, help="photos for the parity check (default ../shared/data)")
    p.add_argument("--photos", type=int, default=32, help="how many validation photos to compare on")
    p.add_argument("--only", choices=RUNTIME_MODELS, action="append", help="export only this model (repeatable)")
    p.set_defaults(func=_run)


def parity_inputs(size: int, data_root: Path | None, n: int) -> np.ndarray:
    """Real FOV squares: DRIMDB validation photos (all classes) and scikit-image's retina."""
    from skimage import data

    from riqa_desktop.core.loading import read_image
    from riqa_desktop.core.preprocess import normalize_batch, prepare

    squares = [prepare(np.ascontiguousarray(data.retina()), (size,)).squares[size]]
    if data_root is not None:
        from .splits import drimdb

        for path, _ in drimdb(data_root)["val"][: n - 1]:
            squares.append(prepare(read_image(path, min_side=size * 2).rgb, (size,)).squares[size])
    return normalize_batch(squares)


def export_one(name: str, models_dir: Path, inputs_for) -> dict:
    import onnxruntime as ort
    import torch

    from riqa_desktop.core.loading import sha256_file
    from riqa_desktop.models.registry import load_model

    model, card = load_model(name, models_dir)
    size = int(card["input_size"])
    x = inputs_for(size)
    out_path = models_dir / f"{name}.onnx"
    with torch.inference_mode():
        ref = model(torch.from_numpy(x))
    names = sorted(ref) if isinstance(ref, dict) else ["logits"]
    wrapped = _tuple_outputs(model, names) if isinstance(ref, dict) else model
    torch.onnx.export(wrapped, (torch.from_numpy(x[:1]),), str(out_path), dynamo=False, opset_version=17,
                      input_names=["x"], output_names=names,
                      dynamic_axes={"x": {0: "n"}, **{k: {0: "n"} for k in names}})
    sess = ort.InferenceSession(str(out_path), providers=["CPUExecutionProvider"])
    got = dict(zip(names, sess.run(None, {"x": x})))
    refs = {k: ref[k].numpy() for k in names} if isinstance(ref, dict) else {"logits": ref.numpy()}
    parity = {"photos": int(x.shape[0])}
    for k in names:
        parity[f"max_abs_logit_diff_{k}"] = float(np.abs(got[k] - refs[k]).max())
        if k == "grade":
            parity["grade_agreement"] = float((got[k].argmax(1) == refs[k].argmax(1)).mean())
        else:
            p_ref, p_got = probabilities(refs[k]), probabilities(got[k])
            parity[f"max_abs_prob_diff_{k}"] = float(np.abs(p_ref - p_got).max())
    card["onnx"] = {"file": out_path.name, "sha256": sha256_file(out_path), "opset": 17, "outputs": names,
                    "parity_with_torch": parity}
    (models_dir / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return card["onnx"]


def _tuple_outputs(model, names: list[str]):
    """Export wrapper: ONNX graphs return tuples; the dict keys become output names."""
    import torch

    class TupleOutputs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, x):
            out = self.model(x)
            return tuple(out[k] for k in names)

    return TupleOutputs().eval()


def _run(args) -> int:
    from riqa_desktop.resources import models_dir

    from .common import data_root

    mdir = Path(args.models_dir) if args.models_dir else models_dir()
    try:
        root = data_root({"data_root": args.data_root})
    except FileNotFoundError:
        root = None
    for name in args.only or RUNTIME_MODELS:
        info = export_one(name, mdir, lambda size: parity_inputs(size, root, args.photos))
        print(name, json.dumps(info["parity_with_torch"]))
    return 0
