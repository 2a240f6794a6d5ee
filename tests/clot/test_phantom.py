import math

import numpy as np

from hounsfield.clot.phantom import VESSELS, HeadConfig, make_head
from tests.clot.conftest import SMALL


def test_deterministic_in_seed():
    a, b = make_head(5, SMALL), make_head(5, SMALL)
    assert np.array_equal(a.cta.array, b.cta.array)
    assert np.array_equal(a.ncct.array, b.ncct.array)
    assert np.array_equal(a.clot.array, b.clot.array)
    assert a.truth == b.truth
    c = make_head(6, SMALL)
    assert not np.array_equal(a.cta.array, c.cta.array)


def test_geometry_and_types(small_heads):
    h = small_heads[0]
    assert h.cta.array.dtype == np.int16 and h.ncct.array.dtype == np.int16 and h.clot.array.dtype == np.uint8
    assert h.cta.shape == h.ncct.shape == h.clot.shape == (150, 180, 38)
    assert h.cta.spacing == (1.0, 1.0, 2.0)
    assert h.cta.orientation == "RAS"
    assert h.cta.array.min() == -1000 or h.cta.array.min() < -900  # air around the head


def test_clot_mask_is_exact_and_truth_consistent(small_heads):
    for h in small_heads:
        t = h.truth
        assert t["occluded"]
        n = int(h.clot.array.sum())
        assert n > 0
        assert math.isclose(t["volume_mm3"], n * 2.0, rel_tol=1e-9)
        # the voxelised cylinder agrees with pi r^2 L to within partial-volume error
        assert 0.5 < t["volume_mm3"] / t["volume_analytic_mm3"] < 1.6
        assert 4.0 <= t["length_mm"] <= 25.0
        ks = np.nonzero(h.clot.array.any(axis=(0, 1)))[0]
        assert t["slices"] == [int(ks.min()), int(ks.max())]


def test_hounsfield_values(small_heads):
    for h in small_heads:
        t = h.truth
        m = h.clot.array > 0
        # clot hyperdense on NCCT (truth 50-80 HU), a filling defect on CTA (far below the lumen)
        assert 50 <= t["hu_ncct"] <= 80
        assert 250 <= t["hu"]["lumen_cta"] <= 450
        assert 35 <= t["hu"]["blood_ncct"] <= 45
        core = m & np.roll(m, 1, 0) & np.roll(m, -1, 0) & np.roll(m, 1, 1) & np.roll(m, -1, 1)
        sel = core if core.sum() >= 5 else m
        assert np.median(h.cta.array[sel]) < 160
        # the patent vessels are bright on CTA: the brightest soft-tissue voxels are lumen (250-450 HU)
        brain = (h.cta.array > 150) & (h.cta.array < 700)
        assert brain.sum() > 200
        assert np.percentile(h.cta.array[brain], 90) > 230


def test_vessel_diameters_plausible():
    d = {k: 2 * v[1] for k, v in VESSELS.items()}
    assert 4.0 <= d["ICA-R"] <= 5.0 and 2.8 <= d["BA"] <= 3.6 and 2.6 <= d["M1-L"] <= 3.4
    assert 1.8 <= d["A1-R"] <= 2.6 and 1.8 <= d["P1-L"] <= 2.6 and d["PCom-R"] < d["P1-R"]
    h = make_head(3, SMALL)
    for name, diam in h.truth["vessel_diameters_mm"].items():
        assert 0.7 * d[name] <= diam <= 1.3 * d[name]


def test_negatives_and_variation():
    cfg = HeadConfig(spacing=(1.0, 1.0, 2.0), negative_fraction=1.0)
    h = make_head(1, cfg)
    assert not h.truth["occluded"] and h.clot.array.sum() == 0 and h.truth["volume_mm3"] == 0.0
    cfg = HeadConfig(spacing=(2.0, 2.0, 3.0), negative_fraction=0.0, motion=False)
    truths = [make_head(s, cfg).truth for s in range(12)]
    assert len({t["location"] for t in truths}) >= 4
    assert max(t["length_mm"] for t in truths) - min(t["length_mm"] for t in truths) > 8
    assert all(0 < max(abs(x) for x in t["misregistration"]["translation_mm"]) <= 2.0 for t in truths)


def test_ncct_is_misregistered_but_close(small_heads):
    from hounsfield.clot.preprocess import check_registration

    for h in small_heads:
        assert check_registration(h.cta, h.ncct).ok
