"""core/imageops gives what the OpenCV calls it replaced gave (the dev install keeps OpenCV to check it)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from riqa_desktop.core import imageops
from riqa_desktop.core.loading import read_image
from riqa_desktop.resources import samples_dir


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return read_image(samples_dir() / "hrf_02_h.jpg").rgb


def close(a, b, tol=0.0):
    assert a.shape == b.shape and a.dtype == b.dtype
    assert np.abs(a.astype(np.float64) - b.astype(np.float64)).max() <= tol


@pytest.mark.parametrize("size", [(512, 341), (700, 467), (256, 171), (300, 300), (160, 160), (600, 400)])
def test_area_resize_is_opencvs(photo, size):
    close(imageops.resize(photo, size), cv2.resize(photo, size, interpolation=cv2.INTER_AREA))  # to the bit
    half = photo[: photo.shape[0] // 2 * 2, : photo.shape[1] // 2 * 2]
    h, w = half.shape[:2]
    for small in ((w // 2, h // 2), (w // 4, h // 4)):  # OpenCV's whole-number path
        close(imageops.resize(half, small), cv2.resize(half, small, interpolation=cv2.INTER_AREA))
    g = photo[..., 1].astype(np.float32)
    close(imageops.resize(g, size), cv2.resize(g, size, interpolation=cv2.INTER_AREA), 1e-3)


def test_resize_in_frame_is_the_black_frames_resize(photo):
    part = photo[40:340, 100:500]  # a view, as square_crop passes it
    h, w = part.shape[:2]
    for (fh, fw, top, left), size in [((600, 600, 150, 100), (256, 256)), ((450, 700, 0, 300), (160, 100)),
                                      ((600, 800, 0, 0), (400, 300)), ((300, 400, 0, 0), (160, 160)),
                                      ((700, 650, 400, 250), (256, 256)), ((400, 450, 50, 30), (500, 500))]:
        canvas = np.zeros((fh, fw, 3), np.uint8)
        canvas[top: top + h, left: left + w] = part
        want = (cv2.resize(canvas, size, interpolation=cv2.INTER_AREA) if size[0] <= fw
                else imageops.resize(canvas, size, "linear"))
        close(imageops.resize_in_frame(part, (fh, fw, top, left), size, "area" if size[0] <= fw else "linear"), want)


def test_linear_cubic_nearest_resize_are_opencvs(photo):
    small = cv2.resize(photo, (231, 154), interpolation=cv2.INTER_AREA)
    for size in ((256, 256), (512, 341), (160, 120)):
        close(imageops.resize(small, size, "linear"), cv2.resize(small, size, interpolation=cv2.INTER_LINEAR))
    g = small[..., 1].astype(np.float32)
    close(imageops.resize(g, (128, 100), "linear"), cv2.resize(g, (128, 100), interpolation=cv2.INTER_LINEAR), 1e-3)
    g8 = cv2.resize(g, (8, 8), interpolation=cv2.INTER_AREA)
    close(imageops.resize(g8, (300, 200), "cubic"), cv2.resize(g8, (300, 200), interpolation=cv2.INTER_CUBIC), 1e-3)
    close(imageops.resize(g, (75, 60), "nearest"), cv2.resize(g, (75, 60), interpolation=cv2.INTER_NEAREST))


def test_filters_are_opencvs(photo):
    small = cv2.resize(photo, (300, 211), interpolation=cv2.INTER_AREA)
    v = small.max(axis=2)
    g = small[..., 1].astype(np.float32)
    close(imageops.gaussian_blur(v, ksize=5), cv2.GaussianBlur(v, (5, 5), 0))
    close(imageops.gaussian_blur(small[..., 1], ksize=3), cv2.GaussianBlur(small[..., 1], (3, 3), 0))
    for sigma in (1.0, 4.0, 6.4):
        close(imageops.gaussian_blur(g, sigma), cv2.GaussianBlur(g, (0, 0), sigma), 1e-3)
    for k in (3, 4, 16):
        close(imageops.box_blur(g, k), cv2.blur(g, (k, k), borderType=cv2.BORDER_CONSTANT), 1e-3)
    close(imageops.laplacian(small[..., 1]), cv2.Laplacian(small[..., 1], cv2.CV_32F))
    for dx, dy in ((2, 0), (0, 2), (1, 1)):
        close(imageops.sobel(g, dx, dy), cv2.Sobel(g, cv2.CV_32F, dx, dy, ksize=3), 1e-3)
    close(imageops.pyr_down(small[:127, :128, 1]), cv2.pyrDown(small[:127, :128, 1]))
    close(imageops.clahe(small[..., 1]), cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(small[..., 1]))
    close(imageops.CIVIDIS[v], cv2.applyColorMap(v, cv2.COLORMAP_CIVIDIS)[..., ::-1])


def test_morphology_and_labels_are_opencvs(photo):
    small = cv2.resize(photo, (300, 211), interpolation=cv2.INTER_AREA)
    m = (small.max(axis=2) > 40).astype(np.uint8)
    for k in (3, 5, 9, 15):
        assert (imageops.ellipse_kernel(k) == cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)).astype(bool)).all()
    close(imageops.opening(m, 5), cv2.morphologyEx(m, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8)))
    ell = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15))
    close(imageops.closing(small[..., 1], ell.astype(bool)), cv2.morphologyEx(small[..., 1], cv2.MORPH_CLOSE, ell))
    g = small[..., 1].astype(np.float32)
    close(imageops.dilate(-g, 4), cv2.dilate(-g, np.ones((4, 4), np.uint8)))
    noise = (np.random.default_rng(0).random((120, 160)) > 0.55).astype(np.uint8)
    for mask in (m, noise):
        n_ref, ref = cv2.connectedComponentsWithStats(mask, connectivity=8)[:3:2]
        n, labels = imageops.label(mask)
        areas, cents = imageops.component_stats(labels, n)
        assert n == n_ref
        assert sorted(areas) == sorted(ref[:, cv2.CC_STAT_AREA])
        # the same partition: each of our components is exactly one of OpenCV's
        _, ref_labels = cv2.connectedComponents(mask, connectivity=8)
        pairs = np.unique(np.stack([labels.ravel(), ref_labels.ravel()]), axis=1)
        assert pairs.shape[1] == n


def test_hull_fill_and_contour_points_are_opencvs():
    rng = np.random.default_rng(1)
    for _ in range(20):
        comp = np.zeros((150, 200), np.uint8)
        cx, cy, r = rng.uniform(40, 160), rng.uniform(40, 110), rng.uniform(20, 70)
        yy, xx = np.ogrid[:150, :200]
        comp[(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] = 1
        comp[rng.integers(0, 150, 40), rng.integers(0, 200, 40)] = 0  # dents
        comp[: rng.integers(0, 30)] = 0  # a flat cut
        _, comp = cv2.connectedComponents(comp, connectivity=8)
        comp = (comp == 1).astype(np.uint8)
        contours, _ = cv2.findContours(comp, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        hull = cv2.convexHull(max(contours, key=cv2.contourArea))
        assert set(map(tuple, imageops.mask_hull(comp).tolist())) == set(map(tuple, hull[:, 0].tolist()))
        ref = np.zeros_like(comp)
        cv2.drawContours(ref, [hull], -1, 1, thickness=cv2.FILLED)
        filled = imageops.fill_convex(imageops.mask_hull(comp), comp.shape)
        close(filled, ref)
        pts = cv2.findContours(ref, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[0][0][:, 0]
        by, bx = np.nonzero(imageops.boundary(filled))
        assert set(zip(bx.tolist(), by.tolist())) == set(map(tuple, pts.tolist()))
    for _ in range(500):
        p, q = rng.integers(0, 40, 2), rng.integers(0, 40, 2)
        ref = np.zeros((40, 40), np.uint8)
        cv2.line(ref, tuple(map(int, p)), tuple(map(int, q)), 1)
        out = np.zeros_like(ref)
        xs, ys = imageops.line_pixels(p, q)
        out[ys, xs] = 1
        close(out, ref)


def test_warps_and_template_matching_are_opencvs(photo):
    small = cv2.resize(photo, (128, 128), interpolation=cv2.INTER_AREA)
    g = small[..., 1]
    for angle in (-7.5, 2.5, 5.0):
        m = cv2.getRotationMatrix2D((63.5, 63.5), angle, 1.0)
        assert np.allclose(imageops.rotation_matrix((63.5, 63.5), angle), m)
        close(imageops.warp_affine(g, m, (128, 128)), cv2.warpAffine(g, m, (128, 128)), 1)  # OpenCV: 1/32 px steps
    m = np.array([[1.7, 0, 13.3], [0, 1.7, -20.2]])
    f = small.astype(np.float32)
    close(imageops.warp_affine(f, m, (64, 64), inverse=True),
          cv2.warpAffine(f, m, (64, 64), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP), 0.5)
    grid = np.random.default_rng(2).random((16, 16)).astype(np.float32)
    m = np.array([[20.1, 0, 30.5], [0, 20.1, -12.3]])
    close(imageops.warp_affine(grid, m, (300, 280)), cv2.warpAffine(grid, m, (300, 280)), 1e-3)
    tpl = g[40:59, 50:69]
    win = g[27:72, 37:82]
    close(imageops.match_template(win, tpl), cv2.matchTemplate(win, tpl, cv2.TM_CCOEFF_NORMED), 1e-3)
    flat = np.full((45, 45), 7, np.uint8)
    close(imageops.match_template(flat, tpl), cv2.matchTemplate(flat, tpl, cv2.TM_CCOEFF_NORMED), 1e-3)


def test_jpeg_and_png_round_trip(tmp_path, photo):
    small = cv2.resize(photo, (200, 133), interpolation=cv2.INTER_AREA)
    data = imageops.encode_jpeg(small, 82)
    back = imageops.decode_jpeg(data)
    assert back.shape == small.shape and np.abs(back.astype(int) - small).mean() < 6  # JPEG at quality 82
    assert imageops.decode_jpeg(data, 2).shape == (67, 100, 3)
    assert imageops.decode_jpeg(b"not a jpeg") is None
    m16 = (np.arange(100 * 80, dtype=np.uint16).reshape(80, 100) * 7)
    imageops.write_png(tmp_path / "m.png", m16)
    assert (cv2.imread(str(tmp_path / "m.png"), cv2.IMREAD_UNCHANGED) == m16).all()
    imageops.write_png(tmp_path / "c.png", small)
    assert (cv2.imread(str(tmp_path / "c.png"))[..., ::-1] == small).all()
