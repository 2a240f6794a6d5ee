"""The default batch task: ``screen`` on a synthetic gated/non-gated pair (phantom layout)."""

import csv

from hounsfield.batch import run_batch
from hounsfield.phantoms import generate_patient, write_patient


def test_batch_screen_on_a_phantom_pair(tmp_path):
    result = generate_patient(seed=4, index=0, matrix=160, gated_matrix=160, coverage="abdomen", thickness=3.0)
    write_patient(result, tmp_path / "root" / "patient_0000", formats=("nifti",), masks=True)
    s = run_batch(tmp_path / "root", tmp_path / "out", workers=1)  # task defaults to screen
    assert (s.total, s.done, s.failed) == (2, 2, 0)
    with open(tmp_path / "out" / "results.csv") as fh:
        rows = {r["exam"]: r for r in csv.DictReader(fh)}
    assert set(rows) == {"patient_0000/gated", "patient_0000/non_gated"}  # masks are not exams
    ng = rows["patient_0000/non_gated"]
    assert ng["calcium_status"] == "not analysed" and "heart" in (tmp_path / "out" / "exams" /
        "patient_0000__non_gated" / "results.json").read_text()
    truth_k = result.truth["levels"]["L3_slice"]["non_gated"]
    assert ng["levels_status"] == "done" and abs(int(ng["L3_slice"]) - truth_k) <= 4
    assert (tmp_path / "out" / "exams" / "patient_0000__non_gated" / "report.html").exists()
    assert (tmp_path / "out" / "cohort.html").exists()
