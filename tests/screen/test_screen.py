"""``hounsfield screen`` end to end: a synthetic patient read from DICOM, and the real fixtures."""

import json

import numpy as np
import pytest

from hounsfield.phantoms import generate_patient, write_patient
from hounsfield.report.browser import find_chromium, render_dom, screenshot
from hounsfield.screen import screen

from ..conftest import fixture_path
from ..io.helpers import cli


@pytest.fixture(scope="module")
def patient(tmp_path_factory):
    root = tmp_path_factory.mktemp("patient")
    result = generate_patient(seed=2, index=0, matrix=192, gated_matrix=192, coverage="chest_abdomen",
                              thickness=3.0, zero_cac_rate=0.05)
    write_patient(result, root, formats=("dicom",), masks=False)
    return root, result.truth


@pytest.fixture(scope="module")
def screened(patient, tmp_path_factory):
    root, truth = patient
    out = tmp_path_factory.mktemp("screen")
    return screen(root / "non_gated", out, exam_id="synthetic non-gated"), out, truth


def test_screen_synthetic_non_gated(screened):
    res, out, truth = screened
    d = json.loads((out / "results.json").read_text())
    a = d["analyses"]
    assert set(a) == {"calcium", "levels", "vertebrae"}
    assert a["calcium"]["status"] == "done" and a["calcium"]["gated"] is False
    assert a["calcium"]["agatston"] >= 0 and a["calcium"]["risk_category"]
    lev = a["levels"]
    k = truth["levels"]["L3_slice"]["non_gated"]
    assert lev["status"] == "done" and abs(lev["L3_slice"] - k) <= 4  # 3 mm slices: within 12 mm
    assert lev["L3_muscle_area_cm2"] > 50
    v = a["vertebrae"]
    assert v["status"] == "done" and "L3" in v["vertebrae_found"].split(",")
    for f in ("report.html", "results.json", "run_manifest.json", "vertebrae.nii.gz", "levels_mip.png",
              "calcium_overlay.png", "vertebrae_seg.dcm"):
        assert (out / f).exists(), f
    names = {m["name"] for m in d["models"]}
    assert {"levels-mip", "vertebrae-anatomical"} <= names
    assert all("synthetic" in m["trained_on"] for m in d["models"])


@pytest.mark.skipif(find_chromium() is None, reason="Chromium not installed (apt-get install chromium)")
def test_report_in_chromium(screened, tmp_path):
    res, out, truth = screened
    dom, loaded, total = render_dom(out / "report.html")
    assert total >= 4 and loaded == total
    cal = res.section("calcium").values
    assert f"{cal['agatston']:.1f} (category {cal['risk_category']})" in dom
    assert f"L3 slice</td><td>{res.section('levels').values['L3_slice']} " in dom
    assert "trained_on" in dom and "synthetic" in dom
    assert screenshot(out / "report.html", tmp_path / "r.png").stat().st_size > 20_000


def test_screen_gated_dicom_writes_sr(patient, tmp_path):
    root, truth = patient
    res = screen(root / "gated", tmp_path)
    cal = res.section("calcium")
    assert cal.status == "done" and cal.values["gated"] is True
    assert truth["agatston"] > 100 and cal.values["agatston"] > 0  # this patient has coronary calcium
    assert (tmp_path / "calcium_sr.dcm").exists()
    assert res.section("levels").values.get("L3_slice") is None  # a cardiac field of view


def test_screen_real_abdomen(tmp_path):
    res = screen(fixture_path("ct_abdomen", "ct.nii.gz"), tmp_path)
    cal, lev, ver = res.section("calcium"), res.section("levels"), res.section("vertebrae")
    assert cal.status == "not analysed" and "heart" in cal.reason.lower()
    assert lev.status == "done" and abs(lev.values["L3_z_mm"] - 314.6) <= 10
    assert {"T12", "L1", "L2", "L3", "L4", "L5", "S1"} <= set(ver.values["vertebrae_found"].split(","))
    assert (tmp_path / "report.html").exists()
    # the bundled parameters, as `hounsfield vertebrae` uses them (screen ran the built-in defaults until
    # session 3 while naming the bundled model; on a cardiac field of view that invented T11-L1)
    from hounsfield.io import read
    from hounsfield.vertebrae.model import load_model

    model = load_model()
    assert ver.values["vertebrae"] == model.detect(read(fixture_path("ct_abdomen", "ct.nii.gz"))).to_dict()["vertebrae"]
    assert [m["sha256"] for m in ver.models] == [model.summary["sha256"]]
    # the levels model and the vertebra detector agree on L3 (3 mm apart): no warning. On T12 they do not: the
    # levels model misses this T12, cut by the top of the image (docs/levels.md), the detector labels it 8 mm
    # from the reference; the report says so in both sections
    cross = [w for w in ver.warnings if "at least one of them is wrong" in w]
    assert [w.split(":")[0] for w in cross] == ["T12"] and "outside the field of view" in cross[0]
    assert cross[0] in lev.warnings
    assert res.flat()["levels_cross_check"] == "T12"  # the cohort table's column


def test_screen_real_contrast_cta_refuses_calcium(tmp_path):
    res = screen(fixture_path("ct_heart_cta", "ct.nii.gz"), tmp_path)
    cal = res.section("calcium")
    assert cal.status == "not analysed" and "contrast" in cal.reason.lower()
    # the crop cuts the spine off: the levels model finds no T12, the vertebra detector labels one in the heart
    # (a known failure, docs/vertebrae.md). The report says that the two disagree, in both sections.
    lev, ver = res.section("levels"), res.section("vertebrae")
    warn = [w for w in ver.warnings if w.startswith("T12: the vertebra detector labels it")]
    assert len(warn) == 1 and "outside the field of view" in warn[0] and warn[0] in lev.warnings
    assert warn[0] in (tmp_path / "report.html").read_text()


def test_screen_cli_bad_input(tmp_path):
    (tmp_path / "x.txt").write_text("no")
    r = cli("screen", tmp_path / "x.txt", "-o", tmp_path / "out")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    mr = tmp_path / "mr.nii.gz"
    import nibabel as nib

    nib.save(nib.Nifti1Image(np.full((16, 16, 8), 300, np.int16), np.eye(4)), mr)
    r = cli("screen", mr, "-o", tmp_path / "out2")
    assert r.returncode == 2 and "do not look like CT" in r.stderr


def test_screen_routes_a_head_pair_to_clot(tmp_path):
    r = cli("phantom", "head", "--n", "1", "--seed", "5", "-o", tmp_path / "heads")
    assert r.returncode == 0, r.stderr
    case = next(p for p in (tmp_path / "heads").iterdir() if p.is_dir())
    res = screen(case, tmp_path / "out")
    assert res.kind == "clot-pair" and [s.name for s in res.sections] == ["clot"]
    sec = res.sections[0]
    assert sec.status == "done", sec.reason
    assert (tmp_path / "out" / "clot.nii.gz").exists()
    assert sec.models and "synthetic" in sec.models[0]["trained_on"]


def test_screen_routes_a_radiograph_to_cxr(tmp_path):
    res = screen(fixture_path("cxr", "00000001_000.png"), tmp_path)
    assert res.kind == "radiograph" and [s.name for s in res.sections] == ["cxr"]
    sec = res.sections[0]
    # the bundled synthetic-trained model (cxr-cac) answers, and says what it was trained on
    assert sec.status == "done", sec.reason
    assert 0.0 <= sec.values["p_cac_gt0"] <= 1.0
    assert sec.models and "synthetic" in sec.models[0]["trained_on"]
    assert (tmp_path / "report.html").exists()
