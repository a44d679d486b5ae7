"""Registry of model families and offline, hash-verified weight loading.

A shipped model is `resources/models/<name>.safetensors` plus `<name>.json`,
its model card. The card names the family and the keyword arguments that
build the architecture, so the app can rebuild any shipped model without
training code. The card's `sha256` must match the weights file before a single
tensor is read; a mismatch is an error, never a silent fallback.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Callable

from ..core.errors import ModelError, ModelMissingError, WeightsIntegrityError
from ..core.loading import sha256_file
from ..resources import models_dir as default_models_dir

_FAMILIES: dict[str, Callable] = {}
# Family modules, imported on first use so that `import riqa_desktop.models` stays cheap.
_FAMILY_MODULES = ("multitask", "efiqa", "unet")


def register_family(name: str):
    """Decorator: `@register_family("multitask") def build(**arch) -> nn.Module`."""

    def deco(fn):
        _FAMILIES[name] = fn
        return fn

    return deco


def _ensure_families() -> None:
    for mod in _FAMILY_MODULES:
        importlib.import_module(f"{__package__}.{mod}")


def build_model(family: str, **arch):
    """Build an untrained model of a registered family."""
    _ensure_families()
    if family not in _FAMILIES:
        raise ModelError(f"unknown model family '{family}' (known: {', '.join(sorted(_FAMILIES))})")
    return _FAMILIES[family](**arch)


def model_card(name: str, models_dir: Path | str | None = None) -> dict:
    """Read `<name>.json`; ModelMissingError says which model is missing."""
    d = Path(models_dir) if models_dir else default_models_dir()
    card_path = d / f"{name}.json"
    if not card_path.is_file() or not (d / f"{name}.safetensors").is_file():
        raise ModelMissingError(
            f"model '{name}' is missing: expected {d / (name + '.safetensors')} and its card {card_path.name}"
        )
    try:
        return json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"model card {card_path} is unreadable: {exc}") from None


def load_model(name: str, models_dir: Path | str | None = None, device: str = "cpu"):
    """Verify the hash, rebuild the architecture from the card, load the weights.

    Returns (model in eval mode, card).
    """
    from safetensors.torch import load_file

    d = Path(models_dir) if models_dir else default_models_dir()
    card = model_card(name, d)
    weights = d / f"{name}.safetensors"
    digest = sha256_file(weights)
    if digest != card.get("sha256"):
        raise WeightsIntegrityError(
            f"model '{name}' refused: weights file hash {digest[:12]}... does not match its card "
            f"({str(card.get('sha256'))[:12]}...); the file was altered or is incomplete"
        )
    model = build_model(card["family"], **card.get("architecture", {}))
    state = load_file(str(weights), device="cpu")
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ModelError(
            f"model '{name}' does not fit its card: {len(missing)} missing and {len(unexpected)} unexpected tensors"
        )
    return model.to(device).eval(), card


def save_model(model, name: str, card: dict, models_dir: Path | str) -> dict:
    """Write `<name>.safetensors` and `<name>.json` with the hash filled in (training side)."""
    from safetensors.torch import save_file

    d = Path(models_dir)
    d.mkdir(parents=True, exist_ok=True)
    weights = d / f"{name}.safetensors"
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(weights), metadata={"name": name, "family": card["family"]})
    return write_card(name, {**card, "name": name, "sha256": sha256_file(weights), "weights_file": weights.name}, d)


def write_card(name: str, card: dict, models_dir: Path | str) -> dict:
    """Write `<name>.json` beside weights it already describes (training side: a recalibration)."""
    (Path(models_dir) / f"{name}.json").write_text(json.dumps(card, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return card
