import numpy as np
import pytest

from hounsfield.levels.mip import AIR_HU, MipGrid, body_mask, bone_window, compute_mips, regrid
from hounsfield.volume import LPS_TO_RAS, Volume

from .helpers import torso


def test_bone_window_values():
    assert bone_window(np.array([-1000.0, 100.0, 800.0, 1500.0, 3000.0])).tolist() == [0.0, 0.0, 0.5, 1.0, 1.0]


def test_body_mask_drops_table_keeps_spine():
    v = torso()
    m = body_mask(v)
    assert not m[:, 1:3, :].any()          # the table is gone
    assert m[30, 14, 20]                    # the spine is inside the body
    assert m.sum() > 0.5 * (v.array > 0).sum()


def test_mip_rows_z_and_table_removed():
    v = torso()
    p = compute_mips(v, "t", MipGrid(z_mm=2.5, lateral_mm=4.0, width=64))
    # z of slice k is -100 + 5k; top row is the top slice centre
    assert p.z_top_mm == pytest.approx(-100 + 5 * 39)
    assert p.rows == int((5 * 39) / 2.5) + 1
    assert p.valid.all()
    # the brightest rows are those of the vertebra (slices 22..24, z 10..20 mm)
    col = p.frontal.max(axis=1)
    hot = np.flatnonzero(col > 600)
    assert p.row_to_z(hot).min() >= 10 - 2.5 - 1e-6 and p.row_to_z(hot).max() <= 20 + 2.5 + 1e-6
    # the 200 HU table would show in the sagittal MIP at its own columns; masked it does not
    unmasked = compute_mips(v, "t", MipGrid(z_mm=2.5, lateral_mm=4.0, width=64), mask_body=False)
    assert (unmasked.sagittal == 200).any() or (np.abs(unmasked.sagittal - 200) < 1).any()
    assert not (np.abs(p.sagittal - 200) < 1).any()
    # k mapping back to the input
    assert p.z_to_k(15.0) == 23 and p.z_to_k(-100.0) == 0 and p.z_to_k(500.0) is None


def _reoriented_variants(v: Volume):
    yield "ras", v
    yield "lps", v.reorient("LPS")
    yield "las", v.reorient("LAS")
    # k flipped (slices stored top to bottom)
    a = v.array[:, :, ::-1]
    aff = v.affine.copy()
    aff[:3, 2] *= -1
    aff[:3, 3] = v.affine[:3, :3] @ [0, 0, v.shape[2] - 1] + v.affine[:3, 3]
    yield "kflip", Volume(np.ascontiguousarray(a), aff)
    # axes permuted: slices along the first axis (a sagittal-stack file)
    yield "perm", Volume(np.ascontiguousarray(v.array.transpose(2, 0, 1)), v.affine[:, [2, 0, 1, 3]])


def test_mips_independent_of_orientation():
    v = torso()
    ref = compute_mips(v, "t")
    for name, w in _reoriented_variants(v):
        p = compute_mips(w, name)
        np.testing.assert_allclose(p.frontal, ref.frontal, atol=1e-3, err_msg=name)
        np.testing.assert_allclose(p.sagittal, ref.sagittal, atol=1e-3, err_msg=name)
        assert p.z_top_mm == pytest.approx(ref.z_top_mm)
        z = 15.0
        k = p.z_to_k(z)
        if name == "perm":
            assert k is None  # the file's slice axis is left-right: no axial slice index
        else:
            assert abs(w.slice_z_mm(k) - z) <= 2.5


def test_regrid_changes_spacing_keeps_top():
    v = torso()
    p = compute_mips(v, "t", MipGrid(z_mm=1.0, lateral_mm=2.0, width=128))
    q = regrid(p, MipGrid())
    assert q.z_mm == 2.0 and q.frontal.shape[1] == 96
    assert q.rows == int((p.rows - 1) / 2) + 1
    assert np.isfinite(q.frontal).all() and q.frontal.min() >= AIR_HU


def test_real_scan_mips_agree_across_orientations_and_spacing(fixtures_dir):
    from hounsfield.io import read

    v = read(fixtures_dir / "ct_abdomen" / "ct.nii.gz")
    ref = compute_mips(v, "ras")
    assert ref.valid.sum() == ref.rows
    assert ref.z_top_mm == pytest.approx(94.3 + 3 * 111, abs=0.01)
    lps = compute_mips(v.reorient("LPS"), "lps")
    np.testing.assert_allclose(lps.frontal, ref.frontal, atol=1e-3)
    # 1.5 mm slices: same z extent, same bone rows (within the resampling)
    aff = v.affine.copy()
    aff[:3, 2] /= 2
    fine = v.resample_to((v.shape[0], v.shape[1], 2 * v.shape[2] - 1), aff, order=1)
    pf = compute_mips(fine, "fine")
    assert pf.z_top_mm == pytest.approx(ref.z_top_mm, abs=0.01)
    a, b = bone_window(pf.frontal), bone_window(ref.frontal)
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.95
