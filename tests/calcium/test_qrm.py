"""Synthetic QRM calcification insert: geometry, rod calibration, mass recovery."""

from __future__ import annotations

import numpy as np
import pytest

from hounsfield.calcium import QRM_INSERTS, calibrate_from_rods, measure_qrm, render_qrm


def test_physical_masses_match_the_insert_specification():
    masses = [round(i.mass_mg, 1) for i in QRM_INSERTS]
    assert masses == [0.2, 4.2, 19.6, 0.3, 8.5, 39.3, 0.6, 17.0, 78.5]
    assert [round(i.volume_mm3, 1) for i in QRM_INSERTS[:3]] == [0.8, 21.2, 98.2]


def test_render_geometry_and_noise():
    ph = render_qrm(seed=3)
    ct = ph.ct
    assert ct.spacing == pytest.approx((0.49, 0.49, 3.0))
    assert ct.array.dtype == np.int16
    bg = ct.array[-20:, -20:, :]  # anterior-left corner, away from inserts and rods
    assert abs(bg.mean()) < 3 and 17 < bg.std() < 23  # water background, 20 HU noise
    # noise-free: the 5 mm 800 mg insert peaks near its full HU (1.39 x 800) only if it fills a slice
    clean = render_qrm(seed=3, noise_sd=0.0)
    assert clean.ct.array.max() <= 1.39 * 800 + 1


def test_calibration_from_rods():
    ph = render_qrm(seed=1)
    c, hu_rod, hu_water = calibrate_from_rods(ph.ct, ph.labels)
    assert hu_rod == pytest.approx(278.0, abs=4.0) and hu_water == pytest.approx(0.0, abs=3.0)
    assert c == pytest.approx(0.2 / 278.0, rel=0.02)


def test_mass_recovery_large_dense_inserts_and_undetectable_small_ones():
    rows = {r["insert"]: r for r in measure_qrm(render_qrm(seed=2))}
    assert rows["5mm_800"]["mass_mg"] == pytest.approx(78.5, rel=0.10)
    assert rows["3mm_800"]["mass_mg"] == pytest.approx(17.0, rel=0.25)
    assert rows["5mm_400"]["mass_mg"] == pytest.approx(39.3, rel=0.25)
    assert not rows["1mm_200"]["detected"] and rows["1mm_200"]["mass_mg"] == 0.0
    total = sum(r["mass_mg"] for r in rows.values())
    assert 0.80 * 168.2 < total < 1.02 * 168.2


def test_partial_volume_corrected_mass_within_published_phantom_accuracy():
    """Integral mass over the blurred spot: total within Dijkstra 2009's -1.8..+2.5 % band (plus noise)."""
    rows = {r["insert"]: r for r in measure_qrm(render_qrm(seed=2))}
    for name in ("3mm_200", "5mm_200", "3mm_400", "5mm_400", "3mm_800", "5mm_800"):
        assert rows[name]["mass_pv_mg"] == pytest.approx(rows[name]["true_mass_mg"], rel=0.12), name
        # the threshold mass is lower than the corrected one for every detected insert (blur below 130 HU)
        assert rows[name]["mass_mg"] < rows[name]["mass_pv_mg"], name
    total = sum(r["mass_pv_mg"] for r in rows.values())
    assert total == pytest.approx(168.2, rel=0.03)
