"""Every output layout re-read by hounsfield's readers and by nibabel / pydicom."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pydicom
import pytest

from hounsfield.imaging import load_mip_npz
from hounsfield.io import read
from hounsfield.phantoms.writers import mip_record, write_mip_archive, write_patient


@pytest.fixture(scope="module")
def written(cac_patient, tmp_path_factory):
    out = tmp_path_factory.mktemp("pat") / cac_patient.patient_id
    write_patient(cac_patient, out, ("nifti", "dicom", "calcium-study", "verse"))
    return out


def test_nifti_round_trip(cac_patient, written):
    for name in ("gated", "non_gated"):
        r = getattr(cac_patient, name)
        v = read(written / f"{name}.nii.gz")
        assert np.array_equal(v.array, r.ct.array) and np.allclose(v.affine, r.ct.affine)
        assert v.meta.gated == (name == "gated")
        img = nib.load(str(written / f"{name}.nii.gz"))
        assert np.array_equal(np.asanyarray(img.dataobj), r.ct.array)
        assert "".join(nib.aff2axcodes(img.affine)) == "RAS"
        lab = nib.load(str(written / f"{name}_lesions.nii.gz"))
        assert lab.shape == r.ct.shape and np.allclose(lab.affine, r.ct.affine)
    vert = np.asanyarray(nib.load(str(written / "non_gated_vertebrae.nii.gz")).dataobj)
    assert set(np.unique(vert)) - {0} <= set(range(1, 29))
    truth = json.loads((written / "truth.json").read_text())
    assert truth["agatston"] == cac_patient.truth["agatston"]


@pytest.mark.parametrize("sub,prefix", [("gated", "G"), ("non_gated", "SG")])
def test_dicom_series_round_trip(cac_patient, written, sub, prefix):
    r = getattr(cac_patient, sub)
    v = read(written / sub).to_ras()  # DICOM reads back in its own (LAS) voxel order: compare in world space
    assert np.array_equal(v.array, r.ct.array)
    assert np.allclose(v.affine, r.ct.affine, atol=1e-4)
    ds = pydicom.dcmread(written / sub / f"{prefix}1.dcm")
    assert ds.Modality == "CT" and float(ds.SliceThickness) == r.acquisition.thickness_mm
    assert int(ds.Rows) == r.ct.shape[1]


def test_calcium_study_layout(cac_patient, written):
    from hounsfield.io import read_dicom

    g = sorted(written.glob("G*.dcm"))
    sg = sorted(written.glob("SG*.dcm"))
    assert len(g) == cac_patient.gated.ct.shape[2] and len(sg) == cac_patient.non_gated.ct.shape[2]
    vols = read_dicom(written, allow_single_slice=False)
    shapes = sorted(v.shape for v in vols if v.shape[2] in (len(g), len(sg)))
    assert sorted([cac_patient.gated.ct.shape, cac_patient.non_gated.ct.shape]) == [s for s in shapes[:2]] or len(vols) >= 2
    gated = [v for v in vols if v.meta.gated]
    assert gated and np.array_equal(gated[0].to_ras().array, cac_patient.gated.ct.array)


def test_verse_layout(cac_patient, written):
    sub = "sub-" + cac_patient.patient_id.replace("_", "")
    ct = nib.load(str(written / f"{sub}_ct.nii.gz"))
    msk = nib.load(str(written / f"{sub}_seg-vert_msk.nii.gz"))
    ctd = json.loads((written / f"{sub}_seg-subreg_ctd.json").read_text())
    assert ctd[0] == {"direction": list(nib.aff2axcodes(msk.affine))}
    labels = {c["label"] for c in ctd[1:]}
    present = set(np.unique(np.asanyarray(msk.dataobj))) - {0}
    assert labels and labels <= present | {26}
    truth = {v["verse_label"]: np.array(v["centroid_mm"]) for v in cac_patient.truth["vertebrae"]}
    for c in ctd[1:]:
        xyz = nib.affines.apply_affine(ct.affine, [c["X"], c["Y"], c["Z"]])
        assert np.abs(xyz - truth[c["label"]]).max() < 0.05  # voxel coordinates are rounded to 0.01


def test_mip_archive(cac_patient, tmp_path):
    rec = mip_record(cac_patient)
    p = write_mip_archive([rec, rec], tmp_path / "mips.npz")
    d = load_mip_npz(p)
    assert list(d["names"]) == [cac_patient.patient_id] * 2
    f = d["images_f"][0]
    assert f.ndim == 2 and f.dtype == np.float32
    ct = cac_patient.non_gated.ct
    # 1 mm rows: the MIP is as tall as the scan length
    assert abs(f.shape[0] - ct.shape[2] * ct.spacing[2]) <= 1
    assert d["slice_thickness"][0] == pytest.approx(ct.meta.thickness_mm)
    # the L3 row maps back to the L3 slice
    k = cac_patient.truth["levels"]["L3_slice"]["non_gated"]
    row = d["ydata_L3"][0]
    k_from_row = (ct.shape[2] - 1) - row * (ct.shape[2] - 1) / (f.shape[0] - 1)
    assert abs(k_from_row - k) <= 0.5 + 1e-6


def test_calcium_study_converts_with_gated_pairs(cac_patient, tmp_path):
    """The calcium-study layout is what `hounsfield convert --layout gated-pairs` reads."""
    from hounsfield.io.convert import convert

    root = tmp_path / "study"
    write_patient(cac_patient, root / "p1", ("calcium-study",))
    convert(root, tmp_path / "nii", layout="gated-pairs")
    g = read(tmp_path / "nii" / "p1" / "p1_gated.nii.gz").to_ras()
    ng = read(tmp_path / "nii" / "p1" / "p1_non_gated.nii.gz").to_ras()
    assert np.array_equal(g.array, cac_patient.gated.ct.array)
    assert np.array_equal(ng.array, cac_patient.non_gated.ct.array)
