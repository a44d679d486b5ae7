"""`riqa-desktop --self-test`: does this installation (or built app) work?

Opens the main window offscreen (timing start-up), assesses every bundled
sample photo with the shipped models, and checks each result against
`resources/samples/expected.json`: the same model files (sha256 from their
cards), the same grade, probabilities and quality score within the stated
tolerance; and decodes one photo in each DICOM syntax clinics send
(`resources/samples/dicom`), so a bundle that lost a decoder plug-in fails;
and starts the DICOM receiver on loopback and checks it answers C-ECHO.
Prints one line per check and exits 0, or 1 with the reason.
"""

from __future__ import annotations

import json
import time

from .resources import models_dir, samples_dir


def _check_models(expected: dict) -> list[str]:
    problems = []
    for name, sha in expected.get("models", {}).items():
        card_path = models_dir() / f"{name}.json"
        if not card_path.is_file():
            problems.append(f"model card {card_path.name} missing")
            continue
        if json.loads(card_path.read_text()).get("sha256") != sha:
            problems.append(f"model '{name}' is not the one the samples were checked with")
    return problems


def check_samples(backend: str = "auto") -> tuple[list[str], list[str]]:
    """(report lines, problems) for the bundled samples."""
    from .core.analyzer import Analyzer

    expected = json.loads((samples_dir() / "expected.json").read_text())
    tol = float(expected.get("tolerance", 0.05))
    problems = _check_models(expected)
    t = time.perf_counter()
    analyzer = Analyzer(device="cpu", backend=backend)
    lines = [f"models loaded ({analyzer.backend.name}) in {(time.perf_counter() - t) * 1000:.0f} ms"]
    for name, want in expected["photos"].items():
        (a,) = analyzer.assess_path(samples_dir() / name)
        if not a.ok:
            problems.append(f"{name}: unreadable ({a.error})")
            continue
        worst = max([abs(a.grade_probs.get(k, 0.0) - v) for k, v in want["grade_probs"].items()]
                    + [abs((a.quality_score or 0.0) - want["quality_score"])])
        ok = a.grade == want["grade"] and worst <= tol
        lines.append(f"{'ok ' if ok else 'BAD'} {name}: {a.grade} (expected {want['grade']}), "
                     f"largest difference {worst:.4f}, {a.timings_ms.get('total', 0):.0f} ms")
        if not ok:
            problems.append(f"{name}: got {a.grade}, expected {want['grade']} (difference {worst:.3f} > {tol})")
    return lines, problems


def check_dicom_syntaxes() -> tuple[list[str], list[str]]:
    """(report lines, problems): each DICOM syntax in `samples/dicom` decodes to the reference within its error."""
    import numpy as np
    from PIL import Image

    from .core.errors import InputError
    from .core.loading import read_image

    folder = samples_dir() / "dicom"
    expected = json.loads((folder / "expected.json").read_text())
    ref = np.asarray(Image.open(folder / expected["reference"]).convert("RGB")).astype(int)
    lines, problems = [], []
    for name, want in expected["files"].items():
        try:
            rgb = read_image(folder / name).rgb.astype(int)
        except InputError as exc:
            problems.append(f"{name}: {exc}")
            continue
        target = ref if want["channel"] is None else np.repeat(ref[..., want["channel"], None], 3, axis=2)
        err = int(np.abs(rgb - target).max()) if rgb.shape == target.shape else 999
        ok = err <= want["max_error"]
        lines.append(f"{'ok ' if ok else 'BAD'} {name}: largest pixel error {err} (allowed {want['max_error']})")
        if not ok:
            problems.append(f"{name}: pixel error {err} > {want['max_error']}")
    return lines, problems


def check_receiver() -> tuple[list[str], list[str]]:
    """(report lines, problems): the DICOM receiver starts on loopback and answers C-ECHO."""
    import tempfile

    from pynetdicom import AE
    from pynetdicom.sop_class import Verification

    from .core.receiver import DicomReceiver

    with tempfile.TemporaryDirectory() as d:
        receiver = DicomReceiver(d, port=0, bind="127.0.0.1")
        receiver.start()
        try:
            ae = AE(ae_title="SELFTEST")
            ae.acse_timeout = ae.network_timeout = 5
            ae.add_requested_context(Verification)
            assoc = ae.associate("127.0.0.1", receiver.port, ae_title=receiver.ae_title)
            status = assoc.send_c_echo().Status if assoc.is_established else None
            if assoc.is_established:
                assoc.release()
        finally:
            receiver.stop()
    if status != 0:
        return [], [f"DICOM receiver did not answer C-ECHO (status {status})"]
    return ["ok  DICOM receiver answers C-ECHO on loopback"], []


def run(backend: str = "auto") -> int:
    try:
        from .ui.launch import window_startup_ms

        ms = window_startup_ms()
        print(f"window shown in {ms:.0f} ms")
        lines, problems = check_samples(backend)
        dicom_lines, dicom_problems = check_dicom_syntaxes()
        echo_lines, echo_problems = check_receiver()
        lines, problems = lines + dicom_lines + echo_lines, problems + dicom_problems + echo_problems
    except Exception as exc:  # the self-test reports every failure as its reason
        print(f"self-test FAILED: {type(exc).__name__}: {exc}")
        return 1
    print("\n".join(lines))
    if problems:
        print("self-test FAILED: " + "; ".join(problems))
        return 1
    print("self-test passed")
    return 0
