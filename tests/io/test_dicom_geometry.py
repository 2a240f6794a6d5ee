"""Series geometry decisions on hand-made series: missing slices, duplicates, split acquisitions, tilt."""

import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid

from hounsfield import InputError, Volume
from hounsfield.examples import cylinder_ct
from hounsfield.io import discover, read, read_dicom, write_dicom_series
from hounsfield.volume import LPS_TO_RAS


def ramp_volume(nk=6, inc=2.0):
    """Each slice holds a constant equal to 10 x its z position: interpolation is checkable by hand."""
    lps = np.diag([1.0, -1.0, inc, 1.0])
    arr = np.zeros((8, 6, nk), np.int16)
    for k in range(nk):
        arr[:, :, k] = 10 * k * inc
    return Volume(arr, LPS_TO_RAS @ lps)


def test_missing_slice_is_resampled_and_recorded(tmp_path):
    files = write_dicom_series(ramp_volume(), tmp_path, prefix="IM")
    files[2].unlink()  # z = 4 mm missing
    vol = read(tmp_path)
    assert vol.shape[2] == 6 and vol.meta.increment_mm == pytest.approx(2.0)
    assert any("missing slices" in d and "resampled" in d for d in vol.meta.decisions)
    # linear interpolation between z = 2 (20) and z = 6 (60) gives 40 at z = 4
    assert vol.array[0, 0].tolist() == [0, 20, 40, 60, 80, 100]
    with pytest.raises(InputError, match="missing slices"):
        read(tmp_path, uneven="refuse")


def test_uneven_spacing_resampled_to_smallest_increment(tmp_path):
    files = write_dicom_series(ramp_volume(nk=4, inc=1.0), tmp_path, prefix="IM")
    # move the last slice from z = 3 to z = 5.5: steps 1, 1, 3.5
    ds = pydicom.dcmread(files[-1])
    pos = [float(x) for x in ds.ImagePositionPatient]
    ds.ImagePositionPatient = [pos[0], pos[1], 5.5]
    ds.save_as(files[-1])
    vol = read(tmp_path)
    assert vol.meta.increment_mm == pytest.approx(1.0)
    assert vol.shape[2] == 6  # z = 0 .. 5 at 1 mm; the slice at 5.5 is beyond the last grid point
    assert any("uneven slice spacing" in d for d in vol.meta.decisions)
    # between z = 2 (20) and z = 5.5 (30: the moved slice still holds 10 x 3) -> z = 4 is 20 + 10 * 2/3.5
    assert vol.array[0, 0, 4] == round(20 + 10 * 2 / 3.5)


def test_duplicate_positions_keep_one_and_say_so(tmp_path):
    files = write_dicom_series(ramp_volume(), tmp_path, prefix="IM")
    ds = pydicom.dcmread(files[1])
    ds.SOPInstanceUID = generate_uid()
    ds.InstanceNumber = 99
    ds.save_as(tmp_path / "copy.dcm")
    vol = read(tmp_path)
    assert vol.shape[2] == 6
    assert any("duplicate positions dropped" in d for d in vol.meta.decisions)


def test_two_acquisitions_at_the_same_positions_become_two_series(tmp_path):
    a = write_dicom_series(ramp_volume(), tmp_path / "a", prefix="A", series_uid="1.2.3.4")
    second = ramp_volume()
    b = write_dicom_series(second.with_array(second.array + 5), tmp_path / "b", prefix="B", series_uid="1.2.3.4")
    for files, acq in ((a, 1), (b, 2)):
        for f in files:
            ds = pydicom.dcmread(f)
            ds.AcquisitionNumber = acq
            ds.save_as(f)
    series, _ = discover(tmp_path)
    assert len(series) == 2 and all(len(s.slices) == 6 for s in series)
    assert all("split into 2 series by acquisition number" in s.notes[0] for s in series)
    vols = read_dicom(tmp_path)
    assert sorted(int(v.array[0, 0, 5]) for v in vols) == [100, 105]


def test_synthetic_tilt_is_undone(tmp_path):
    """Slices tilted by 20 degrees about x, stacked along z (as a gantry-tilted scanner writes them)."""
    t = np.deg2rad(20)
    r, c = np.array([1.0, 0, 0]), np.array([0, np.cos(t), -np.sin(t)])
    n = np.cross(r, c)
    files = write_dicom_series(cylinder_ct(shape=(32, 32, 10), spacing=(1.0, 1.0, 2.0)), tmp_path, prefix="IM")
    for k, f in enumerate(files):
        ds = pydicom.dcmread(f)
        ds.ImageOrientationPatient = [*r, *c]
        ds.ImagePositionPatient = [0.0, 0.0, 2.0 * k]  # origins along z, not along the normal
        ds.GantryDetectorTilt = 20
        ds.save_as(f)
    vol = read(tmp_path)
    assert vol.meta.gantry_tilt_deg == 20
    assert any("gantry tilt 20.0 deg" in d for d in vol.meta.decisions)
    # orthogonal grid, k along the slice normal at the plane spacing 2 cos(20)
    assert vol.spacing[2] == pytest.approx(2 * np.cos(t), abs=1e-6)
    kdir = vol.affine[:3, 2] / vol.spacing[2]
    assert np.allclose(np.abs(kdir), np.abs(n * [-1, -1, 1]), atol=1e-6)
    # the in-plane drift of the slice origins widened the matrix along the column direction
    assert vol.shape[0] == 32 and vol.shape[1] > 32
