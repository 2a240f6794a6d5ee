import numpy as np
import pytest

from hounsfield.levels.bodycomp import (BODYCOMP_COLUMNS, Compartments, body_composition, compartments,
                                        composition_from_masks, write_bodycomp_csv)
from hounsfield.volume import Volume


def _slice():
    """Concentric hand-built abdomen on a 0.5 mm grid: skin, SAT, muscle ring with IMAT specks,
    visceral fat ring, organs and a vertebra. Returns (hu, true masks)."""
    n = 260
    yy, xx = np.mgrid[:n, :n]
    r = np.hypot(xx - 129.5, yy - 129.5)
    hu = np.full((n, n), -1000.0)
    body = r < 120
    hu[body] = 30.0                                     # skin (lean HU, within the 3 mm band)
    sat = (r >= 100) & (r < 116)                        # skin r 116..120 = 2 mm
    hu[sat] = -100.0
    muscle = (r >= 80) & (r < 100)
    hu[muscle] = 50.0
    imat = np.zeros_like(muscle)
    for ang in np.linspace(0, 2 * np.pi, 8, endpoint=False):
        cy, cx = 129.5 + 90 * np.sin(ang), 129.5 + 90 * np.cos(ang)
        imat |= (np.abs(yy - cy) <= 1.5) & (np.abs(xx - cx) <= 1.5)
    hu[imat] = -80.0
    vat = (r >= 60) & (r < 80)
    hu[vat] = -120.0
    organ = r < 60
    hu[organ] = 40.0
    bone = np.hypot(xx - 129.5, yy - 100) < 12
    hu[bone] = 400.0
    return hu, dict(sat=sat, muscle=muscle & ~imat, imat=imat, vat=vat)


def test_rule_recovers_hand_built_compartments_exactly():
    hu, t = _slice()
    c = compartments(hu, pixel_mm=0.5)
    np.testing.assert_array_equal(c.sat, t["sat"])
    np.testing.assert_array_equal(c.muscle & (hu >= -29) & (hu <= 150), t["muscle"])
    np.testing.assert_array_equal(c.imat, t["imat"])
    np.testing.assert_array_equal(c.vat, t["vat"])
    bc = composition_from_masks(hu, 0.25, c, height_m=1.6)
    a = 0.25 / 100
    assert bc.muscle_area_cm2 == pytest.approx(t["muscle"].sum() * a)
    assert bc.sat_area_cm2 == pytest.approx(t["sat"].sum() * a)
    assert bc.vat_area_cm2 == pytest.approx(t["vat"].sum() * a)
    assert bc.imat_area_cm2 == pytest.approx(t["imat"].sum() * a) and t["imat"].sum() >= 8 * 9
    assert bc.muscle_hu == pytest.approx(50.0) and bc.sat_hu == pytest.approx(-100.0)
    assert bc.vat_hu == pytest.approx(-120.0) and bc.imat_hu == pytest.approx(-80.0)
    assert bc.smi_cm2_m2 == pytest.approx(bc.muscle_area_cm2 / 1.6 ** 2)


def test_hu_ranges_apply_inside_masks():
    hu = np.array([[-191.0, -190.0, -30.0, -29.0], [150.0, 151.0, 0.0, -100.0]])
    m = np.ones_like(hu, bool)
    comp = Compartments(muscle=m, sat=m, vat=np.zeros_like(m), imat=np.zeros_like(m), body=m)
    bc = composition_from_masks(hu, 100.0, comp)     # 1 cm^2 pixels
    assert bc.muscle_area_cm2 == 3.0                 # -29, 150, 0
    assert bc.muscle_hu == pytest.approx((-29 + 150 + 0) / 3)
    assert bc.sat_area_cm2 == 3.0                    # -190, -30, -100
    assert bc.vat_area_cm2 == 0.0 and bc.vat_hu is None and bc.smi_cm2_m2 is None


def test_volume_slice_and_csv(tmp_path):
    hu, t = _slice()
    arr = np.stack([np.full_like(hu, -1000), hu, np.full_like(hu, -1000)], axis=2).astype(np.int16)
    v = Volume(arr, np.diag([0.5, 0.5, 3.0, 1.0]))
    bc, comp, _ = body_composition(v, 1, height_m=1.8)
    assert bc.index == 1 and bc.z_mm == pytest.approx(3.0)
    assert bc.vat_area_cm2 == pytest.approx(t["vat"].sum() * 0.0025)
    p = write_bodycomp_csv([bc.row("x")], tmp_path / "bc.csv")
    header = p.read_text().splitlines()[0].split(",")
    assert header == BODYCOMP_COLUMNS


def test_real_slice_same_areas_in_any_orientation(fixtures_dir):
    from hounsfield.io import read

    v = read(fixtures_dir / "ct_abdomen" / "ct.nii.gz")
    ref, comp, _ = body_composition(v, 73)
    for codes in ("LPS", "LAS"):
        got, _, _ = body_composition(v.reorient(codes), 73)
        assert got.muscle_area_cm2 == pytest.approx(ref.muscle_area_cm2, rel=0.02)
        assert got.sat_area_cm2 == pytest.approx(ref.sat_area_cm2, rel=0.02)
        assert got.vat_area_cm2 == pytest.approx(ref.vat_area_cm2, rel=0.02)
    # compartments do not overlap
    assert not (comp.muscle & comp.sat).any() and not (comp.sat & comp.vat).any() and not (comp.vat & comp.imat).any()
