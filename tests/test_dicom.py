"""DICOM round trips in every supported transfer syntax, metadata, and failure reasons."""

from __future__ import annotations

import numpy as np
import pytest

from riqa_desktop.core import errors
from riqa_desktop.core.loading import read_file, read_image

from .dicom_fixtures import (
    SYNTAXES,
    write_encapsulated,
    write_mono16,
    write_no_pixels,
    write_other_modality,
    write_raw,
    write_rle,
    write_syntax,
    write_unsupported,
)


@pytest.fixture(scope="module")
def small_retina(retina_rgb):
    import cv2

    return cv2.resize(retina_rgb, (320, 320), interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("sop", ["op8", "vl", "sc"])
def test_uncompressed_round_trip_is_exact(tmp_path, small_retina, sop):
    p = write_raw(tmp_path / "IM000001", small_retina, sop=sop)  # DICOMDIR members have no extension
    img = read_image(p)
    assert np.array_equal(img.rgb, small_retina)
    assert img.metadata.source_format == "dicom"


def test_metadata_kept(tmp_path, small_retina):
    img = read_image(write_raw(tmp_path / "a.dcm", small_retina, laterality="L"))
    m = img.metadata
    assert (m.patient_id, m.patient_name, m.laterality, m.laterality_source) == ("TEST-0042", "Doe Jane", "L", "dicom")
    assert m.acquired == "2026-11-22T10:15:30"
    assert m.device == "TestCam FC-1"
    assert "Ophthalmic Photography 8 Bit" in m.sop_class


def test_rle_round_trip_is_exact(tmp_path, small_retina):
    assert np.array_equal(read_image(write_rle(tmp_path / "rle.dcm", small_retina)).rgb, small_retina)


def test_jpeg2000_lossless_round_trip_is_exact(tmp_path, small_retina):
    assert np.array_equal(read_image(write_encapsulated(tmp_path / "j2k.dcm", small_retina, "j2k")).rgb, small_retina)


def test_jpeg_baseline_round_trip_is_close(tmp_path, small_retina):
    out = read_image(write_encapsulated(tmp_path / "jpg.dcm", small_retina, "jpeg")).rgb
    err = np.abs(out.astype(int) - small_retina.astype(int))
    assert out.shape == small_retina.shape
    assert err.mean() < 3.0  # lossy: a tolerance, not equality


def test_sixteen_bit_monochrome_scaled_to_eight_bit(tmp_path):
    ramp = np.tile(np.linspace(0, 65535, 256, dtype=np.uint16), (64, 1))
    img = read_image(write_mono16(tmp_path / "m16.dcm", ramp))
    assert img.rgb.dtype == np.uint8 and img.rgb.shape == (64, 256, 3)
    assert img.rgb[0, 0, 0] == 0 and img.rgb[0, -1, 0] == 255
    assert np.all(np.diff(img.rgb[0, :, 1].astype(int)) >= 0)


def test_multi_frame_gives_one_image_per_frame(tmp_path, small_retina):
    frames = read_file(write_raw(tmp_path / "mf.dcm", small_retina, frames=3))
    assert [f.metadata.frame_index for f in frames] == [0, 1, 2]
    assert all(f.metadata.n_frames == 3 for f in frames)


def test_no_pixel_data_reason(tmp_path):
    with pytest.raises(errors.DicomNoPixelsError, match="DICOM without pixel data"):
        read_image(write_no_pixels(tmp_path / "nopix.dcm"))


def test_unsupported_compression_named(tmp_path, small_retina):
    with pytest.raises(errors.UnsupportedCompressionError, match="unsupported compression: MPEG-4 video"):
        read_image(write_unsupported(tmp_path / "video.dcm", small_retina))


def test_truncated_dicom_is_incomplete_or_corrupt(tmp_path, small_retina):
    p = write_raw(tmp_path / "full.dcm", small_retina)
    data = p.read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(errors.InputError):
        read_image(cut)


def test_min_side_shrinks_large_frames(tmp_path, small_retina):
    img = read_image(write_raw(tmp_path / "a.dcm", small_retina), min_side=100)
    assert min(img.rgb.shape[:2]) == 100
    assert img.original_size == (320, 320)


@pytest.mark.parametrize("kind", ["j2k", "jpeg"])
def test_compressed_frames_decode_at_reduced_size(tmp_path, retina_rgb, kind):
    """Large compressed frames decode at a fraction of their size when the models need less."""
    full = read_image(write_encapsulated(tmp_path / f"{kind}.dcm", retina_rgb, kind))
    small = read_image(tmp_path / f"{kind}.dcm", min_side=300)
    assert small.original_size == (1411, 1411) and full.original_size == (1411, 1411)
    assert 300 <= small.rgb.shape[0] <= 706  # a power-of-two reduction, never below the request
    assert small.metadata.patient_id == "TEST-0042"
    import cv2

    ref = cv2.resize(full.rgb, small.rgb.shape[1::-1], interpolation=cv2.INTER_AREA)
    assert np.abs(ref.astype(int) - small.rgb.astype(int)).mean() < 4.0  # the same photo, smaller


def test_corrupt_transfer_syntax_gives_a_one_line_reason(tmp_path, small_retina):
    """Found by tools/fuzz_loaders.py: a mangled transfer syntax UID must not leak into the reason."""
    p = write_raw(tmp_path / "a.dcm", small_retina)
    data = p.read_bytes().replace(b"1.2.840.10008.1.2.1\x00", b"1\n\xf1\x85\n40.10008.1.2.1\x00")  # same length
    bad = tmp_path / "b.dcm"
    bad.write_bytes(data)
    with pytest.raises(errors.UnsupportedCompressionError) as info:
        read_image(bad)
    assert str(info.value) == "unsupported compression: unrecognised transfer syntax"


@pytest.mark.parametrize("syntax", sorted(SYNTAXES))
def test_clinic_syntaxes_decode_within_the_codec_error(tmp_path, small_retina, syntax):
    """JPEG-LS (both), JPEG Lossless SV1, HTJ2K (both) and Deflated: the photo comes back within its codec's error."""
    img = read_image(write_syntax(tmp_path / f"{syntax}.dcm", small_retina, syntax))
    err = np.abs(img.rgb.astype(int) - small_retina.astype(int))
    assert err.max() <= SYNTAXES[syntax][1], (syntax, err.max())
    assert err.mean() <= 1.5  # lossy ones: small on average too, not only bounded
    assert img.metadata.patient_id == "TEST-0042" and img.metadata.laterality == "R"


@pytest.mark.parametrize("syntax", ["jpegls", "jpeg_lossless_sv1", "htj2k_lossless"])
def test_red_free_16_bit_photos_in_lossless_syntaxes(tmp_path, retina_rgb, syntax):
    import cv2

    green16 = cv2.resize(retina_rgb[..., 1], (320, 320), interpolation=cv2.INTER_AREA).astype(np.uint16) * 257
    img = read_image(write_syntax(tmp_path / "rf.dcm", green16, syntax))
    assert np.array_equal(img.rgb[..., 0], (green16 >> 8).astype(np.uint8))


@pytest.mark.parametrize("syntax", ["htj2k_lossless", "htj2k"])
def test_htj2k_decodes_at_reduced_resolution(tmp_path, retina_rgb, syntax):
    full = read_image(write_syntax(tmp_path / "h.dcm", retina_rgb, syntax))
    small = read_image(tmp_path / "h.dcm", min_side=300)
    assert small.original_size == (1411, 1411) and 300 <= small.rgb.shape[0] <= 706
    import cv2

    ref = cv2.resize(full.rgb, small.rgb.shape[1::-1], interpolation=cv2.INTER_AREA)
    assert np.abs(ref.astype(int) - small.rgb.astype(int)).mean() < 4.0


CT = "1.2.840.10008.5.1.4.1.1.2"
US = "1.2.840.10008.5.1.4.1.1.6.1"
VL_PHOTO = "1.2.840.10008.5.1.4.1.1.77.1.4"
SC = "1.2.840.10008.5.1.4.1.1.7"


@pytest.mark.parametrize("sop, modality, extra, reason", [
    (CT, "CT", {}, "not a fundus photo: a CT image"),
    (US, "US", {}, "not a fundus photo: an ultrasound image"),
    ("1.2.840.10008.5.1.4.1.1.4", "", {}, "not a fundus photo: an MR Image"),
    (SC, "CT", {}, "not a fundus photo: a CT image"),
    (VL_PHOTO, "XC", {"BodyPartExamined": "HAND"}, "not a fundus photo: a photo of the hand"),
    ("1.2.840.10008.5.1.4.1.1.77.1.2", "GM", {}, "not a fundus photo: a microscopy image"),
])
def test_modality_gate_names_what_the_header_says(tmp_path, sop, modality, extra, reason):
    gray = np.full((64, 64), 1000, np.uint16)
    with pytest.raises(errors.NotAFundusPhotoError) as info:
        read_image(write_other_modality(tmp_path / "x.dcm", gray, sop, modality, **extra))
    assert str(info.value) == reason


@pytest.mark.parametrize("sop, modality, extra", [
    (VL_PHOTO, "XC", {}),  # a VL photo that names no body part: the pixels decide
    (VL_PHOTO, "XC", {"BodyPartExamined": "EYE"}),
    ("1.2.840.10008.5.1.4.1.1.77.1.2", "XC", {"StudyDescription": "Retina slide"}),
    (SC, "OT", {}),
    ("1.2.3.4.5.6.7", "", {}),  # a private class and no modality: unknown, not refused
])
def test_modality_gate_lets_eyes_and_unknowns_through(tmp_path, retina_rgb, sop, modality, extra):
    green16 = retina_rgb[::8, ::8, 1].astype(np.uint16) * 257
    img = read_image(write_other_modality(tmp_path / "x.dcm", green16, sop, modality, **extra))
    assert img.rgb.shape[:2] == green16.shape


def test_decoder_chatter_on_a_damaged_jpeg_lossless_photo_stays_off_the_terminal(tmp_path, small_retina, capfd):
    """GDCM's libjpeg prints "Corrupt JPEG data" straight to stderr; the user sees only the result."""
    data = bytearray(write_syntax(tmp_path / "a.dcm", small_retina, "jpeg_lossless_sv1").read_bytes())
    data[-10010:-10000] = bytes(10)  # inside the entropy-coded data: libjpeg warns, still decodes
    bad = tmp_path / "b.dcm"
    bad.write_bytes(bytes(data))
    try:
        read_image(bad)
    except errors.InputError as exc:
        assert "\n" not in str(exc)
    assert capfd.readouterr().err == ""


def test_modality_gate_reads_the_anatomic_region_code():
    from pydicom.dataset import Dataset

    from riqa_desktop.core.modality import refusal

    def ds(sop, code, meaning):
        d, item = Dataset(), Dataset()
        d.SOPClassUID, d.Modality = sop, "XC"
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = code, "SCT", meaning
        d.AnatomicRegionSequence = [item]
        return d

    assert refusal(ds("1.2.840.10008.5.1.4.1.1.77.1.2", "5665001", "Retinal structure")) is None
    assert refusal(ds(VL_PHOTO, "81745001", "Eye structure")) is None
    assert refusal(ds(VL_PHOTO, "39937001", "Skin structure")) == "not a fundus photo: a photo of the skin structure"


def test_a_jpeg_lossless_file_that_kills_its_decoder_costs_only_that_file(tmp_path, small_retina):
    """GDCM aborts the process on some corrupt codestreams (the fuzzer's case 3004992): the decode runs in a
    child process, so that file gets a one-line reason and the next file still decodes."""
    import random
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
    from fuzz_loaders import mutate, seeds

    from riqa_desktop.core import codec_sandbox

    base = seeds(tmp_path)
    rng = random.Random(3004992)
    kind = rng.choice(sorted(base))
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(mutate(base[kind], rng))
    good = write_syntax(tmp_path / "good.dcm", small_retina, "jpeg_lossless_sv1")
    for _ in range(2):  # the worker that died is replaced each time
        with pytest.raises(errors.InputError) as exc:
            read_file(bad)
        assert "crashed" in str(exc.value) and "\n" not in str(exc.value)
        assert np.array_equal(read_image(good).rgb, small_retina)
    for proc in list(codec_sandbox._worker()._processes.values()):  # killed from outside while idle
        proc.kill()
        proc.join()
    assert np.array_equal(read_image(good).rgb, small_retina)
