import sqlite3

from hounsfield.batch import Ledger, find_exams
from hounsfield.examples import cylinder_ct
from hounsfield.io import write_dicom_series, write_nifti


def test_find_exams_layouts(tmp_path):
    root = tmp_path / "root"
    write_dicom_series(cylinder_ct(shape=(8, 8, 3)), root / "study" / "series1", prefix="IM")
    write_dicom_series(cylinder_ct(shape=(8, 8, 3)), root / "pairs" / "pid1", prefix="G")
    write_dicom_series(cylinder_ct(shape=(8, 8, 3)), root / "pairs" / "pid1", prefix="SG")
    write_nifti(cylinder_ct(shape=(8, 8, 3)), root / "phantoms" / "patient_0000" / "gated.nii.gz")
    write_nifti(cylinder_ct(shape=(8, 8, 3)), root / "phantoms" / "patient_0000" / "non_gated.nii.gz")
    write_nifti(cylinder_ct(shape=(8, 8, 3)), root / "phantoms" / "patient_0000" / "heart_mask.nii.gz")
    write_nifti(cylinder_ct(shape=(8, 8, 3)), root / "loose" / "scan.nii.gz")
    write_nifti(cylinder_ct(shape=(8, 8, 3)), root / "loose" / "scan_seg.nii.gz")
    (root / "loose" / "readme.txt").write_text("x")
    exams = {e.id: (e.kind, e.prefix) for e in find_exams(root)}
    assert exams == {
        "study/series1": ("dicom", None),
        "pairs/pid1/gated": ("gated", "G"),
        "pairs/pid1/non_gated": ("non_gated", "SG"),
        "phantoms/patient_0000/gated": ("gated", None),
        "phantoms/patient_0000/non_gated": ("non_gated", None),
        "loose/scan.nii.gz": ("image", None),
    }


def test_ledger_states_and_wal(tmp_path):
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as led:
        assert led.add([("a", "/a", "dicom"), ("b", "/b", "dicom")]) == 2
        assert led.add([("a", "/a", "dicom")]) == 0  # idempotent
        run = led.start_run({})
        led.claim("a")
        led.claim("b")
        led.done("a", {"x": 1}, 0.5, {"hounsfield": "t"})
        led.finish_run(run)
        # b was running when the "process died": the next run sees it pending again
        led.start_run({})
        assert led.todo() == [("b", "/b", "dicom")]
        led.failed("b", "broken", 0.1, {})
        assert led.todo() == [] and led.todo(retry_failed=True) == [("b", "/b", "dicom")]
        assert led.counts() == {"done": 1, "failed": 1}
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT attempts FROM exams WHERE exam='a'").fetchone()[0] == 1
