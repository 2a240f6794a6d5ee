"""DICOM reading on real scans, compared with dcm2niix's output in the same test."""

import json

import nibabel as nib
import numpy as np
import pytest

import hounsfield
from hounsfield.io import discover, read_dicom_volume

from ..conftest import fixture_path
from .helpers import cli, dcm2niix


def test_jpeg2000_series_identical_to_dcm2niix(tmp_path):
    src = fixture_path("ct_dicom_j2k")
    ref_file = dcm2niix(src, tmp_path / "d2n")[0]
    ref = nib.load(ref_file)
    vol = read_dicom_volume(src)
    assert vol.array.dtype == np.int16
    assert vol.shape == (512, 512, 20)
    assert np.array_equal(vol.array, np.asarray(ref.dataobj))
    assert np.abs(vol.affine - ref.affine).max() < 0.05
    assert vol.meta.increment_mm == pytest.approx(2.0)  # from positions, though SliceThickness is 3 mm
    assert vol.meta.thickness_mm == pytest.approx(3.0)
    # and through the CLI: the written file holds the same voxels and a sidecar
    r = cli("convert", src, tmp_path / "ours")
    assert r.returncode == 0, r.stderr
    ours = sorted((tmp_path / "ours").glob("*.nii.gz"))
    assert len(ours) == 1
    img = nib.load(ours[0])
    assert img.get_data_dtype() == np.int16
    assert np.array_equal(np.asarray(img.dataobj), np.asarray(ref.dataobj))
    assert np.abs(img.affine - ref.affine).max() < 0.05
    side = json.loads(ours[0].with_name(ours[0].name.replace(".nii.gz", ".json")).read_text())["hounsfield"]
    assert side["modality"] == "CT" and side["increment_mm"] == pytest.approx(2.0)
    assert side["gated"] is False and side["gated_reason"]


def _sample_world(vol_a, ref_img, n=4000, seed=0):
    """Values of two images at the same random world points inside both (linear interpolation)."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    ref_arr = np.asarray(ref_img.dataobj).astype(np.float32)
    ijk_a = rng.uniform([0, 0, 0], np.array(vol_a.shape) - 1, size=(n * 4, 3))
    world = vol_a.world(ijk_a)
    inv = np.linalg.inv(ref_img.affine)
    ijk_b = world @ inv[:3, :3].T + inv[:3, 3]
    inside = np.all((ijk_b >= 0) & (ijk_b <= np.array(ref_arr.shape) - 1), axis=1)
    ijk_a, ijk_b = ijk_a[inside][:n], ijk_b[inside][:n]
    a = ndimage.map_coordinates(vol_a.array.astype(np.float32), ijk_a.T, order=1)
    b = ndimage.map_coordinates(ref_arr, ijk_b.T, order=1)
    return a, b


def test_gantry_tilt_corrected_and_recorded_like_dcm2niix(tmp_path):
    src = fixture_path("ct_head_tilt")
    files = dcm2niix(src, tmp_path / "d2n")
    eq = [f for f in files if "Tilt_Eq" in f.name]
    assert eq, f"dcm2niix wrote no _Tilt_Eq volume: {files}"
    ref = nib.load(eq[0])
    vol = read_dicom_volume(src)
    # an orthogonal grid (tilt removed) with the decision recorded
    rot = vol.affine[:3, :3] / np.array(vol.spacing)
    assert np.allclose(rot.T @ rot, np.eye(3), atol=1e-6)
    assert vol.meta.gantry_tilt_deg == pytest.approx(18.5)
    assert any("gantry tilt 18.5" in d and "resampled" in d for d in vol.meta.decisions)
    assert any("uneven slice spacing" in d for d in vol.meta.decisions)
    # same in-plane axes and matrix as dcm2niix's corrected volume
    assert vol.shape[:2] == ref.shape[:2]
    ref_rot = ref.affine[:3, :3] / np.linalg.norm(ref.affine[:3, :3], axis=0)
    assert np.allclose(np.abs(np.sum(rot * ref_rot, axis=0)), 1, atol=1e-3)  # parallel axes
    # first voxel within half a voxel of dcm2niix's, and the images agree in world space
    assert np.linalg.norm(vol.affine[:3, 3] - ref.affine[:3, 3]) < 0.5
    a, b = _sample_world(vol, ref)
    # measured: r = 0.9998, median |difference| 0.15 HU (both interpolate linearly between uneven slices)
    assert np.corrcoef(a, b)[0, 1] > 0.999
    assert np.median(np.abs(a - b)) < 2


def test_gantry_tilt_refused_when_asked(tmp_path):
    src = fixture_path("ct_head_tilt")
    with pytest.raises(hounsfield.InputError, match="gantry tilt"):
        read_dicom_volume(src, uneven="refuse")
    r = cli("convert", src, tmp_path / "out", "--uneven", "refuse")
    assert r.returncode == 2
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and "gantry tilt" in lines[0] and "Traceback" not in r.stderr


def test_discover_reads_headers_and_groups(fixtures_dir):
    series, skipped = discover(fixtures_dir / "ct_dicom_j2k")
    assert len(series) == 1 and not skipped
    assert series[0].n_files == 20
