"""Labels CSV, targets, DICOM folders labelled by patient ID, phantom-cohort conversion."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hounsfield.cxr.data import (Record, Standardiser, cac_category, cac_thresholds, log_cac, read_labels_csv,
                                 write_labels_csv)
from hounsfield.cxr.io import Radiograph, write_radiograph_dicom
from hounsfield.errors import InputError


def test_targets_by_hand():
    cac = [0, 0.5, 99, 100, 399.9, 400, 2500]
    assert cac_category(cac).tolist() == [0, 1, 1, 2, 2, 3, 3]
    assert cac_thresholds(cac)[:, 0].tolist() == [0, 1, 1, 1, 1, 1, 1]
    assert cac_thresholds(cac)[:, 1].tolist() == [0, 0, 0, 1, 1, 1, 1]
    assert cac_thresholds(cac)[:, 2].tolist() == [0, 0, 0, 0, 0, 1, 1]
    assert log_cac([0, 2500, -3]).tolist() == pytest.approx([0.0, np.log(2001), 0.0])
    s = Standardiser.fit([0, 0, np.e ** 2 - 1, np.e ** 2 - 1])   # logs 0, 0, 2, 2 -> mean 1, sd 1
    assert (s.mean, s.std) == pytest.approx((1.0, 1.0))
    assert s.transform([0]).tolist() == pytest.approx([-1.0])
    assert s.inverse([1.0]).tolist() == pytest.approx([np.e ** 2 - 1])
    assert s.inverse([100.0]).tolist() == pytest.approx([2000.0])  # clipped to the target range


def test_csv_round_trip_with_clinical_columns(tmp_path):
    (tmp_path / "img").mkdir()
    recs = [Record(str(tmp_path / "img" / "a.png"), "p1", 0.0, {"age": 61.0, "sex": "F"}),
            Record(str(tmp_path / "img" / "b.dcm"), "p2", 412.5, {"age": 70.0, "sex": "M"})]
    path = write_labels_csv(recs, tmp_path / "labels.csv")
    text = path.read_text().splitlines()
    assert text[0] == "image,patient_id,cac,age,sex" and text[1].startswith("img/a.png,p1,0,")
    back = read_labels_csv(path)
    assert [(r.image, r.patient_id, r.cac) for r in back] == [(r.image, r.patient_id, r.cac) for r in recs]
    assert back[1].extra == {"age": 70.0, "sex": "M"}


def test_csv_aliases_and_errors(tmp_path):
    p = tmp_path / "l.csv"
    p.write_text("filename,PatientID,Agatston\nx.png,,12\n")
    r = read_labels_csv(p)[0]
    assert r.patient_id == "x" and r.cac == 12.0   # blank patient -> file stem
    p.write_text("image,patient_id,cac\nx.png,a,-1\n")
    with pytest.raises(InputError, match=">= 0"):
        read_labels_csv(p)
    p.write_text("image,patient_id\nx.png,a\n")
    with pytest.raises(InputError, match="CAC column"):
        read_labels_csv(p)


def test_dicom_folder_labelled_by_patient_id(tmp_path):
    img = Radiograph(np.zeros((8, 8)), (0.2, 0.2))
    for pid in ("A", "B", "C"):
        write_radiograph_dicom(img, tmp_path / "dicoms" / pid / "1.dcm", patient_id=pid)
    write_radiograph_dicom(img, tmp_path / "dicoms" / "A" / "2.dcm", patient_id="A")
    (tmp_path / "dicoms" / "labels.csv").write_text("patient_id,cac,age\nA,0,50\nB,150,60\n")
    recs = read_labels_csv(tmp_path / "dicoms" / "labels.csv")
    assert sorted((r.patient_id, r.cac) for r in recs) == [("A", 0.0), ("A", 0.0), ("B", 150.0)]
    assert all(r.extra["age"] in (50.0, 60.0) for r in recs)


def test_phantom_cohort_folder_to_radiographs(tmp_path):
    """The 'hounsfield phantom chest' layout (non_gated.nii.gz + truth.json) becomes DRRs + labels."""
    from hounsfield.cxr.cohort import drr_cohort, read_truth_agatston
    from hounsfield.cxr.io import read_radiograph
    from hounsfield.cxr.torso import simple_torso
    from hounsfield.io import write_nifti

    src = tmp_path / "chest"
    scores = {}
    for i, n in enumerate((0, 2)):
        vol, truth = simple_torso(np.random.default_rng(i), n_plaques=n, shape=(120, 88, 50), spacing=(3.0, 3.0, 6.0))
        (src / f"P{i}").mkdir(parents=True)
        write_nifti(vol, src / f"P{i}" / "non_gated.nii.gz")
        (src / f"P{i}" / "truth.json").write_text(json.dumps({"agatston": {"total": truth["agatston"]}}))
        scores[f"P{i}"] = truth["agatston"]
    assert read_truth_agatston(src / "P1" / "truth.json") == scores["P1"] > 0
    csv_path = drr_cohort(src, tmp_path / "out", formats=("png", "dicom"))
    recs = read_labels_csv(csv_path)
    assert [(r.patient_id, r.cac) for r in recs] == [("P0", 0.0), ("P1", scores["P1"])]
    dcm = read_radiograph(tmp_path / "out" / "images" / "P1.dcm")
    png = read_radiograph(recs[1].image)
    assert dcm.spacing_mm == (0.5, 0.5) and dcm.meta["patient_id"] == "P1"
    assert np.abs(dcm.pixels - png.pixels).max() < 1e-3
    with pytest.raises(InputError):
        drr_cohort(tmp_path / "nothing-here", tmp_path / "o2")


def test_phantom_cohort_reuses_earlier_truth_only_where_allowed(tmp_path):
    """--truth-from: a patient's earlier score is taken exactly when the aorta check allows it (counted in
    cohort.json); the others are recomputed (a doctored earlier score shows which happened)."""
    from hounsfield.cxr.cohort import phantom_cohort

    # seed 5, 6 patients, few without calcium: some plaques lie near the moved aorta (recomputed), some not
    first = phantom_cohort(6, tmp_path / "a", seed=5, zero_cac_rate=0.05)
    recs = read_labels_csv(first)
    doctored = tmp_path / "old.csv"
    doctored.write_text("image,patient_id,cac\n" + "".join(f"{r.image},{r.patient_id},12345\n" for r in recs))
    again = phantom_cohort(6, tmp_path / "b", seed=5, zero_cac_rate=0.05, truth_from=doctored)
    new = read_labels_csv(again)
    meta = json.loads((tmp_path / "b" / "cohort.json").read_text())
    reused = [r.cac == 12345 for r in new]
    assert meta["truth_reused"] == sum(reused) and 0 < sum(reused) < len(reused)  # both branches taken
    assert all(n.cac == o.cac for n, o, u in zip(new, recs, reused) if not u)
