"""``hounsfield cxr`` on what a real export folder holds: frontal and lateral films, other body parts, reports
without pixels, CT slices, index files, a corrupt file. Every image gets a row with a status; one bad file does not
cost the others their scores."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pydicom
import pytest

from hounsfield.cli import main
from hounsfield.cxr.io import read_radiograph, write_radiograph_dicom
from hounsfield.cxr.predict import expand_inputs, predict_files, resolve_model, view_check
from hounsfield.errors import InputError

DCM = "1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm"
PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def _rows(path):
    return {Path(r["image"]).name: r for r in csv.DictReader(open(path))}


@pytest.fixture(scope="module")
def export(fixtures_dir, tmp_path_factory):
    """A folder as a PACS export holds it (the real CR film, and copies of it with other headers)."""
    root = tmp_path_factory.mktemp("export")
    study = root / "study1"
    study.mkdir()
    shutil.copy(fixtures_dir / "cxr" / DCM, study / "pa.dcm")
    rad = read_radiograph(fixtures_dir / "cxr" / DCM)
    write_radiograph_dicom(rad, study / "lateral.dcm", extra={"ViewPosition": "LL"})
    write_radiograph_dicom(rad, study / "IM0003", extra={"ViewPosition": "AP"})  # extension-less, with DICM marker
    write_radiograph_dicom(rad, study / "knee.dcm", extra={"ViewPosition": "AP", "BodyPartExamined": "KNEE"})
    shutil.copy(PYDICOM_FILES / "test-SR.dcm", study / "report.dcm")  # a structured report: no pixel data
    shutil.copy(PYDICOM_FILES / "CT_small.dcm", study / "ct.dcm")
    (root / "DICOMDIR").write_bytes(b"\0" * 200)
    (study / "LOCKFILE").write_text("not an image")
    shutil.copy(fixtures_dir / "cxr" / "00000001_000.png", root / "nih.png")
    return root


def test_view_check():
    assert view_check({})[0] is None and view_check({})[1] is None
    assert view_check({"view": "PA", "body_part": "CHEST"}) == (None, None)
    assert "lateral" in view_check({"view": "LL"})[0]
    assert "oblique" in view_check({"view": "RAO", "body_part": "CHEST"})[0]
    assert "KNEE" in view_check({"view": "PA", "body_part": "KNEE"})[0]
    assert view_check({"view": "AP", "body_part": "PORT CHEST"})[0] is None
    assert "AP film" in view_check({"view": "AP"})[1]
    assert view_check({"view": "", "body_part": "THORAX"}) == (None, None)


def test_expand_inputs_sets_aside_what_is_not_an_image(export):
    files = expand_inputs([export])
    names = sorted(p.name for p in files)
    assert names == ["IM0003", "ct.dcm", "knee.dcm", "lateral.dcm", "nih.png", "pa.dcm", "report.dcm"]
    assert sorted(p.name for p, _ in files.skipped) == ["DICOMDIR", "LOCKFILE"]
    assert set(files) == files.from_folders
    # a file named on the command line is kept whatever its name
    given = expand_inputs([export / "study1" / "LOCKFILE"])
    assert list(given) == [export / "study1" / "LOCKFILE"] and not given.from_folders


def test_folder_with_mixed_content(export, fixtures_dir, tmp_path, capsys):
    out = tmp_path / "pred.csv"
    assert main(["cxr", str(export), "--csv", str(out), "--threads", "1"]) == 0
    err = capsys.readouterr().err
    rows = _rows(out)
    assert set(rows) == {"IM0003", "ct.dcm", "knee.dcm", "lateral.dcm", "nih.png", "pa.dcm", "report.dcm"}
    status = {k: r["status"] for k, r in rows.items()}
    assert status == {"pa.dcm": "ok", "IM0003": "ok", "nih.png": "ok", "lateral.dcm": "skipped",
                      "knee.dcm": "skipped", "report.dcm": "skipped", "ct.dcm": "skipped"}
    assert rows["lateral.dcm"]["p_cac_gt0"] == "" and "ViewPosition LL" in rows["lateral.dcm"]["note"]
    assert "KNEE" in rows["knee.dcm"]["note"]
    assert "without pixel data" in rows["report.dcm"]["note"] and "CT slice" in rows["ct.dcm"]["note"]
    assert rows["IM0003"]["view"] == "AP" and "AP film" in rows["IM0003"]["note"]
    assert rows["pa.dcm"]["view"] == "PA" and rows["pa.dcm"]["note"] == ""
    # the AP copy holds the same film as the PA original (12-bit re-quantised): about the same probability
    assert abs(float(rows["IM0003"]["p_cac_gt0"]) - float(rows["pa.dcm"]["p_cac_gt0"])) < 0.02
    # scored in the folder exactly as on its own
    model, label = resolve_model()
    (alone,) = predict_files([fixtures_dir / "cxr" / DCM], model, label)
    assert float(rows["pa.dcm"]["p_cac_gt0"]) == pytest.approx(alone["p_cac_gt0"], abs=1e-6)
    assert "skipped" in err and "DICOMDIR" in err and "3 image(s) scored" in err and "4 skipped" in err


def test_any_view_scores_lateral_films_with_a_note(export, tmp_path):
    out = tmp_path / "pred.csv"
    lateral = export / "study1" / "lateral.dcm"
    assert main(["cxr", str(lateral), "--csv", str(out), "--threads", "1", "--any-view"]) == 0
    (row,) = _rows(out).values()
    assert row["status"] == "ok" and 0 <= float(row["p_cac_gt0"]) <= 1 and "lateral" in row["note"]
    # without the flag: listed, not scored, and the run says so with a non-zero exit (nothing was scored)
    assert main(["cxr", str(lateral), "--csv", str(out), "--threads", "1"]) == 1
    (row,) = _rows(out).values()
    assert row["status"] == "skipped" and row["p_cac_gt0"] == ""


def test_one_bad_file_costs_no_other_score(export, tmp_path, capsys):
    folder = tmp_path / "films"
    shutil.copytree(export, folder)
    (folder / "broken.dcm").write_bytes(b"a half-copied file, not DICOM " * 20)
    out = tmp_path / "pred.csv"
    assert main(["cxr", str(folder), "--csv", str(out), "--threads", "1"]) == 1
    err = capsys.readouterr().err
    rows = _rows(out)
    assert rows["broken.dcm"]["status"] == "error" and "not a readable DICOM" in rows["broken.dcm"]["note"]
    assert sum(r["status"] == "ok" for r in rows.values()) == 3
    assert "error:" in err and "broken.dcm" in err and "Traceback" not in err
    flat = "".join(err.split())  # rich wraps long paths anywhere
    assert "".join(f"skipped {folder / 'study1' / 'report.dcm'}: DICOM file without pixel data".split()) in flat
    # a CT slice named on the command line is an error (it was asked for), not a silent skip
    assert main(["cxr", str(folder / "study1" / "ct.dcm"), str(folder / "nih.png"), "--csv", str(out)]) == 1
    rows = _rows(out)
    assert rows["ct.dcm"]["status"] == "error" and rows["nih.png"]["status"] == "ok"
    # the library default still raises on the first unreadable file
    model, label = resolve_model()
    with pytest.raises(InputError, match="not a readable DICOM"):
        predict_files([folder / "broken.dcm"], model, label)


def test_evaluate_leaves_unscored_rows_out(export, tmp_path, capsys):
    out = tmp_path / "pred.csv"
    assert main(["cxr", str(export), "--csv", str(out), "--threads", "1"]) == 0
    labels = tmp_path / "labels.csv"
    names = ["pa.dcm", "IM0003", "nih.png", "lateral.dcm"]
    paths = {Path(r["image"]).name: r["image"] for r in csv.DictReader(open(out))}
    with open(labels, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "patient_id", "cac"])
        for i, n in enumerate(names):
            w.writerow([os.path.abspath(paths[n]), f"p{i}", [0, 150, 0, 10][i]])
    capsys.readouterr()
    assert main(["evaluate", "cxr", str(out), str(labels), "--n-boot", "20"]) == 0
    captured = capsys.readouterr()
    assert "3 images (1 with CAC > 0)" in captured.out
    assert "1 labelled images have no prediction" in captured.err


def test_screen_does_not_score_a_lateral_film(export, tmp_path):
    from hounsfield.screen import screen

    res = screen(export / "study1" / "lateral.dcm", tmp_path)
    (sec,) = res.sections
    assert sec.name == "cxr" and sec.status == "not analysed" and "lateral" in sec.reason
    res = screen(export / "study1" / "IM0003", tmp_path / "ap")
    (sec,) = res.sections
    assert sec.status == "done" and sec.values["view"] == "AP" and any("AP film" in w for w in sec.warnings)
