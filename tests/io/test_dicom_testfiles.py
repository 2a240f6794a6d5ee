"""pydicom's bundled test files: single slices and odd transfer syntaxes.

Only files shipped inside the pydicom wheel are used (no download is attempted).
"""

from pathlib import Path

import numpy as np
import pydicom
import pytest

from hounsfield import InputError
from hounsfield.io import discover, read_dicom, read_dicom_volume

DATA = Path(pydicom.data.__file__).parent / "test_files"


def bundled(name: str) -> Path:
    p = DATA / name
    if not p.exists():
        pytest.skip(f"{name} not bundled with this pydicom")
    return p


def test_ct_small_single_slice_values_and_geometry():
    p = bundled("CT_small.dcm")
    with pytest.raises(InputError, match="one slice"):
        read_dicom_volume(p)
    vol = read_dicom_volume(p, allow_single_slice=True)
    ds = pydicom.dcmread(p)
    hu = ds.pixel_array.astype(np.int32) * int(ds.RescaleSlope) + int(ds.RescaleIntercept)
    assert vol.shape == (128, 128, 1) and vol.array.dtype == np.int16
    # array[i, j, 0] = row (nrows - 1 - j), column i
    assert np.array_equal(vol.array[:, ::-1, 0].T, hu)
    ipp = np.array(ds.ImagePositionPatient, float)
    # the first transmitted pixel (row 0, column 0) sits at voxel (0, nrows - 1, 0) and at IPP (LPS)
    assert np.allclose(vol.world([0, 127, 0]), ipp * [-1, -1, 1], atol=1e-4)
    assert vol.meta.modality == "CT" and vol.meta.increment_mm is None
    assert any("SliceThickness" in d for d in vol.meta.decisions)


@pytest.mark.parametrize("name", [
    "MR_small_bigendian.dcm", "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm",
    "MR_small_jpeg_ls_lossless.dcm", "MR_small_implicit.dcm",
])
def test_transfer_syntaxes_decode_to_the_same_pixels(name):
    ref = read_dicom_volume(bundled("MR_small.dcm"), allow_single_slice=True)
    vol = read_dicom_volume(bundled(name), allow_single_slice=True)
    assert np.array_equal(vol.array, ref.array)
    assert np.allclose(vol.affine, ref.affine)


def test_deflated_secondary_capture_is_parsed_then_dropped():
    # the deflated transfer syntax is inflated to read the header; secondary captures are not volumes
    series, skipped = discover(bundled("image_dfl.dcm"))
    assert series == [] and [s.reason for s in skipped] == ["secondary capture"]


def test_truncated_pixel_data_is_one_clear_error():
    with pytest.raises(InputError, match="pixel data"):
        read_dicom_volume(bundled("MR_truncated.dcm"), allow_single_slice=True)


def test_objects_without_pixels_and_non_dicom_are_skipped(tmp_path):
    (tmp_path / "notes.txt").write_text("not dicom")
    (tmp_path / "plan.dcm").write_bytes(bundled("rtplan.dcm").read_bytes())
    series, skipped = discover(tmp_path)
    assert series == []
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert reasons == {"notes.txt": "not a DICOM file", "plan.dcm": "no pixel data"}
    with pytest.raises(InputError, match="no DICOM image series"):
        read_dicom(tmp_path)
