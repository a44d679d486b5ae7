"""The bundled samples give the results the self-test expects, on both backends."""

from __future__ import annotations

import pytest

from riqa_desktop import app
from riqa_desktop.selftest import check_samples


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_samples_match_expected(backend):
    lines, problems = check_samples(backend)
    assert problems == []
    assert sum(line.startswith("ok ") for line in lines) == 6


def test_self_test_flag_exits_zero(capsys):
    assert app.main(["--self-test"]) == 0
    out = capsys.readouterr().out
    assert "window shown in" in out and "self-test passed" in out
