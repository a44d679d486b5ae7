"""`python -m training <command>`: every stage that reproduces a shipped model.

Each family registers its commands through `add_commands` in its own `cli.py`;
this file only dispatches.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Modules that add sub-commands: each has `add_commands(subparsers)`.
_COMMAND_MODULES = (
    "training.splits_cli",
    "training.evaluate_cli",
    "training.multitask.cli",
    "training.efiqa.cli",
    "training.export_cli",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).add_commands(sub)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
