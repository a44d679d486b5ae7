"""The image operations the app runs, on numpy (and Pillow for JPEG/PNG), without OpenCV.

Each follows the OpenCV call it replaced, so the squares the models were trained on
(`preprocess.prepare`, area resampling) and every threshold tuned on these maps keep
their values: area / linear / cubic resizing with OpenCV's sampling grid, Gaussian
kernels sized as OpenCV sizes them, BORDER_REFLECT_101 for filters, morphology that
ignores the frame, 8-connected labelling in raster order. uint8 results may differ
by one level where OpenCV rounds in fixed point. Leaving OpenCV out keeps the lean
app's bundle 150 MB smaller (its wheel carries FFmpeg and its own OpenBLAS).
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

# ---------------------------------------------------------------- resizing


def _out_dtype(img: np.ndarray, out: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint8:
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out.astype(img.dtype if img.dtype.kind == "f" else np.float32, copy=False)


def _apply_taps(img: np.ndarray, axis: int, idx: np.ndarray, w: np.ndarray) -> np.ndarray:
    """out[j] = sum_k w[j, k] * img[idx[j, k]] along `axis` (float32)."""
    src = np.moveaxis(img, axis, 0)
    shape = (-1,) + (1,) * (src.ndim - 1)
    out = None
    for k in range(idx.shape[1]):
        term = src[idx[:, k]] * w[:, k].reshape(shape)
        out = term if out is None else out + term
    return np.moveaxis(out, 0, axis)


_AREA_BLOCK = 8  # output samples per matrix product
_ONE_THREAD_MNK = 200_000  # OpenBLAS multiplies below 65536 * 4 = m * n * k on one thread


def _banded(idx: np.ndarray, w: np.ndarray, n: int) -> tuple[list[int], int, np.ndarray]:
    """Taps (m, K) over n inputs (weight 0 or an index outside 0..n-1: none) as a banded resampling
    matrix: blocks of `_AREA_BLOCK` output rows, each reading the `span` inputs from its start:
    (starts, span, (blocks, _AREA_BLOCK, span) float32). Built from the taps, never as a dense (m, n)."""
    m, k = idx.shape
    nb = -(-m // _AREA_BLOCK)
    use = np.zeros((nb * _AREA_BLOCK, k), bool)
    use[:m] = (w != 0) & (idx >= 0) & (idx < n)
    at = np.zeros((nb * _AREA_BLOCK, k), np.int64)
    at[:m] = idx
    first = np.where(use, at, n).reshape(nb, -1).min(1)
    last = np.where(use, at, -1).reshape(nb, -1).max(1)
    first, last = np.where(last >= 0, first, 0), np.maximum(last, 0)
    span = max(1, int((last - first).max()) + 1)
    starts = np.minimum(first, n - span)
    j, t = np.nonzero(use[:m])
    blocks = np.zeros((nb, _AREA_BLOCK, span), np.float64)
    np.add.at(blocks, (j // _AREA_BLOCK, j % _AREA_BLOCK, idx[j, t] - starts[j // _AREA_BLOCK]), w[j, t].astype(np.float64))
    return starts.tolist(), span, blocks.astype(np.float32)


@lru_cache(maxsize=64)
def _area_tab(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV's INTER_AREA table from n to m <= n samples (computeResizeAreaTab): output j averages
    [j s, (j + 1) s), s = n / m, the pixels it cuts weighted by the share they cover (shares under 1e-3
    left out), float32 weights. (index, weight) as (m, K) arrays in OpenCV's order, unused slots weight 0."""
    s = n / m
    f1 = np.arange(m) * s  # as a loop over j would (each square side needs a new table)
    f2 = f1 + s
    cell = np.minimum(s, n - f1)
    s2 = np.minimum(np.floor(f2).astype(np.int64), n - 1)
    s1 = np.minimum(np.ceil(f1).astype(np.int64), s2)
    head = s1 - f1 > 1e-3  # the pixel cut at the start, then the whole ones, then the one cut at the end
    tail = f2 - s2 > 1e-3
    k = np.arange(int((head + (s2 - s1) + tail).max()))[None, :] - head[:, None]
    mid = (k >= 0) & (k < (s2 - s1)[:, None])
    first, last = (k == -1), (k == (s2 - s1)[:, None]) & tail[:, None]
    idx = np.where(mid, s1[:, None] + k, 0) + np.where(first, s1[:, None] - 1, 0) + np.where(last, s2[:, None], 0)
    w = (np.where(mid, (1.0 / cell)[:, None], 0.0) + np.where(first, ((s1 - f1) / cell)[:, None], 0.0)
         + np.where(last, (np.minimum(np.minimum(f2 - s2, 1.0), cell) / cell)[:, None], 0.0))
    return idx, w.astype(np.float32)


@lru_cache(maxsize=64)
def _area_axis(n: int, m: int, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, int, int, tuple | None]:
    """The n -> m area taps (identity when m == n) of an axis whose inputs outside [lo, hi) are black,
    for an array holding only [lo, hi): (indices from lo, weights (0 for the black ones), outputs
    [j0, j1) that can be nonzero, their banded plan or None when nothing is resampled)."""
    idx, w = _area_tab(n, m) if m != n else (np.arange(n)[:, None], np.ones((n, 1), np.float32))
    inside = (idx >= lo) & (idx < hi) & (w != 0)
    hit = np.flatnonzero(inside.any(axis=1))
    j0, j1 = (int(hit[0]), int(hit[-1]) + 1) if len(hit) else (0, 0)
    idx, w = np.clip(idx - lo, 0, max(hi - lo - 1, 0))[j0:j1], np.where(inside, w, 0).astype(np.float32)[j0:j1]
    plan = None if (m, lo, hi) == (n, 0, n) or j1 == j0 else _banded(idx, w, hi - lo)
    return idx, w, j0, j1, plan


def _rows(x: np.ndarray, plan: tuple[list[int], int, np.ndarray]) -> np.ndarray:
    """Resample the rows of a 2-D float32 array by a banded plan: one small matrix product per block and
    column strip, each small enough that BLAS runs it on the calling thread (its threads would fight ONNX
    Runtime's for the cores)."""
    starts, span, weights = plan
    out = np.empty((len(starts) * _AREA_BLOCK, x.shape[1]), np.float32)
    strip = max(64, _ONE_THREAD_MNK // (_AREA_BLOCK * span))
    for b, a in enumerate(starts):
        rows = out[b * _AREA_BLOCK: (b + 1) * _AREA_BLOCK]
        for c in range(0, x.shape[1], strip):
            np.matmul(weights[b], x[a: a + span, c: c + strip], out=rows[:, c: c + strip])
    return out


def _cols(y: np.ndarray, plan: tuple[list[int], int, np.ndarray]) -> np.ndarray:
    """The same along the columns (right-multiplied blocks, no transpose)."""
    starts, span, weights = plan
    out = np.empty((y.shape[0], len(starts) * _AREA_BLOCK), np.float32)
    strip = max(64, _ONE_THREAD_MNK // (_AREA_BLOCK * span))
    wt = weights.transpose(0, 2, 1)
    for r in range(0, y.shape[0], strip):
        rows = y[r: r + strip]
        for b, a in enumerate(starts):
            out[r: r + strip, b * _AREA_BLOCK: (b + 1) * _AREA_BLOCK] = rows[:, a: a + span] @ wt[b]
    return out


_STRIP_VALUES = 1 << 18  # about as many input values per strip of output rows: their intermediates stay in cache


def _separable(img: np.ndarray, row_plan, h_out: int, col_plan, w_out: int) -> np.ndarray:
    """Apply banded row and column resampling (None: keep) to an (H, W) or (H, W, C) image: rows on the
    pixel-interleaved image, then the columns of each channel plane, a strip of output rows at a time
    (converting only the input rows it reads). float32 result, laid out as channel planes."""
    w = img.shape[1]
    c = 1 if img.ndim == 2 else img.shape[2]
    out = np.empty((c, h_out, w_out), np.float32)
    step = _AREA_BLOCK * max(1, _STRIP_VALUES // (_AREA_BLOCK * w * c))
    for r0 in range(0, h_out, step):
        r1 = min(r0 + step, h_out)
        if row_plan is None:
            y = img[r0:r1].astype(np.float32, copy=False).reshape(r1 - r0, w * c)
        else:
            starts, span, weights = row_plan
            b0, b1 = r0 // _AREA_BLOCK, -(-r1 // _AREA_BLOCK)
            lo, hi = min(starts[b0:b1]), max(starts[b0:b1]) + span
            x = img[lo:hi].astype(np.float32, copy=False).reshape(hi - lo, w * c)
            y = _rows(x, ([a - lo for a in starts[b0:b1]], span, weights[b0:b1]))[: r1 - r0]
        planes = y.reshape(r1 - r0, w, c).transpose(2, 0, 1).reshape(c * (r1 - r0), w) if c > 1 else y
        z = _cols(np.ascontiguousarray(planes), col_plan)[:, :w_out] if col_plan is not None else planes
        out[:, r0:r1] = z.reshape(c, r1 - r0, w_out)
    return out.transpose(1, 2, 0) if img.ndim == 3 else out[0]


def _area(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """OpenCV's INTER_AREA shrink (float32 result): banded matrix products, whose sums differ from OpenCV's
    only in the last bits."""
    w_out, h_out = size
    h, w = img.shape[:2]
    return _separable(img, _area_axis(h, h_out, 0, h)[4], h_out, _area_axis(w, w_out, 0, w)[4], w_out)


def _area_u8(img: np.ndarray, size: tuple[int, int], frame: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """cv2.resize(img, size, INTER_AREA) for uint8, to the bit. Whole-number factors take OpenCV's fast path
    (integer sums; halves round up at 2x2). Otherwise the few results within a hair of a half are summed
    again in OpenCV's order and float32 steps (columns, then rows), so they round as OpenCV's do.

    frame (H, W, top, left): resize an H x W black image holding `img` at (top, left) instead, without
    building or resampling the black, which adds exactly nothing to any sum."""
    w_out, h_out = size
    h, w = img.shape[:2]
    fh, fw, top, left = frame or (h, w, 0, 0)
    yi, yw, y0, y1, row_plan = _area_axis(fh, h_out, top, top + h)
    xi, xw, x0, x1, col_plan = _area_axis(fw, w_out, left, left + w)
    if (y0, y1, x0, x1) == (0, h_out, 0, w_out):
        return _area_u8_part(img, row_plan, yi, yw, col_plan, xi, xw, fw / w_out, fh / h_out)
    # Channel planes, as `_area_u8_part` returns them: block copies, not an interleaving one.
    res = np.zeros(img.shape[2:] + (h_out, w_out), np.uint8)
    if y1 > y0 and x1 > x0:
        part = _area_u8_part(img, row_plan, yi, yw, col_plan, xi, xw, fw / w_out, fh / h_out)
        res[..., y0:y1, x0:x1] = np.moveaxis(part, -1, 0) if img.ndim == 3 else part
    return np.moveaxis(res, 0, -1) if img.ndim == 3 else res


def _area_u8_part(img, row_plan, yi, yw, col_plan, xi, xw, fx: float, fy: float) -> np.ndarray:
    """`_area_u8`'s outputs that `img` reaches, from the axes' taps and plans (`_area_axis`)."""
    out = _separable(img, row_plan, len(yi), col_plan, len(xi))
    if fx == int(fx) and fy == int(fy):
        total = np.rint(out * np.float32(fx * fy))  # the integer sum of each block
        if (fx, fy) == (2, 2):
            return np.clip((total + 2) // 4, 0, 255).astype(np.uint8)
        return np.clip(np.rint(total.astype(np.float32) * np.float32(1 / (fx * fy))), 0, 255).astype(np.uint8)
    # On the channel planes `_separable` wrote (contiguous), so the near halves are found by flat index.
    planes = np.moveaxis(out, -1, 0) if img.ndim == 3 else out
    res = np.rint(planes)
    off = planes - res
    np.abs(off, out=off)
    pick = np.flatnonzero(off > np.float32(0.498))
    if len(pick):
        if img.ndim == 3:
            ch, y, x = np.unravel_index(pick, planes.shape)
        else:
            (y, x), ch = np.unravel_index(pick, planes.shape), None
        total = None
        for ky in range(yi.shape[1]):
            row = yi[y, ky]
            acc = np.zeros(len(y), np.float32)
            for kx in range(xi.shape[1]):
                v = img[row, xi[x, kx], ch] if ch is not None else img[row, xi[x, kx]]
                acc = acc + v.astype(np.float32) * xw[x, kx]
            term = yw[y, ky] * acc
            total = term if total is None else total + term
        res.reshape(-1)[pick] = np.rint(total)
    res = res.astype(np.uint8)  # weights >= 0 summing to 1: no clipping needed
    return np.moveaxis(res, 0, -1) if img.ndim == 3 else res


def _linear_taps(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Half-pixel bilinear taps, edges replicated, no anti-aliasing (OpenCV INTER_LINEAR)."""
    x = (np.arange(m) + 0.5) * (n / m) - 0.5
    x0 = np.floor(x)
    t = (x - x0).astype(np.float32)
    x0 = x0.astype(np.int64)
    t = np.where(x0 < 0, 0, t)
    t = np.where(x0 >= n - 1, 0, t)
    x0 = np.clip(x0, 0, n - 1)
    idx = np.stack([x0, np.minimum(x0 + 1, n - 1)], 1)
    return idx, np.stack([1 - t, t], 1).astype(np.float32)


def _linear_u8_coeffs(n: int, m: int, clamp: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OpenCV's 8-bit INTER_LINEAR coefficients: float32 positions, weights in 1/2048 (each rounded)."""
    f = ((np.arange(m) + 0.5) * (n / m) - 0.5).astype(np.float32)
    s = np.floor(f).astype(np.int64)
    f = (f - s.astype(np.float32)).astype(np.float32)
    if clamp:  # columns: the frame's first and last pixels are taken whole
        f[s < 0] = 0
        s[s < 0] = 0
        right = s + 1 >= n
        f[right] = 0
        s[right] = np.minimum(s[right], n - 1)
    return s, np.rint((np.float32(1) - f) * np.float32(2048)).astype(np.int64), np.rint(f * np.float32(2048)).astype(np.int64)


def _linear_u8(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """cv2.resize(img, size, INTER_LINEAR) for uint8, to the bit: fixed-point columns, then rows as
    OpenCV's vector code rounds them ((a >> 4) * b >> 16, twice, then + 2 >> 2)."""
    w_out, h_out = size
    h, w = img.shape[:2]
    x = img.astype(np.int64).reshape(h, w, -1)
    sx, a0, a1 = _linear_u8_coeffs(w, w_out, True)
    cols = x[:, sx] * a0[None, :, None] + x[:, np.minimum(sx + 1, w - 1)] * a1[None, :, None]
    sy, b0, b1 = _linear_u8_coeffs(h, h_out, False)
    r0, r1 = np.clip(sy, 0, h - 1), np.clip(sy + 1, 0, h - 1)
    out = ((((cols[r0] >> 4) * b0[:, None, None]) >> 16) + (((cols[r1] >> 4) * b1[:, None, None]) >> 16) + 2) >> 2
    out = np.clip(out, 0, 255).astype(np.uint8)
    return out.reshape(img.shape[:0] + (h_out, w_out) + img.shape[2:])


def _cubic_taps(n: int, m: int, a: float = -0.75) -> tuple[np.ndarray, np.ndarray]:
    """Half-pixel bicubic taps (Keys, a = -0.75), edges replicated (OpenCV INTER_CUBIC)."""
    x = (np.arange(m) + 0.5) * (n / m) - 0.5
    x0 = np.floor(x)
    t = x - x0
    d = np.stack([1 + t, t, 1 - t, 2 - t], 1)
    w = np.where(d <= 1, ((a + 2) * d - (a + 3)) * d * d + 1, ((a * d - 5 * a) * d + 8 * a) * d - 4 * a)
    idx = np.clip(x0.astype(np.int64)[:, None] + np.arange(-1, 3)[None, :], 0, n - 1)
    return idx, w.astype(np.float32)


def resize(img: np.ndarray, size: tuple[int, int], method: str = "area") -> np.ndarray:
    """Resize an (H, W) or (H, W, C) image to `size` = (width, height).

    method: "area" (a shrink: the mean over each output pixel's footprint, cut pixels by the share
    covered, as OpenCV's INTER_AREA; enlarging falls back to bilinear),
    "linear", "cubic" or "nearest". uint8 stays uint8 (rounded); other types come back float32.
    """
    w_out, h_out = int(size[0]), int(size[1])
    h, w = img.shape[:2]
    if (h, w) == (h_out, w_out):
        return img.copy()
    if method == "nearest":
        ys = np.minimum(np.floor(np.arange(h_out) * (h / h_out)).astype(np.int64), h - 1)
        xs = np.minimum(np.floor(np.arange(w_out) * (w / w_out)).astype(np.int64), w - 1)
        return img[ys][:, xs]
    if method == "area" and (h_out > h or w_out > w):
        method = "linear"  # as OpenCV's INTER_AREA does when enlarging
    if method == "area":
        return _area_u8(img, (w_out, h_out)) if img.dtype == np.uint8 else _out_dtype(img, _area(img, (w_out, h_out)))
    if method == "linear" and img.dtype == np.uint8:
        return _linear_u8(img, (w_out, h_out))
    taps = {"linear": _linear_taps, "cubic": _cubic_taps}[method]
    src = img.astype(np.float32) if img.dtype != np.float32 else img
    # The shorter pass first: shrink rows, then columns (or the other way when that is less work).
    if h_out * w <= h * w_out:
        out = _apply_taps(_apply_taps(src, 0, *taps(h, h_out)), 1, *taps(w, w_out))
    else:
        out = _apply_taps(_apply_taps(src, 1, *taps(w, w_out)), 0, *taps(h, h_out))
    return _out_dtype(img, out)


def resize_in_frame(img: np.ndarray, frame: tuple[int, int, int, int], size: tuple[int, int],
                    method: str = "area") -> np.ndarray:
    """`resize` of an H x W black image holding `img` at (top, left), frame = (H, W, top, left). A uint8
    area shrink neither builds nor resamples the black, which adds exactly nothing to any sum."""
    fh, fw, top, left = frame
    w_out, h_out = int(size[0]), int(size[1])
    if method == "area" and img.dtype == np.uint8 and w_out <= fw and h_out <= fh and (h_out, w_out) != (fh, fw):
        return _area_u8(img, (w_out, h_out), frame)
    canvas = np.zeros((fh, fw) + img.shape[2:], img.dtype)
    canvas[top: top + img.shape[0], left: left + img.shape[1]] = img
    return resize(canvas, (w_out, h_out), method)


def shrink_to(img: np.ndarray, f: float) -> np.ndarray:
    """Area-resize by factor f < 1 (sizes rounded, at least 1 px), as the app's loaders and detectors do."""
    h, w = img.shape[:2]
    return resize(img, (max(1, round(w * f)), max(1, round(h * f))), "area")


# ---------------------------------------------------------------- filtering


def _reflect101(n: int, r: int) -> np.ndarray:
    """Indices of a 0..n-1 axis padded by r on each side, mirrored without repeating the edge (gfedcb|abcdefgh|gfedcba)."""
    i = np.arange(-r, n + r)
    if n == 1:
        return np.zeros_like(i)
    period = 2 * (n - 1)
    i = np.mod(i, period)
    return np.where(i >= n, period - i, i)


def _framed(img: np.ndarray, top: int, bottom: int, left: int, right: int, value=0) -> np.ndarray:
    """`img` in a frame of `value` (np.pad's constant mode without its per-call overhead, which
    dominates on the map's 16 x 16 grids)."""
    h, w = img.shape[:2]
    out = np.full((h + top + bottom, w + left + right) + img.shape[2:], value, img.dtype)
    out[top: top + h, left: left + w] = img
    return out


def _correlate1d(img: np.ndarray, kernel: np.ndarray, axis: int) -> np.ndarray:
    """Correlate float32 `img` with an odd 1-D kernel along `axis` (kernel centred), BORDER_REFLECT_101.
    The terms are summed in kernel order into one array (a 41-tap Gaussian made two temporaries a tap)."""
    r = len(kernel) // 2
    n = img.shape[axis]
    pad = np.take(img, _reflect101(n, r), axis=axis)  # one gather: np.pad costs more on small arrays
    out = term = None
    for k, c in enumerate(kernel):
        if c == 0:
            continue
        part = pad[k: k + n] if axis == 0 else pad[:, k: k + n]
        c = np.float32(c) if pad.dtype.kind == "f" else int(c)
        if out is None:
            out = part * c
        else:
            term = np.multiply(part, c, out=term)
            out += term
    return out if out is not None else np.zeros_like(img)


def sep_filter(img: np.ndarray, kx: np.ndarray, ky: np.ndarray) -> np.ndarray:
    """Separable correlation (kx along x, ky along y), BORDER_REFLECT_101, float32 result."""
    f = img.astype(np.float32)
    return _correlate1d(_correlate1d(f, np.asarray(ky, np.float64), 0), np.asarray(kx, np.float64), 1)


_SMALL_GAUSSIAN = {1: [1.0], 3: [0.25, 0.5, 0.25], 5: [0.0625, 0.25, 0.375, 0.25, 0.0625],
                   7: [0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125]}


def gaussian_kernel(ksize: int, sigma: float) -> np.ndarray:
    """OpenCV's getGaussianKernel: the fixed small kernels for sigma <= 0, else sampled and normalised."""
    if sigma <= 0 and ksize in _SMALL_GAUSSIAN:
        return np.array(_SMALL_GAUSSIAN[ksize])
    if sigma <= 0:
        sigma = ((ksize - 1) * 0.5 - 1) * 0.3 + 0.8
    x = np.arange(ksize) - (ksize - 1) / 2
    k = np.exp(-(x**2) / (2 * sigma**2))
    return k / k.sum()


def gaussian_blur(img: np.ndarray, sigma: float = 0.0, ksize: int = 0) -> np.ndarray:
    """cv2.GaussianBlur(img, (ksize, ksize), sigma): the kernel spans 3 sigma (uint8) or 4 sigma (float)
    when ksize is 0; BORDER_REFLECT_101. The result has the input's type (uint8 rounded)."""
    if ksize <= 0:
        ksize = int(np.rint(sigma * (3 if img.dtype == np.uint8 else 4) * 2 + 1)) | 1
    k = gaussian_kernel(ksize, sigma)
    if img.dtype == np.uint8 and sigma <= 0 and ksize in _SMALL_GAUSSIAN:
        return _fixed_kernel_u8(img, k)
    return _out_dtype(img, sep_filter(img, k, k))


def _fixed_kernel_u8(img: np.ndarray, k: np.ndarray) -> np.ndarray:
    """OpenCV's bit-exact 8-bit smoothing with a kernel of binary fractions: integer sums, halves up."""
    bits = 0
    while not np.all(np.mod(k * (1 << bits), 1) == 0):
        bits += 1
    ik = (k * (1 << bits)).astype(np.int64)
    acc = img.astype(np.uint16 if int(ik.sum()) ** 2 * 255 < 1 << 16 else np.int32)
    for axis in (0, 1):
        acc = _correlate1d(acc, ik, axis)
    return np.clip((acc + (1 << (2 * bits - 1))) >> (2 * bits), 0, 255).astype(np.uint8) if bits else acc.astype(np.uint8)


def box_blur(img: np.ndarray, k: int) -> np.ndarray:
    """cv2.blur(img, (k, k), borderType=BORDER_CONSTANT): mean of the k x k window, zeros outside (float32)."""
    f = img.astype(np.float32)
    a = k // 2  # OpenCV's anchor for even k too
    pad = _framed(f, a + 1, k - 1 - a, a + 1, k - 1 - a)  # + a zero first row and column: the sums' origin
    c = np.cumsum(np.cumsum(pad, 0, dtype=np.float64), 1)
    h, w = f.shape[:2]
    s = c[k: k + h, k: k + w] - c[:h, k: k + w] - c[k: k + h, :w] + c[:h, :w]
    return (s / (k * k)).astype(np.float32)


def laplacian(img: np.ndarray) -> np.ndarray:
    """cv2.Laplacian(img, CV_32F) (ksize 1: the 4-neighbour kernel), BORDER_REFLECT_101."""
    f = img.astype(np.float32)
    return _correlate1d(f, np.array([1.0, -2.0, 1.0]), 0) + _correlate1d(f, np.array([1.0, -2.0, 1.0]), 1)


def sobel(img: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """cv2.Sobel(img, CV_32F, dx, dy, ksize=3) for dx + dy <= 2."""
    kern = {0: [1.0, 2.0, 1.0], 1: [-1.0, 0.0, 1.0], 2: [1.0, -2.0, 1.0]}
    return sep_filter(img, np.array(kern[dx]), np.array(kern[dy]))


def pyr_down(img: np.ndarray) -> np.ndarray:
    """cv2.pyrDown: 5x5 Gaussian [1 4 6 4 1]/16, then every other pixel; ((w+1)//2, (h+1)//2)."""
    k = np.array(_SMALL_GAUSSIAN[5])
    if img.dtype == np.uint8:
        return _fixed_kernel_u8(img, k)[::2, ::2]
    return sep_filter(img, k, k)[::2, ::2]


# ---------------------------------------------------------------- morphology


def ellipse_kernel(k: int) -> np.ndarray:
    """cv2.getStructuringElement(MORPH_ELLIPSE, (k, k)) as a bool array."""
    r = c = k // 2
    out = np.zeros((k, k), bool)
    for i in range(k):
        dy = i - r
        if abs(dy) <= r:
            dx = int(np.rint(c * np.sqrt((r * r - dy * dy) / (r * r)))) if r else 0
            out[i, max(c - dx, 0): min(c + dx + 1, k)] = True
    return out


def _morph(img: np.ndarray, kernel: np.ndarray | int, op) -> np.ndarray:
    """Min (erode) or max (dilate) over the kernel's True cells, anchored at its centre; the frame
    never takes part (OpenCV's default border for morphology)."""
    kern = np.ones((kernel, kernel), bool) if isinstance(kernel, int) else np.asarray(kernel, bool)
    kh, kw = kern.shape
    ay, ax = kh // 2, kw // 2
    if img.dtype == np.uint8:
        fill = 255 if op is np.minimum else 0
    elif img.dtype.kind == "f":
        fill = np.inf if op is np.minimum else -np.inf
    else:
        info = np.iinfo(img.dtype)
        fill = info.max if op is np.minimum else info.min
    h, w = img.shape[:2]
    pad = _framed(img, ay, kh - 1 - ay, ax, kw - 1 - ax, fill)
    out = None
    # Row by row of the kernel: a run of True cells is a horizontal min/max, shifted to its row.
    runs: dict[tuple[int, int], np.ndarray] = {}
    for i in range(kh):
        cols = np.flatnonzero(kern[i])
        if not len(cols):
            continue
        j0, j1 = int(cols[0]), int(cols[-1]) + 1
        if len(cols) != j1 - j0:  # not one run: cell by cell
            for j in cols:
                part = pad[i: i + h, j: j + w]
                out = part.copy() if out is None else op(out, part, out=out)
            continue
        if (j0, j1) not in runs:
            line = pad[:, j0: j0 + w].copy()
            for j in range(j0 + 1, j1):
                op(line, pad[:, j: j + w], out=line)
            runs[(j0, j1)] = line
        part = runs[(j0, j1)][i: i + h]
        out = part.copy() if out is None else op(out, part, out=out)
    return out if out is not None else img.copy()


def erode(img: np.ndarray, kernel: np.ndarray | int) -> np.ndarray:
    return _morph(img, kernel, np.minimum)


def dilate(img: np.ndarray, kernel: np.ndarray | int) -> np.ndarray:
    return _morph(img, kernel, np.maximum)


def opening(img: np.ndarray, kernel: np.ndarray | int) -> np.ndarray:
    return dilate(erode(img, kernel), kernel)


def closing(img: np.ndarray, kernel: np.ndarray | int) -> np.ndarray:
    return erode(dilate(img, kernel), kernel)


def clahe(gray: np.ndarray, clip_limit: float = 2.0, tiles: int = 8) -> np.ndarray:
    """cv2.createCLAHE(clip_limit, (tiles, tiles)).apply(gray) for uint8: per-tile histograms clipped
    and redistributed as OpenCV does, tile LUTs blended bilinearly between tile centres."""
    src = np.asarray(gray, np.uint8)
    h, w = src.shape
    if h % tiles or w % tiles:  # OpenCV mirrors the image out to whole tiles
        src_ext = src[_reflect101(h, tiles)[tiles: tiles + h + (tiles - h % tiles) % tiles]] if h % tiles else src
        src_ext = src_ext[:, _reflect101(w, tiles)[tiles: tiles + w + (tiles - w % tiles) % tiles]] if w % tiles else src_ext
    else:
        src_ext = src
    th, tw = src_ext.shape[0] // tiles, src_ext.shape[1] // tiles
    total = th * tw
    blocks = src_ext[: th * tiles, : tw * tiles].reshape(tiles, th, tiles, tw).transpose(0, 2, 1, 3).reshape(tiles * tiles, -1)
    hist = np.stack([np.bincount(b, minlength=256) for b in blocks]).astype(np.int64)
    limit = max(int(clip_limit * total / 256), 1) if clip_limit > 0 else 0
    if limit:
        clipped = np.maximum(hist - limit, 0).sum(1)
        hist = np.minimum(hist, limit) + (clipped // 256)[:, None]
        residual = clipped - (clipped // 256) * 256
        step = np.maximum(256 // np.maximum(residual, 1), 1)
        i = np.arange(256)[None, :]
        hist += ((i % step[:, None] == 0) & (i // step[:, None] < residual[:, None])).astype(np.int64)
    luts = np.clip(np.rint(np.cumsum(hist, 1).astype(np.float32) * np.float32(255 / total)), 0, 255)
    luts = luts.astype(np.float32).reshape(tiles, tiles, 256)

    def axis(n, t):
        f = np.arange(n, dtype=np.float32) * np.float32(1 / t) - np.float32(0.5)
        i1 = np.floor(f).astype(np.int64)
        a = (f - i1).astype(np.float32)
        return np.maximum(i1, 0), np.minimum(i1 + 1, tiles - 1), a

    y1, y2, ya = axis(h, th)
    x1, x2, xa = axis(w, tw)
    v = src
    top = luts[y1[:, None], x1[None, :], v] * (1 - xa) + luts[y1[:, None], x2[None, :], v] * xa
    bottom = luts[y2[:, None], x1[None, :], v] * (1 - xa) + luts[y2[:, None], x2[None, :], v] * xa
    res = top * (1 - ya)[:, None] + bottom * ya[:, None]
    return np.clip(np.rint(res), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- regions


def label(mask: np.ndarray) -> tuple[int, np.ndarray]:
    """8-connected components of a 2-D mask: (count including background 0, int32 labels).

    Labels are numbered in raster order of each component's first pixel (as OpenCV's).
    Works on the runs of each row, so the cost follows the mask's outline, not its area.
    """
    m = np.asarray(mask) != 0
    h, w = m.shape
    labels = np.zeros((h, w), np.int32)
    p = np.zeros((h, w + 2), bool)
    p[:, 1:-1] = m
    # Row by row, each run's start is followed by its (exclusive) end in row-major order (found on a
    # boolean array: np.flatnonzero is 10x slower on integers).
    edges = np.flatnonzero(p[:, 1:] != p[:, :-1])
    row, x0 = np.divmod(edges[0::2], w + 1)
    x1 = edges[1::2] - row * (w + 1)
    n = len(row)
    if n == 0:
        return 1, labels
    span = w + 2
    start_key, end_key = row * span + x0, row * span + x1
    # Runs of row y + 1 touch runs of row y that end at or after their start and start at or before their end.
    below = row > 0
    b = np.flatnonzero(below)
    lo = np.searchsorted(end_key, (row[b] - 1) * span + x0[b], "left")
    hi = np.searchsorted(start_key, (row[b] - 1) * span + x1[b], "right")
    cnt = np.maximum(hi - lo, 0)
    ea = np.repeat(b, cnt)
    eb = np.repeat(lo, cnt) + (np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    parent = np.arange(n)
    if len(ea):
        while True:  # hook each edge's roots to the smaller, then flatten
            ra, rb = parent[ea], parent[eb]
            if np.array_equal(ra, rb):
                break
            low = np.minimum(ra, rb)
            np.minimum.at(parent, ra, low)
            np.minimum.at(parent, rb, low)
            while True:
                nxt = parent[parent]
                if np.array_equal(nxt, parent):
                    break
                parent = nxt
    roots, comp = np.unique(parent, return_inverse=True)  # roots are each component's first run
    ids = (comp + 1).astype(np.int32)
    flat = np.zeros(h * (w + 1), np.int32)
    flat[row * (w + 1) + x0] = ids  # runs are apart, so no start meets an end
    flat[row * (w + 1) + x1] = -ids
    labels[:] = np.cumsum(flat.reshape(h, w + 1), axis=1, dtype=np.int32)[:, :w]  # (int64 by default: 20x slower)
    return len(roots) + 1, labels


def component_stats(labels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(areas (n,), centroids (n, 2) as x, y) of `label`'s components (row 0: background)."""
    h, w = labels.shape
    flat = labels.ravel()
    areas = np.bincount(flat, minlength=n)
    yy, xx = np.divmod(np.arange(h * w), w)
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = np.bincount(flat, weights=xx, minlength=n) / areas
        cy = np.bincount(flat, weights=yy, minlength=n) / areas
    return areas, np.stack([cx, cy], 1)


def boundary(mask: np.ndarray) -> np.ndarray:
    """Pixels of `mask` with a 4-neighbour outside it (the frame counts as outside): its contour pixels."""
    m = np.asarray(mask) != 0
    p = _framed(m, 1, 1, 1, 1)
    inner = p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return m & ~inner


def _envelope(x: np.ndarray, y: np.ndarray, side: int) -> np.ndarray:
    """Indices of the convex envelope of the points (x[i], y[i]), y increasing: the leftmost (side 1)
    or rightmost (side -1) one. Points on or inside a chord of their neighbours go, all at once, until
    none does (such a point is never a vertex, so dropping several together is safe)."""
    keep = np.arange(len(x))
    while len(keep) > 2:
        a, b, c = keep[:-2], keep[1:-1], keep[2:]
        cross = (x[b] - x[a]) * (y[c] - y[a]) - (y[b] - y[a]) * (x[c] - x[a])
        drop = side * cross >= 0
        if not drop.any():
            break
        keep = np.concatenate([keep[:1], b[~drop], keep[-1:]])
    return keep


def mask_hull(mask: np.ndarray) -> np.ndarray:
    """Vertices (x, y) of the convex hull of a 2-D mask's pixels, without collinear points (as
    cv2.convexHull of its contour): the envelopes of each row's first and of each row's last pixel."""
    m = np.asarray(mask) != 0
    rows = np.flatnonzero(m.any(axis=1))
    if not len(rows):
        return np.zeros((0, 2), np.int64)
    left = np.argmax(m[rows], axis=1).astype(np.int64)
    right = (m.shape[1] - 1 - np.argmax(m[rows, ::-1], axis=1)).astype(np.int64)
    li, ri = _envelope(left, rows, 1), _envelope(right, rows, -1)[::-1]
    pts = np.concatenate([np.column_stack([left[li], rows[li]]), np.column_stack([right[ri], rows[ri]])])
    same = np.all(pts == np.roll(pts, 1, axis=0), axis=1)  # a one-pixel top or bottom row, listed twice
    return pts[~same] if len(pts) > 1 else pts


def line_pixels(p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(xs, ys) of the 8-connected lines p[i]-q[i] (integer (x, y) rows) as cv2.line draws them:
    Bresenham from the left end, a tie keeping the start's row (or column)."""
    p, q = np.atleast_2d(np.asarray(p, np.int64)), np.atleast_2d(np.asarray(q, np.int64))
    swap = q[:, 0] < p[:, 0]
    a, b = np.where(swap[:, None], q, p), np.where(swap[:, None], p, q)
    dx, dy = b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]
    ady, sy = np.abs(dy), np.where(dy < 0, -1, 1)
    major = dx >= ady  # x steps every pixel
    count = np.maximum(dx, ady) + 1
    e = np.repeat(np.arange(len(a)), count)
    k = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    dx, ady, sy, major = dx[e], ady[e], sy[e], major[e]
    minor_x = (2 * dx * k + ady - 1) // np.maximum(2 * ady, 1)
    minor_y = np.where(dx > 0, (2 * ady * k + dx - 1) // np.maximum(2 * dx, 1), 0)
    xs = a[e, 0] + np.where(major, k, minor_x)
    ys = a[e, 1] + sy * np.where(major, minor_y, k)
    return xs, ys


def fill_convex(hull: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """uint8 mask of the convex polygon `hull` (integer x, y vertices) as cv2.drawContours(..., FILLED)
    draws it: on each row the pixels between the edges, and the edges' lines."""
    h, w = shape
    out = np.zeros((h, w), np.uint8)
    if len(hull) == 0:
        return out
    pts = np.asarray(hull, np.int64)
    ys = np.arange(max(0, int(pts[:, 1].min())), min(h, int(pts[:, 1].max()) + 1))
    if len(ys):
        p, q = pts.astype(np.float64), np.roll(pts, -1, axis=0).astype(np.float64)
        y = ys[:, None].astype(np.float64)
        on = (y >= np.minimum(p[:, 1], q[:, 1])[None]) & (y <= np.maximum(p[:, 1], q[:, 1])[None])
        dy = (q[:, 1] - p[:, 1])[None]
        with np.errstate(invalid="ignore", divide="ignore"):
            xa = p[None, :, 0] + np.where(dy != 0, (y - p[None, :, 1]) / dy, 0.0) * (q[:, 0] - p[:, 0])[None]
        flat = dy == 0  # a horizontal edge covers both its ends
        x_min = np.where(on, np.where(flat, np.minimum(p[:, 0], q[:, 0])[None], xa), np.inf).min(1)
        x_max = np.where(on, np.where(flat, np.maximum(p[:, 0], q[:, 0])[None], xa), -np.inf).max(1)
        ok = np.isfinite(x_min)
        x0 = np.ceil(x_min[ok] - 1e-9).astype(np.int64)
        x1 = np.floor(x_max[ok] + 1e-9).astype(np.int64)
        cols = np.arange(w)
        out[ys[ok]] = (cols >= x0[:, None]) & (cols <= x1[:, None])
    xs, ys_ = line_pixels(pts, np.roll(pts, -1, axis=0))
    keep = (xs >= 0) & (xs < w) & (ys_ >= 0) & (ys_ < h)
    out[ys_[keep], xs[keep]] = 1
    return out


# ---------------------------------------------------------------- geometry


def rotation_matrix(center: tuple[float, float], angle: float) -> np.ndarray:
    """cv2.getRotationMatrix2D(center, angle, 1): counter-clockwise degrees, source -> destination."""
    a, b = np.cos(np.deg2rad(angle)), np.sin(np.deg2rad(angle))
    cx, cy = center
    return np.array([[a, b, (1 - a) * cx - b * cy], [-b, a, b * cx + (1 - a) * cy]])


def warp_affine(img: np.ndarray, m: np.ndarray, size: tuple[int, int], inverse: bool = False) -> np.ndarray:
    """cv2.warpAffine with INTER_LINEAR and a constant 0 border: `m` maps source to destination pixels
    (with `inverse`, destination to source). Axis-aligned maps resample separably."""
    m = np.asarray(m, np.float64)
    if not inverse:
        a = m[:, :2]
        ai = np.linalg.inv(a)
        m = np.hstack([ai, -ai @ m[:, 2:]])
    w_out, h_out = int(size[0]), int(size[1])
    h, w = img.shape[:2]
    src = img.astype(np.float32, copy=False)
    if m[0, 1] == 0 and m[1, 0] == 0:  # scale and shift: two 1-D passes

        def plan(n_out, scale, shift, n):
            x = np.arange(n_out) * scale + shift
            x0 = np.floor(x)
            t = x - x0
            x0 = x0.astype(np.int64)[:, None]
            return _banded(np.hstack([x0, x0 + 1]), np.stack([1 - t, t], 1), n)  # 0 outside the frame

        return _out_dtype(img, _separable(src, plan(h_out, m[1, 1], m[1, 2], h), h_out,
                                          plan(w_out, m[0, 0], m[0, 2], w), w_out))
    yy, xx = np.mgrid[:h_out, :w_out].astype(np.float64)
    sx = m[0, 0] * xx + m[0, 1] * yy + m[0, 2]
    sy = m[1, 0] * xx + m[1, 1] * yy + m[1, 2]
    x0, y0 = np.floor(sx), np.floor(sy)
    tx, ty = (sx - x0).astype(np.float32), (sy - y0).astype(np.float32)
    pad = np.pad(src, [(1, 1), (1, 1)] + [(0, 0)] * (src.ndim - 2))
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    xi, xj = np.clip(x0 + 1, 0, w + 1), np.clip(x0 + 2, 0, w + 1)  # +1: the zero frame
    yi, yj = np.clip(y0 + 1, 0, h + 1), np.clip(y0 + 2, 0, h + 1)
    if src.ndim == 3:
        tx, ty = tx[..., None], ty[..., None]
    out = ((pad[yi, xi] * (1 - tx) + pad[yi, xj] * tx) * (1 - ty)
           + (pad[yj, xi] * (1 - tx) + pad[yj, xj] * tx) * ty)
    return _out_dtype(img, out)


def match_template(image: np.ndarray, templ: np.ndarray) -> np.ndarray:
    """cv2.matchTemplate(image, templ, TM_CCOEFF_NORMED) for 2-D arrays (flat windows score 0)."""
    img = image.astype(np.float64)
    t = templ.astype(np.float64)
    th, tw = t.shape
    t = t - t.mean()
    tnorm = np.sqrt((t * t).sum())
    win = np.lib.stride_tricks.sliding_window_view(img, (th, tw))
    num = np.einsum("ijkl,kl->ij", win, t)
    c = np.pad(np.cumsum(np.cumsum(img, 0), 1), ((1, 0), (1, 0)))
    c2 = np.pad(np.cumsum(np.cumsum(img * img, 0), 1), ((1, 0), (1, 0)))

    def window_sum(s):
        return s[th:, tw:] - s[:-th, tw:] - s[th:, :-tw] + s[:-th, :-tw]

    n = th * tw
    s1 = window_sum(c)
    var = np.maximum(window_sum(c2) - s1 * s1 / n, 0)
    den = np.sqrt(var) * tnorm
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(np.abs(num) < den, num / den, np.where(np.abs(num) < den * 1.125, np.sign(num), 0.0))
    return r.astype(np.float32)


# ---------------------------------------------------------------- colour and files

# OpenCV's COLORMAP_CIVIDIS, as RGB (256 x 3).
_CIVIDIS_HEX = (
    "00224e00234f00245100255300255400265600275800285900285b00295d002a5f002a61002b62002c64002c66002d68"
    "002e6a002e6c002f6d00306f0030700031700031710132710533710833700c34700f357012357014367016377018376f"
    "1a386f1c396f1e3a6f203a6f213b6e233c6e243c6e263d6e273e6e293f6e2a3f6d2b406d2d416d2e416d2f426d31436d"
    "32436d33446d34456c35456c36466c38476c39486c3a486c3b496c3c4a6c3d4a6c3e4b6c3f4c6c404c6c414d6c424e6c"
    "434e6c444f6c45506c46516c47516c48526c49536c4a536c4b546c4c556c4d556c4e566c4f576c50576c51586d52596d"
    "535a6d545a6d555b6d555c6d565c6d575d6d585e6d595e6e5a5f6e5b606e5c616e5d616e5e626e5e636f5f636f60646f"
    "61656f62656f636670646770656870656870666970676a71686a71696b716a6c716b6d726c6d726c6e726d6f726e6f73"
    "6f70737071737172747272747273747374757474757575757676767777767777777878777979777a7a787b7a787c7b78"
    "7d7c787e7c787e7d787f7e78807f78817f788280798381798482798582798683798784788885788985788a86788b8778"
    "8c88788d88788e89788f8a78908b78918b78928c78928d78938e78948e77958f779690779791779892779992779a9376"
    "9b94769c95769d95769e96769f9775a09875a19975a29975a39a74a49b74a59c74a69c74a79d73a89e73a99f73aaa073"
    "aba072aca172ada272aea371afa471b0a571b1a570b3a670b4a76fb5a86fb6a96fb7a96eb8aa6eb9ab6dbaac6dbbad6d"
    "bcae6cbdae6cbeaf6bbfb06bc0b16ac1b26ac2b369c3b369c4b468c5b568c6b667c7b767c8b866c9b965cbb965ccba64"
    "cdbb63cebc63cfbd62d0be62d1bf61d2c060d3c05fd4c15fd5c25ed6c35dd7c45cd9c55cdac65bdbc75adcc859ddc858"
    "dec958dfca57e0cb56e1cc55e2cd54e4ce53e5cf52e6d051e7d150e8d24fe9d34eead34cebd44bedd54aeed649efd748"
    "f0d846f1d945f2da44f3db42f5dc41f6dd3ff7de3ef8df3cf9e03afbe138fce236fde334fee434fee535fee636fee838"
)
CIVIDIS = np.frombuffer(bytes.fromhex(_CIVIDIS_HEX), np.uint8).reshape(256, 3)


def encode_jpeg(rgb: np.ndarray, quality: int) -> bytes:
    """RGB (or grey) uint8 -> JPEG bytes (4:2:0, as OpenCV wrote them)."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, "JPEG", quality=int(quality), subsampling="4:2:0")
    return buf.getvalue()


def decode_jpeg(data: bytes, reduce: int = 1) -> np.ndarray | None:
    """JPEG bytes -> RGB uint8, decoded at 1/`reduce` (1, 2, 4, 8) by DCT scaling; None when unreadable."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            if reduce > 1:
                img.draft("RGB", (max(1, img.width // reduce), max(1, img.height // reduce)))
            return np.array(img.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def write_png(path: str | Path, img: np.ndarray) -> None:
    """uint8 RGB / grey or uint16 grey array -> PNG file."""
    Image.fromarray(np.ascontiguousarray(img)).save(str(path), "PNG")  # uint16 grey is Pillow's "I;16"
