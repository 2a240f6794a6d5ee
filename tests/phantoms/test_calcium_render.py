"""Plaques rendered onto coarse grids: conservation, partial volume, motion blur."""

from __future__ import annotations

import numpy as np

from hounsfield.calcium.scoring import score_volume
from hounsfield.phantoms.calcium import MASS_CALIBRATION, Plaque, render_plaques
from hounsfield.volume import Volume


def plaque(r=(1.5, 1.0, 1.2), density=600.0, motion=(0.0, 0.0, 0.0)):
    return Plaque("LAD", np.array([0.3, -0.2, 0.7]), np.eye(3), np.array(r), density, np.array(motion))


def grid(px=0.5, dz=3.0, n=40, nk=8):
    x = (np.arange(n) - n / 2) * px
    z = (np.arange(nk) - nk / 2) * dz
    return x, x.copy(), z


def test_hu_integral_is_conserved():
    """Sum of the contribution x voxel volume = physical volume x (plaque HU - wall HU)."""
    p = plaque()
    for px, dz, th in ((0.5, 3.0, 3.0), (0.7, 1.0, 1.0), (0.39, 1.5, 1.5)):
        x, y, z = grid(px, dz)
        (sl, c), = render_plaques([p], x, y, z, thickness=th, psf_sigma=0.45, motion=False)
        total = c.sum() * px * px * dz
        assert abs(total - p.volume_mm3 * (p.hu - 40.0)) / (p.volume_mm3 * p.hu) < 0.02


def test_small_plaque_peak_falls_with_slice_thickness():
    p = plaque(r=(0.6, 0.5, 0.5))
    peaks = []
    for th in (1.0, 3.0):
        x, y, z = grid(0.5, th)
        (_, c), = render_plaques([p], x, y, z, thickness=th, psf_sigma=0.45, motion=False)
        peaks.append(c.max())
    assert peaks[0] > 1.8 * peaks[1]
    assert peaks[0] < p.hu - 40  # partial volume: never above the true HU


def test_motion_blur_lowers_peak_and_keeps_integral():
    x, y, z = grid(0.5, 1.0, nk=16)
    (_, still), = render_plaques([plaque(motion=(4.0, 0, 0))], x, y, z, thickness=1.0, psf_sigma=0.45, motion=False)
    (_, moved), = render_plaques([plaque(motion=(4.0, 0, 0))], x, y, z, thickness=1.0, psf_sigma=0.45, motion=True)
    assert moved.max() < 0.8 * still.max()
    assert abs(moved.sum() - still.sum()) / still.sum() < 0.02


def test_large_dense_plaque_scores_close_to_its_volume():
    """A 6 mm dense sphere on 0.5 mm x 3 mm: partial volume makes the volume score overestimate
    (as on real scanners: the 5 mm / 800 mg QRM insert reads ~1.5x its volume), never underestimate."""
    p = plaque(r=(3.0, 3.0, 3.0), density=900.0)
    x, y, z = grid(0.5, 3.0, n=48, nk=8)
    (sl, c), = render_plaques([p], x, y, z, thickness=3.0, psf_sigma=0.45, motion=False)
    arr = np.full((48, 48, 8), 40.0, np.float32)
    arr[sl] += c
    aff = np.diag([0.5, 0.5, 3.0, 1.0])
    aff[:3, 3] = [x[0], y[0], z[0]]
    sc = score_volume(Volume(np.rint(arr).astype(np.int16), aff))
    assert 1.0 < sc.volume_mm3 / p.volume_mm3 < 2.5
    # every counted component of a dense plaque has weight 4 and area x 3 mm = its volume share
    assert 1.1 < sc.agatston / sc.volume_mm3 <= 4 / 3 + 1e-9
    assert abs(MASS_CALIBRATION * p.hu * 1000 - p.density) < 1e-9


def test_plaques_outside_the_grid_keep_the_order():
    """One entry per plaque, None for those off the grid (labels must never shift to a neighbour)."""
    x, y, z = grid(0.5, 3.0)
    far = Plaque("aorta", np.array([0.0, 0.0, 500.0]), np.eye(3), np.array([2.0, 1.0, 2.0]), 600.0)
    out = render_plaques([far, plaque()], x, y, z, thickness=3.0, psf_sigma=0.45, motion=False)
    assert len(out) == 2 and out[0] is None and out[1] is not None
