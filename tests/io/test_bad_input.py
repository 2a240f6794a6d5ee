"""Bad input: one clear line on stderr, a non-zero exit, no traceback, nothing already written lost."""

import shutil

import nibabel as nib
import numpy as np
import pydicom
import pytest

from hounsfield import InputError, UnsupportedInputError
from hounsfield.examples import cylinder_ct
from hounsfield.io import read, read_nifti, require_ct, write_dicom_series

from .helpers import cli


def one_error_line(r):
    assert r.returncode != 0
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r.stderr
    return lines[0]


@pytest.fixture()
def series(tmp_path):
    folder = tmp_path / "series"
    write_dicom_series(cylinder_ct(shape=(32, 24, 6)), folder, prefix="IM")
    return folder


@pytest.fixture()
def outdir(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "earlier_result.nii.gz").write_bytes(b"precious")
    return out


def assert_nothing_lost(out):
    assert (out / "earlier_result.nii.gz").read_bytes() == b"precious"
    assert not list(out.rglob("*.part"))


def test_not_dicom(tmp_path, outdir):
    f = tmp_path / "notes.txt"
    f.write_text("hello")
    line = one_error_line(cli("convert", f, outdir))
    assert "no DICOM image series" in line and "not a DICOM file" in line
    assert_nothing_lost(outdir)


def test_empty_folder(tmp_path, outdir):
    (tmp_path / "empty").mkdir()
    line = one_error_line(cli("convert", tmp_path / "empty", outdir))
    assert "no DICOM image series" in line
    assert_nothing_lost(outdir)


def test_missing_input(tmp_path, outdir):
    line = one_error_line(cli("convert", tmp_path / "nope", outdir))
    assert "no such file or folder" in line


def test_truncated_pixel_data(series, outdir):
    f = sorted(series.glob("*.dcm"))[2]
    f.write_bytes(f.read_bytes()[:-500])
    r = cli("convert", series, outdir)
    line = one_error_line(r)
    assert r.returncode == 2 and "IM3.dcm" in line and "pixel data" in line
    assert_nothing_lost(outdir)


def test_one_slice_series(series, outdir):
    for f in sorted(series.glob("*.dcm"))[1:]:
        f.unlink()
    line = one_error_line(cli("convert", series, outdir))
    assert "one slice" in line
    assert_nothing_lost(outdir)
    r = cli("convert", series, outdir, "--allow-single-slice")
    assert r.returncode == 0 and len(list(outdir.glob("*.nii.gz"))) == 2


def test_mixed_modalities_in_one_series(series, outdir):
    f = sorted(series.glob("*.dcm"))[0]
    ds = pydicom.dcmread(f)
    ds.Modality = "MR"
    ds.save_as(f)
    line = one_error_line(cli("convert", series, outdir))
    assert "mixed modalities" in line
    assert_nothing_lost(outdir)


def test_one_bad_series_does_not_stop_the_others(series, tmp_path, outdir):
    root = tmp_path / "root"
    shutil.copytree(series, root / "good")
    write_dicom_series(cylinder_ct(shape=(16, 16, 4), seed=1), root / "bad", prefix="X")
    bad = sorted((root / "bad").glob("*.dcm"))[1]
    bad.write_bytes(bad.read_bytes()[:-100])
    r = cli("convert", root, outdir)
    assert r.returncode == 1  # something failed, something written
    assert "X2.dcm" in r.stderr and "Traceback" not in r.stderr
    written = [p for p in outdir.glob("*.nii.gz") if p.name != "earlier_result.nii.gz"]
    assert len(written) == 1 and nib.load(written[0]).shape == (32, 24, 6)
    assert_nothing_lost(outdir)


def test_nan_nifti(tmp_path, outdir):
    arr = np.zeros((4, 4, 4), np.float32)
    arr[1, 1, 1] = np.nan
    nib.save(nib.Nifti1Image(arr, np.eye(4)), tmp_path / "nan.nii.gz")
    line = one_error_line(cli("convert", tmp_path / "nan.nii.gz", outdir / "x.nii.gz"))
    assert "NaN" in line
    assert not (outdir / "x.nii.gz").exists()
    assert_nothing_lost(outdir)


def test_4d_nifti(tmp_path, outdir):
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4, 3), np.int16), np.eye(4)), tmp_path / "four.nii.gz")
    line = one_error_line(cli("convert", tmp_path / "four.nii.gz", outdir))
    assert "4-D" in line
    # a 4-D file with a single volume is just 3-D
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4, 1), np.int16), np.eye(4)), tmp_path / "one.nii.gz")
    assert read_nifti(tmp_path / "one.nii.gz").shape == (4, 4, 4)


def test_garbage_nifti(tmp_path):
    (tmp_path / "bad.nii.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(InputError, match="not a readable NIfTI"):
        read(tmp_path / "bad.nii.gz")


def test_non_ct_refused_by_ct_commands(tmp_path):
    mr = cylinder_ct(shape=(8, 8, 4)).with_meta(modality="MR")
    with pytest.raises(UnsupportedInputError, match="modality MR, but calcium scoring needs CT"):
        require_ct(mr, "calcium scoring")
    xray_like = cylinder_ct(shape=(8, 8, 4)).with_meta(modality=None)
    xray_like = xray_like.with_array((xray_like.array - xray_like.array.min()).astype(np.int16))
    with pytest.raises(UnsupportedInputError, match="do not look like CT"):
        require_ct(xray_like)
    assert require_ct(cylinder_ct(shape=(8, 8, 4)).with_meta(modality=None)).shape == (8, 8, 4)
