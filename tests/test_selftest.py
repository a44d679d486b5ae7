"""The bundled samples give the results the self-test expects, on both backends."""

from __future__ import annotations

import pytest

from riqa_desktop import app
from riqa_desktop.selftest import check_dicom_syntaxes, check_receiver, check_samples


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_samples_match_expected(backend):
    lines, problems = check_samples(backend)
    assert problems == []
    assert sum(line.startswith("ok ") for line in lines) == 6


def test_one_photo_of_each_dicom_syntax_decodes_within_its_error():
    lines, problems = check_dicom_syntaxes()
    assert problems == []
    assert len(lines) == 7 and all(line.startswith("ok ") for line in lines)


def test_a_missing_decoder_plug_in_fails_the_self_test(monkeypatch):
    """What a bundle without pyjpegls would do: JPEG-LS becomes undecodable, the self-test must say so."""
    from pydicom.pixels import get_decoder
    from pydicom.uid import JPEGLSLossless, JPEGLSNearLossless

    from riqa_desktop.core import dicom

    dicom._choose_plugins()
    for uid in (JPEGLSLossless, JPEGLSNearLossless):
        dec = get_decoder(uid)
        monkeypatch.setattr(dec, "_available", {})
    _, problems = check_dicom_syntaxes()
    assert sorted(p.split(":")[0] for p in problems) == ["retina_jpegls.dcm", "retina_jpegls_near.dcm"]


def test_receiver_answers_echo_in_the_self_test():
    assert check_receiver() == (["ok  DICOM receiver answers C-ECHO on loopback"], [])


def test_self_test_flag_exits_zero(capsys):
    assert app.main(["--self-test"]) == 0
    out = capsys.readouterr().out
    assert "window shown in" in out and "self-test passed" in out
