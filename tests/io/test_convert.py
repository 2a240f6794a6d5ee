"""``hounsfield convert`` layouts, on DICOM files written by the project's own writer."""

import json

import nibabel as nib
import numpy as np
import pytest

from hounsfield.examples import cylinder_ct
from hounsfield.io import read, write_dicom_series

from .helpers import cli


def gated_volume(seed=0):
    return cylinder_ct(shape=(40, 40, 8), spacing=(0.5, 0.5, 3.0), seed=seed)


def nongated_volume(seed=0):
    return cylinder_ct(shape=(48, 40, 20), spacing=(0.8, 0.8, 1.0), seed=seed + 100)


def test_gated_pairs_layout_by_file_prefix(tmp_path):
    root = tmp_path / "DICOM_Data"
    for pid, seed in (("patient_id01", 0), ("patient_id02", 1)):
        write_dicom_series(gated_volume(seed), root / pid, prefix="G")
        write_dicom_series(nongated_volume(seed), root / pid, prefix="SG")
    out = tmp_path / "NIFTI"
    r = cli("convert", root, out, "--layout", "gated-pairs")
    assert r.returncode == 0, r.stderr
    for pid, seed in (("patient_id01", 0), ("patient_id02", 1)):
        g = read(out / pid / f"{pid}_gated.nii.gz")
        ng = read(out / pid / f"{pid}_non_gated.nii.gz")
        assert np.array_equal(g.array, gated_volume(seed).array)
        assert np.array_equal(ng.array, nongated_volume(seed).array)
        assert g.meta.increment_mm == pytest.approx(3.0) and ng.meta.increment_mm == pytest.approx(1.0)
        side = json.loads((out / pid / f"{pid}_gated.json").read_text())
        assert side["hounsfield"]["modality"] == "CT"


def test_gated_pairs_layout_by_gating_metadata(tmp_path):
    root = tmp_path / "root"
    write_dicom_series(gated_volume(), root / "p1", prefix="a", series_description="CaSc 3.0 Qr36",
                       extra={"CardiacSynchronizationTechnique": "PROSPECTIVE"})
    write_dicom_series(nongated_volume(), root / "p1", prefix="b", series_description="Thorax 1.0 Br40")
    r = cli("convert", root, tmp_path / "out", "--layout", "gated-pairs")
    assert r.returncode == 0, r.stderr
    g = nib.load(tmp_path / "out" / "p1" / "p1_gated.nii.gz")
    ng = nib.load(tmp_path / "out" / "p1" / "p1_non_gated.nii.gz")
    assert g.shape == (40, 40, 8) and ng.shape == (48, 40, 20)


def test_gated_pairs_missing_half_is_reported(tmp_path):
    root = tmp_path / "root"
    write_dicom_series(gated_volume(), root / "p1", prefix="G")
    r = cli("convert", root, tmp_path / "out", "--layout", "gated-pairs")
    assert r.returncode == 1
    assert "no non-gated series" in r.stderr
    assert (tmp_path / "out" / "p1" / "p1_gated.nii.gz").exists()


def test_series_layout_writes_every_series(tmp_path):
    root = tmp_path / "root"
    write_dicom_series(gated_volume(), root / "x", prefix="a", series_description="first", series_number=2)
    write_dicom_series(nongated_volume(), root / "x" / "deeper", prefix="b", series_description="second",
                       series_number=3)
    (root / "DICOMDIR").write_bytes(b"ignored")
    r = cli("convert", root, tmp_path / "out")
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in (tmp_path / "out").glob("*.nii.gz"))
    assert names == ["EXAMPLE_2_first.nii.gz", "EXAMPLE_3_second.nii.gz"]


def test_info_reports_gating_and_geometry(tmp_path):
    write_dicom_series(gated_volume(), tmp_path / "g", prefix="G", extra={"TriggerTime": "350"})
    r = cli("info", tmp_path / "g", "--json")
    assert r.returncode == 0, r.stderr
    (d,) = json.loads(r.stdout)
    assert d["shape"] == [40, 40, 8] and d["orientation"] == "LAS"
    assert d["gated"] is True and "TriggerTime" in d["gated_reason"]
