"""The DICOM receiver over loopback with pynetdicom's own SCU (127.0.0.1 only; every wait is bounded)."""

from __future__ import annotations

import logging
import threading

import cv2
import numpy as np
import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from riqa_desktop.core.loading import read_image
from riqa_desktop.core.receiver import DicomReceiver

from .dicom_fixtures import write_other_modality, write_raw

OP8 = "1.2.840.10008.5.1.4.1.1.77.1.5.1"
CT = "1.2.840.10008.5.1.4.1.1.2"


@pytest.fixture(scope="module")
def photo(retina_rgb):
    return cv2.resize(retina_rgb, (256, 256), interpolation=cv2.INTER_AREA)


@pytest.fixture()
def receiver(tmp_path):
    stored = []
    r = DicomReceiver(tmp_path / "incoming", port=0, ae_title="RIQA", allowed_callers=["CAMERA"],
                      bind="127.0.0.1", max_bytes=4 << 20, on_stored=stored.append)
    r.start()
    r.stored = stored
    yield r
    r.stop()


def associate(receiver, calling="CAMERA", contexts=(OP8, CT), ts=None):
    from pynetdicom import AE
    from pynetdicom.sop_class import Verification

    ae = AE(ae_title=calling)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    for c in contexts:
        ae.add_requested_context(c, ts) if ts else ae.add_requested_context(c)
    ae.add_requested_context(Verification)
    return ae.associate("127.0.0.1", receiver.port, ae_title="RIQA")


def photo_dataset(tmp_path, rgb, name="p.dcm"):
    ds = pydicom.dcmread(write_raw(tmp_path / name, rgb))
    ds.SOPInstanceUID = generate_uid()
    return ds


def test_echo_and_a_good_photo_is_written_once_and_reads_back(receiver, tmp_path, photo):
    assoc = associate(receiver)
    assert assoc.is_established
    assert assoc.send_c_echo().Status == 0x0000
    ds = photo_dataset(tmp_path, photo)
    assert assoc.send_c_store(ds).Status == 0x0000
    assoc.release()
    (path,) = receiver.stored
    assert path.name == f"{ds.SOPInstanceUID}.dcm" and path.parent == receiver.incoming
    img = read_image(path)
    assert np.array_equal(img.rgb, photo) and img.metadata.patient_id == "TEST-0042"
    assert [p.name for p in receiver.incoming.iterdir()] == [path.name]  # no temp file left behind


def test_unknown_calling_ae_title_is_refused_and_the_receiver_keeps_running(receiver, tmp_path, photo, caplog):
    with caplog.at_level(logging.WARNING, logger="riqa.receiver"):
        assoc = associate(receiver, calling="INTRUDER")
    assert assoc.is_rejected and not assoc.is_established
    assert "calling AE title 'INTRUDER' is not allowed" in caplog.text
    assoc = associate(receiver)
    assert assoc.send_c_store(photo_dataset(tmp_path, photo)).Status == 0x0000
    assoc.release()
    assert len(receiver.stored) == 1


def test_a_ct_image_is_refused_with_a_status_and_never_written(receiver, tmp_path, caplog):
    ct = pydicom.dcmread(write_other_modality(tmp_path / "ct.dcm", np.full((64, 64), 900), CT, "CT"))
    ct.SOPInstanceUID = generate_uid()
    assoc = associate(receiver)
    with caplog.at_level(logging.WARNING, logger="riqa.receiver"):
        rsp = assoc.send_c_store(ct)
    assoc.release()
    assert rsp.Status == 0xC001 and rsp.ErrorComment == "not a fundus photo: a CT image"
    assert "not a fundus photo: a CT image" in caplog.text
    assert receiver.stored == [] and list(receiver.incoming.iterdir()) == []


def test_malformed_and_oversize_objects_are_refused_and_the_association_goes_on(receiver, tmp_path, photo, monkeypatch):
    from pynetdicom import _config

    good = write_raw(tmp_path / "g.dcm", photo)
    meta_len = len(good.read_bytes()) - len(pydicom.dcmread(good).PixelData) - 2000
    broken = tmp_path / "broken.dcm"  # valid file meta, then a dataset stream cut into garbage
    raw = good.read_bytes()
    broken.write_bytes(raw[:meta_len] + b"\xff\xfe\x00\xe0\xff\xff\xff\x7f" + raw[meta_len:meta_len + 100])
    big = np.zeros((1500, 1500, 3), np.uint8)  # 6.75 MB > the 4 MB limit of this receiver
    assoc = associate(receiver, contexts=(OP8,), ts=[ExplicitVRLittleEndian])  # the file's own syntax
    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)  # send the file's bytes as they are
    assert assoc.send_c_store(broken).Status == 0xC210
    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", False)
    assert assoc.send_c_store(photo_dataset(tmp_path, big, "big.dcm")).Status == 0xA700
    assert assoc.is_established
    assoc.release()
    assert receiver.stored == [] and list(receiver.incoming.iterdir()) == []


def test_unknown_sop_class_gets_no_presentation_context(receiver):
    assoc = associate(receiver, contexts=("1.2.826.0.1.3680043.9.9999.1",))
    assert assoc.is_established
    accepted = {cx.abstract_syntax for cx in assoc.accepted_contexts}
    assert "1.2.826.0.1.3680043.9.9999.1" not in accepted
    assoc.release()


def test_fifty_in_a_burst_nothing_lost_nothing_duplicated(receiver, tmp_path, photo):
    datasets = [photo_dataset(tmp_path, photo, f"b{i}.dcm") for i in range(50)]
    statuses, lock = [], threading.Lock()

    def send(chunk):
        assoc = associate(receiver)
        for ds in chunk:
            s = assoc.send_c_store(ds).Status
            with lock:
                statuses.append(s)
        assoc.send_c_store(chunk[0])  # a retry of an object already received
        assoc.release()

    threads = [threading.Thread(target=send, args=(datasets[i::5],)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert statuses == [0] * 50
    names = sorted(p.name for p in receiver.incoming.iterdir())
    assert names == sorted(f"{ds.SOPInstanceUID}.dcm" for ds in datasets)  # all 50, once each, no temp files
    assert len(receiver.stored) == 50


def test_riqa_receive_assesses_a_received_photo_like_a_new_one(tmp_path, photo, capsys):
    """`riqa receive`: receiver -> incoming folder -> watcher -> analyzer, one result line per photo."""
    import json
    import socket

    from riqa_desktop import cli

    from .tiny_models import write_tiny_models

    write_tiny_models(tmp_path / "models")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = ["receive", "--port", str(port), "--bind", "127.0.0.1", "--allow-ae", "CAMERA", "--json", "--limit", "1",
            "--models-dir", str(tmp_path / "models"), "--data-dir", str(tmp_path / "data"), "--device", "cpu"]
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("code", cli.main(argv)), daemon=True)
    t.start()
    from pynetdicom import AE

    ae = AE(ae_title="CAMERA")
    ae.add_requested_context(OP8)
    ae.add_requested_context(CT)
    for _ in range(200):  # the CLI loads its models first; bounded wait for the port to open
        assoc = ae.associate("127.0.0.1", port, ae_title="RIQA")
        if assoc.is_established:
            break
        t.join(timeout=0.1)
    ct = pydicom.dcmread(write_other_modality(tmp_path / "ct.dcm", np.full((64, 64), 900), CT, "CT"))
    assert assoc.send_c_store(ct).Status == 0xC001
    ds = photo_dataset(tmp_path, photo)
    assert assoc.send_c_store(ds).Status == 0x0000
    assoc.release()
    t.join(timeout=60)
    assert result.get("code") == 0
    (line,) = capsys.readouterr().out.strip().splitlines()
    rec = json.loads(line)
    assert rec["path"] == str(tmp_path / "data" / "incoming" / f"{ds.SOPInstanceUID}.dcm")
    assert rec["ok"] and rec["grade"] in ("good", "usable", "reject", "not_fundus")


def test_address_allow_list_and_called_ae_title_are_enforced(tmp_path, caplog):
    from pynetdicom import AE
    from pynetdicom.sop_class import Verification

    r = DicomReceiver(tmp_path / "in", port=0, ae_title="RIQA", allowed_addresses=["127.0.0.2"], bind="127.0.0.1")
    r.start()
    try:
        with caplog.at_level(logging.WARNING, logger="riqa.receiver"):
            assoc = associate(r)
            assert assoc.is_rejected
            ae = AE(ae_title="CAMERA")
            ae.acse_timeout = ae.network_timeout = 10
            ae.add_requested_context(Verification)
            r.allowed_addresses = set()
            wrong_called = ae.associate("127.0.0.1", r.port, ae_title="OTHER")
            assert wrong_called.is_rejected
            ok = associate(r)
            assert ok.send_c_echo().Status == 0x0000  # and it still answers afterwards
            ok.release()
        assert "address 127.0.0.1 is not allowed" in caplog.text
        assert "refused association from 127.0.0.1 (CAMERA) by negotiation" in caplog.text
    finally:
        r.stop()
