"""DICOM round trips in every supported transfer syntax, metadata, and failure reasons."""

from __future__ import annotations

import numpy as np
import pytest

from riqa_desktop.core import errors
from riqa_desktop.core.loading import read_file, read_image

from .dicom_fixtures import (
    write_encapsulated,
    write_mono16,
    write_no_pixels,
    write_raw,
    write_rle,
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
    with pytest.raises(errors.UnsupportedCompressionError, match="unsupported compression: JPEG-LS"):
        read_image(write_unsupported(tmp_path / "ls.dcm", small_retina))


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
