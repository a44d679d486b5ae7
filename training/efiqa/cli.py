"""`python -m training vessels|vuad|adapter`: the three EFIQA stages, each from the YAML config."""

from __future__ import annotations

import importlib
from pathlib import Path

from training.common import load_config, start_run

from .common import repo_path

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "efiqa.yaml"
STAGES = {
    "vessels": "train the vessel-segmentation U-Net (DRIVE + CHASE_DB1), ship vessel_unet",
    "vuad": "train EFIQA stage 1, the vessel-map inpainter, ship efiqa_vuad",
    "adapter": "train EFIQA stage 2, the patch adapter on a frozen backbone, ship efiqa_adapter",
}


def add_commands(sub) -> None:
    for name, help_text in STAGES.items():
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--config", default=str(CONFIG))
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
        p.add_argument("--run-dir", default=None, help=f"default runs/efiqa/{name}")
        p.set_defaults(func=_run, stage=name)


def _run(args) -> int:
    import yaml

    defaults = yaml.safe_load(CONFIG.read_text())
    cfg = load_config(args.config, defaults, args.set)
    run_dir = start_run(cfg, args.run_dir or repo_path(Path("runs/efiqa") / args.stage))
    importlib.import_module(f"training.efiqa.{args.stage}").run(cfg, run_dir)
    return 0
