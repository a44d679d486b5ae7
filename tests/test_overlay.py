"""The map reads at a glance: smooth (no squares), inside the field, a contour at the decision level."""

from __future__ import annotations

import numpy as np

from riqa_desktop.core.assessment import QualityMap
from riqa_desktop.core.overlay import blend, contour_mask, contour_rgba, decision_level, smooth_grid
from riqa_desktop.core.preprocess import Geometry


def checker() -> np.ndarray:
    g = np.zeros((16, 16), np.float32)
    g[::2, ::2] = g[1::2, 1::2] = 1.0
    return g


def test_no_visible_squares():
    """Hard-edged 16x16 squares would jump by the full value between neighbouring pixels."""
    qm = QualityMap(grid=np.kron(np.eye(2, dtype=np.float32), np.ones((8, 8), np.float32)),
                    geometry=Geometry(0, 0, 512, 512, 512))
    full = qm.full_size()
    assert full.shape == (512, 512)
    yy, xx = np.mgrid[:512, :512]
    field = np.hypot(xx - 255.5, yy - 255.5) < 0.95 * 256  # the rim fades out with the photo's own edge
    step = max(np.abs(np.diff(full, axis=0))[field[1:]].max(), np.abs(np.diff(full, axis=1))[field[:, 1:]].max())
    assert step < 0.03, step
    assert full[200, 200] > 0.7 and full[200, 312] < 0.3  # the blocks are still where they were


def test_smooth_stays_inside_the_field_and_in_range():
    s = smooth_grid(checker())
    assert s.shape == (128, 128) and 0.0 <= s.min() and s.max() <= 1.0
    assert s[0, 0] == 0.0 and s[2, 125] == 0.0  # outside the inscribed circle
    assert smooth_grid(np.full((16, 16), np.nan, np.float32)).max() == 0.0  # bad input stays quiet


def test_contour_follows_the_level():
    yy, xx = np.mgrid[:200, :200]
    values = np.clip(1 - np.hypot(xx - 100, yy - 100) / 100, 0, 1).astype(np.float32)
    light, dark = contour_mask(values, 0.5)
    assert light.any() and (dark | light).sum() > light.sum()
    assert np.abs(values[light] - 0.5).max() < 0.05
    assert not contour_mask(values * 0.4, 0.5)[0].any()  # nothing over the level: no line


def test_blend_marks_the_area_by_shape_not_colour_alone():
    rgb = np.full((200, 200, 3), 120, np.uint8)
    yy, xx = np.mgrid[:200, :200]
    values = (np.hypot(xx - 60, yy - 60) < 40).astype(np.float32)
    out = blend(rgb, values, level=0.5)
    assert (out == 255).all(axis=2).any() and (out == 20).all(axis=2).any()  # light line on a dark one
    assert (out[190, 190] == rgb[190, 190]).all()  # fine areas untouched
    layer = contour_rgba(values, 0.5)
    assert layer.shape == (200, 200, 4) and layer[..., 3].any() and layer[190, 190, 3] == 0


def test_decision_level_is_the_calibrated_one():
    assert 0.0 < decision_level() < 1.0
