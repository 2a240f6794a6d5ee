"""DRR physics on hand-built volumes: exact line integrals, PA orientation, calcium visibility."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hounsfield.cxr.drr import DRRSettings, attenuation, drr, line_integrals
from hounsfield.cxr.preprocess import preprocess, preset
from hounsfield.cxr.torso import agatston_from_volume, simple_torso
from hounsfield.volume import LPS_TO_RAS, Volume, VolumeMeta

QUIET = DRRSettings(photons_per_mm2=None, scatter_fraction=0.0, detector_blur_mm=0.0)


def _box_volume() -> Volume:
    """Air volume 40 x 30 x 20 (RAS, 2 x 2 x 4 mm) with a water slab and a bone cube."""
    hu = np.full((40, 30, 20), -1000, np.int16)
    hu[5:35, 10:20, 2:18] = 0          # water, 10 voxels = 20 mm thick along A-P
    hu[28:32, 12:15, 14:17] = 1000     # bone at high i (patient's right) and high k (superior)
    aff = np.diag([2.0, 2.0, 4.0, 1.0])
    return Volume(hu, aff, VolumeMeta(modality="CT"))


def test_attenuation_bilinear():
    mu = attenuation(np.array([-1000, -500, 0, 500, 1000]), 0.02, 1.1)
    np.testing.assert_allclose(mu, [0.0, 0.01, 0.02, 0.02 * 1.55, 0.02 * 2.1], rtol=1e-6)


def test_line_integrals_exact_and_pa_orientation():
    vol = _box_volume()
    img, (srow, scol) = line_integrals(vol, QUIET)
    assert img.shape == (20, 40) and (srow, scol) == (4.0, 2.0)
    # water only: mu_w * 20 mm; rows are k reversed, columns i reversed
    assert img[20 - 1 - 5, 40 - 1 - 10] == pytest.approx(0.0206 * 20, rel=1e-6)
    # bone cube: 3 voxels of 1000 HU (6 mm) replace water inside the slab
    bone = 0.0206 * (14 + 6 * (1 + 1.1 * 1.0))
    assert img[20 - 1 - 15, 40 - 1 - 30] == pytest.approx(bone, rel=1e-6)
    # PA display: patient's right (high i) on the viewer's LEFT, superior (high k) at the TOP
    r, c = np.unravel_index(np.argmax(img), img.shape)
    assert r < 10 and c < 20


def test_orientation_independent_of_storage():
    """The same patient stored LPS with reversed slices gives the same DRR."""
    vol = _box_volume()
    flipped = vol.array[::-1, ::-1, ::-1]
    n = np.array(vol.shape) - 1
    aff = vol.affine @ np.array([[-1, 0, 0, n[0]], [0, -1, 0, n[1]], [0, 0, -1, n[2]], [0, 0, 0, 1.0]])
    other = Volume(np.ascontiguousarray(flipped), aff)
    a = drr(vol, QUIET).pixels
    b = drr(other, QUIET).pixels
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert LPS_TO_RAS.shape == (4, 4)


def test_torso_drr_looks_like_a_chest():
    vol, truth = simple_torso(np.random.default_rng(4), n_plaques=0)
    assert truth["agatston"] == 0.0
    rad = drr(vol, DRRSettings(), rng=0)
    assert rad.spacing_mm == (0.5, 0.5) and rad.shape[0] == rad.shape[1]
    img = rad.pixels
    h, w = img.shape
    # lungs (left and right of the midline, mid height) darker than the mediastinum/spine column
    lungs = np.r_[img[h // 2 - 20:h // 2 + 20, w // 2 - 140:w // 2 - 100].ravel(),
                  img[h // 2 - 20:h // 2 + 20, w // 2 + 100:w // 2 + 140].ravel()]
    spine = img[h // 2 - 20:h // 2 + 20, w // 2 - 8:w // 2 + 8]
    assert float(lungs.mean()) + 0.15 < float(spine.mean())
    # air outside the body is black
    assert float(img[:5, :5].mean()) < 0.05
    # deterministic for a seed
    np.testing.assert_array_equal(img, drr(vol, DRRSettings(), rng=0).pixels)


def _plaque_signal(settings: DRRSettings, size: int | None = None) -> tuple[float, float]:
    """(mean plaque contrast in its footprint, noise sd there) for a torso with one dense plaque."""
    with_ca, truth = simple_torso(np.random.default_rng(7), n_plaques=1, noise_hu=0)
    without, _ = simple_torso(np.random.default_rng(7), n_plaques=0, noise_hu=0)
    assert truth["plaques"][0]["peak_hu"] > 600 and truth["plaques"][0]["radius_mm"] > 3
    quiet = dataclasses.replace(settings, photons_per_mm2=None)
    a, b = drr(with_ca, quiet).pixels, drr(without, quiet).pixels
    noisy = drr(without, settings, rng=1).pixels
    if size:
        p = preset(size, equalize=False)
        a, b, noisy = preprocess(a, p), preprocess(b, p), preprocess(noisy, p)
    diff = a - b
    spot = diff > 0.5 * diff.max()
    return float(diff[spot].mean()), float((noisy - b)[spot].std())


def test_dense_calcium_is_faintly_visible():
    contrast, noise = _plaque_signal(DRRSettings())
    assert contrast > 1.0 * noise  # CNR > 1 per pixel at full resolution
    c224, n224 = _plaque_signal(DRRSettings(), size=224)
    assert c224 > 1.0 * n224      # and still above the noise at 224 px
    # more scatter, less plaque contrast
    c_scatter, _ = _plaque_signal(dataclasses.replace(DRRSettings(), scatter_fraction=1.0))
    assert c_scatter < contrast


def test_agatston_of_torso_plaques_by_hand():
    hu = np.zeros((6, 6, 2))
    hu[1:3, 1:3, 0] = 250   # 4 px, weight 2
    hu[4, 4, 0] = 150       # 1 px, weight 1 (separate lesion)
    hu[1:4, 1:4, 1] = 500   # 9 px, weight 4
    score = agatston_from_volume(hu, hu > 0, (0.5, 0.5, 3.0))
    assert score == pytest.approx(0.25 * (4 * 2 + 1 * 1 + 9 * 4))
