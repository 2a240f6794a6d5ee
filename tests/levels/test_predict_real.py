"""The bundled level model on the real abdomen CT, in several orientations, spacings and formats."""

import csv

import numpy as np
import pytest

from hounsfield.cli import main
from hounsfield.levels.mip import compute_mips
from hounsfield.levels.predict import load_predictor
from hounsfield.volume import Volume

L3_Z = 314.6        # TotalSegmentator L3 centroid z (mm), ../shared/fixtures/SOURCES.md
L3_K = 73.4


@pytest.fixture(scope="module")
def ct(fixtures_dir):
    from hounsfield.io import read

    return read(fixtures_dir / "ct_abdomen" / "ct.nii.gz")


@pytest.fixture(scope="module")
def predictor():
    return load_predictor()


def _kflip(v: Volume) -> Volume:
    aff = v.affine.copy()
    aff[:3, 2] *= -1
    aff[:3, 3] = v.affine[:3, :3] @ [0, 0, v.shape[2] - 1] + v.affine[:3, 3]
    return Volume(np.ascontiguousarray(v.array[:, :, ::-1]), aff, v.meta)


def _fine(v: Volume) -> Volume:
    aff = v.affine.copy()
    aff[:3, 2] /= 2
    return v.resample_to((v.shape[0], v.shape[1], 2 * v.shape[2] - 1), aff, order=1)


def test_l3_on_real_scan_within_10mm(ct, predictor):
    res = predictor.predict(compute_mips(ct, "ct_abdomen"))
    a = res.answers["L3"]
    assert a.z_mm is not None and abs(a.z_mm - L3_Z) <= 10.0, a
    assert abs(a.slice - L3_K) * 3.0 <= 10.0 + 1.5
    assert abs(ct.slice_z_mm(a.slice) - a.z_mm) <= 1.5
    t12 = res.answers["T12"]
    # T12 is cut by the top of the field of view: either reported near the top or left empty with a reason
    assert (t12.z_mm is None and t12.reason) or t12.z_mm > 390.0, t12


@pytest.mark.parametrize("variant", ["lps", "kflip", "fine_1.5mm"])
def test_same_answer_whatever_the_orientation_or_spacing(ct, predictor, variant):
    ref = predictor.predict(compute_mips(ct, "ref")).answers["L3"]
    v = {"lps": lambda: ct.reorient("LPS"), "kflip": lambda: _kflip(ct), "fine_1.5mm": lambda: _fine(ct)}[variant]()
    a = predictor.predict(compute_mips(v, variant)).answers["L3"]
    assert a.z_mm is not None and abs(a.z_mm - ref.z_mm) <= 4.0, (variant, a, ref)
    assert abs(a.z_mm - L3_Z) <= 10.0
    # the slice index is the one of this file as stored
    assert abs(v.slice_z_mm(a.slice) - a.z_mm) <= 0.5 * abs(v.affine[2, 2]) + 0.01
    if variant == "kflip":
        assert abs(a.slice - (ct.shape[2] - 1 - ref.slice)) <= 1


def test_level_outside_field_of_view_is_empty(ct, predictor):
    low = Volume(ct.array[:, :, :50].copy(), ct.affine, ct.meta)   # femoral heads to ~L5: no L3, no T12
    res = predictor.predict(compute_mips(low, "low"))
    for lv in ("L3", "T12"):
        a = res.answers[lv]
        assert a.slice is None and a.z_mm is None and "field of view" in a.reason, a


def test_cli_levels_dicom_and_nifti_then_evaluate(ct, tmp_path, fixtures_dir):
    from hounsfield.io import write_dicom_series

    dcm = tmp_path / "dicom_series"
    write_dicom_series(ct, dcm)
    out = tmp_path / "levels.csv"
    rc = main(["levels", str(fixtures_dir / "ct_abdomen" / "ct.nii.gz"), str(dcm), "--csv", str(out),
               "--overlay", str(tmp_path / "ov"), "--save-mips", str(tmp_path / "m.npz")])
    assert rc == 0
    rows = list(csv.DictReader(open(out)))
    assert [r["exam_id"] for r in rows] == ["ct", "dicom_series"]
    assert set(rows[0]) >= {"exam_id", "T12_slice", "L3_slice", "T12_z_mm", "L3_z_mm", "T12_confidence", "L3_confidence"}
    z_nii, z_dcm = float(rows[0]["L3_z_mm"]), float(rows[1]["L3_z_mm"])
    assert abs(z_nii - L3_Z) <= 10 and abs(z_dcm - z_nii) <= 3.0
    assert (tmp_path / "ov" / "ct_levels.png").stat().st_size > 5000
    # the saved archive predicts the same
    rc = main(["levels", str(tmp_path / "m.npz"), "--csv", str(tmp_path / "again.csv")])
    assert rc == 0
    again = list(csv.DictReader(open(tmp_path / "again.csv")))
    assert abs(float(again[0]["L3_z_mm"]) - z_nii) < 0.01 and again[0]["L3_slice"] == rows[0]["L3_slice"]
    truth = tmp_path / "truth.csv"
    truth.write_text(f"exam_id,L3_slice,L3_z_mm\nct,73,{L3_Z}\ndicom_series,73,{L3_Z}\n")
    rc = main(["evaluate", "levels", str(out), str(truth), "--levels", "L3", "--out", str(tmp_path / "ev")])
    assert rc == 0 and (tmp_path / "ev" / "errors_hist_l3.png").exists()


def test_cli_bodycomp_at_l3(tmp_path, fixtures_dir):
    out = tmp_path / "bc.csv"
    rc = main(["bodycomp", str(fixtures_dir / "ct_abdomen" / "ct.nii.gz"), "--level", "L3", "--csv", str(out),
               "--height-m", "1.75", "--overlay", str(tmp_path / "bc.png")])
    assert rc == 0
    row = next(csv.DictReader(open(out)))
    assert row["Level"] == "L3" and abs(int(row["Index"]) - L3_K) <= 4
    muscle, sat, vat = float(row["Muscle_area_cm2"]), float(row["SAT_area_cm2"]), float(row["VAT_area_cm2"])
    # plausible adult values at L3 (cm^2) and an SMI consistent with the area
    assert 60 < muscle < 300 and 10 < sat < 600 and 5 < vat < 500
    assert float(row["SMI_cm2_m2"]) == pytest.approx(muscle / 1.75 ** 2, abs=0.01)
    assert -29 <= float(row["Muscle_HU"]) <= 150
    assert (tmp_path / "bc.png").stat().st_size > 5000
