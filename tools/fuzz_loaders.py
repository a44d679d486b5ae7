"""Fuzz the photo loaders: `python tools/fuzz_loaders.py --seconds 120`.

Mutates valid JPEG, PNG, TIFF, BMP, JPEG 2000 and DICOM files (bit flips,
byte runs, truncation, splices, header field overwrites) and feeds each
mutant to `read_file`. The only acceptable outcomes are a decoded photo or an
`InputError` with a one-line reason; anything else (another exception, a
hang past 10 s, a reason with a newline) is a finding, printed with the
seed that reproduces it. Exit 1 on any finding.
"""

from __future__ import annotations

import argparse
import io
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from riqa_desktop.core import errors  # noqa: E402
from riqa_desktop.core.loading import read_file  # noqa: E402


def seeds(tmp: Path) -> dict[str, bytes]:
    from skimage import data

    rgb = np.ascontiguousarray(data.retina()[::8, ::8])
    out = {}
    for fmt in ("JPEG", "PNG", "TIFF", "BMP", "JPEG2000"):
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format=fmt)
        out[fmt] = buf.getvalue()
    from tests.dicom_fixtures import write_encapsulated, write_raw, write_rle, write_syntax

    out["DICOM"] = write_raw(tmp / "a.dcm", rgb).read_bytes()
    out["DICOM-RLE"] = write_rle(tmp / "b.dcm", rgb).read_bytes()
    out["DICOM-JPEG"] = write_encapsulated(tmp / "c.dcm", rgb, "jpeg").read_bytes()
    for syntax in ("jpegls", "jpeg_lossless_sv1", "htj2k", "deflated"):
        out[f"DICOM-{syntax}"] = write_syntax(tmp / f"{syntax}.dcm", rgb, syntax).read_bytes()
    out["DICOM-jpeg_lossless_sv1-16"] = write_syntax(tmp / "sv16.dcm", rgb[..., 1].astype(np.uint16) * 257,
                                                     "jpeg_lossless_sv1").read_bytes()
    return out


def mutate(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        i = rng.randrange(len(b)) if b else 0
        if op == 0 and b:  # bit flips
            for _ in range(rng.randint(1, 16)):
                j = rng.randrange(len(b))
                b[j] ^= 1 << rng.randrange(8)
        elif op == 1:  # truncate
            b = b[: rng.randrange(len(b) + 1)]
        elif op == 2:  # run of a byte value
            b[i : i + rng.randint(1, 64)] = bytes([rng.choice((0, 0xFF, rng.randrange(256)))]) * rng.randint(1, 64)
        elif op == 3:  # splice random bytes
            b[i:i] = rng.randbytes(rng.randint(1, 256))
        elif op == 4 and len(b) > 8:  # overwrite a header field (sizes live early in every format)
            j = rng.randrange(min(len(b) - 4, 400))
            b[j : j + 4] = rng.choice((b"\xff\xff\xff\x7f", b"\x00\x00\x00\x00", rng.randbytes(4)))
        elif op == 5 and len(b) > 2:  # duplicate a chunk
            j = rng.randrange(len(b))
            b[i:i] = b[j : j + rng.randint(1, 512)]
    return bytes(b)


class Timeout(Exception):
    pass


def main() -> int:
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.CRITICAL)
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(Timeout()))
    findings, counts = [], {"photo": 0, "reason": 0}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        base = seeds(tmp)
        target = tmp / "mutant"
        end, n = time.monotonic() + args.seconds, 0
        while time.monotonic() < end:
            case_seed = args.seed * 1_000_003 + n
            rng = random.Random(case_seed)
            kind = rng.choice(sorted(base))
            target.write_bytes(mutate(base[kind], rng))
            signal.alarm(10)
            try:
                read_file(target, min_side=rng.choice((None, 64)))
                counts["photo"] += 1
            except errors.InputError as exc:
                counts["reason"] += 1
                if "\n" in str(exc) or not str(exc):
                    findings.append((case_seed, kind, f"bad reason {str(exc)!r}"))
            except Timeout:
                findings.append((case_seed, kind, "hang > 10 s"))
            except Exception as exc:  # the finding this fuzzer exists for
                findings.append((case_seed, kind, f"{type(exc).__name__}: {exc}"[:200]))
            finally:
                signal.alarm(0)
            n += 1
    print(f"{n} mutants in {args.seconds:.0f} s: {counts['photo']} decoded, {counts['reason']} reasons, "
          f"{len(findings)} findings")
    for f in findings[:20]:
        print("  seed %d (%s): %s" % f)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
