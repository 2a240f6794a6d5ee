"""Clinical inputs (age, sex, ...) of CXR models: encoding, training with --clinical, inference with DICOM headers or
a CSV."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from hounsfield.cli import main
from hounsfield.cxr.clinical import ClinicalEncoder, dicom_clinical, parse_age, parse_columns, read_clinical_csv
from hounsfield.cxr.io import Radiograph, write_png
from hounsfield.cxr.model import load_model
from hounsfield.errors import InputError

DCM = "1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm"


def test_encoder_by_hand():
    rows = [{"age": 40.0, "sex": "F", "site": "b"}, {"age": 60.0, "sex": "M", "site": "a"},
            {"age": "", "sex": "M", "site": "c"}, {"age": 80.0, "sex": "F", "site": "a"}]
    enc = ClinicalEncoder.fit(rows, ["age", "sex", "site"])
    # age: mean 60, population sd sqrt(800/3); sex: F reference; site: a reference, b and c indicators
    assert enc.feature_names == ["age", "sex=M", "site=b", "site=c"]
    sd = np.sqrt(800 / 3)
    assert enc.columns[0]["mean"] == 60.0 and enc.columns[0]["sd"] == pytest.approx(sd)
    x, imputed = enc.transform([{"age": 70, "sex": "M", "site": "c"}, {"age": "n/a", "sex": "?", "site": "b"}, {}])
    assert x[0].tolist() == pytest.approx([10 / sd, 1, 0, 1])
    assert x[1].tolist() == [0, 0, 1, 0] and x[2].tolist() == [0, 0, 0, 0]
    assert imputed == [[], ["age", "sex"], ["age", "sex", "site"]]
    again = ClinicalEncoder.from_dict(json.loads(json.dumps(enc.to_dict())))
    assert np.array_equal(again.transform([{"age": 70, "sex": "M", "site": "c"}])[0], x[:1])
    with pytest.raises(InputError, match="single value"):
        ClinicalEncoder.fit([{"sex": "M"}, {"sex": "M"}], ["sex"])
    with pytest.raises(InputError, match="no values"):
        ClinicalEncoder.fit([{"age": ""}], ["age"])
    assert parse_columns(" age, sex ,") == ("age", "sex") and parse_columns(None) == ()
    with pytest.raises(InputError, match="twice"):
        parse_columns("age,age")


def test_age_strings_and_dicom_header(fixtures_dir):
    assert [parse_age(a) for a in ("061Y", "62", "018M", "026W", "365D", "", "6OY")] == [61.0, 62.0, 1.5, 0.4983,
                                                                                         0.9993, None, None]
    # the real CR fixture says PatientAge '62', PatientSex 'M'; a PNG has no header
    assert dicom_clinical(fixtures_dir / "cxr" / DCM) == {"age": 62.0, "sex": "M"}
    assert dicom_clinical(fixtures_dir / "cxr" / "00000001_000.png") == {}


def test_clinical_csv_matching(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.png").write_bytes(b"")
    (tmp_path / "c.csv").write_text("path,age,sex\nsub/a.png,71,F\n/elsewhere/b.png,55,\n,1,M\n")
    monkeypatch.chdir(tmp_path / "sub")  # relative paths: the working folder first, then the CSV's folder
    by_path, by_name = read_clinical_csv(tmp_path / "c.csv")
    assert by_path[str((tmp_path / "sub" / "a.png").resolve())] == {"age": 71.0, "sex": "F"}
    assert by_name["b.png"] == {"age": 55.0}
    (tmp_path / "bad.csv").write_text("age,sex\n70,M\n")
    with pytest.raises(InputError, match="image column"):
        read_clinical_csv(tmp_path / "bad.csv")


@pytest.fixture(scope="module")
def noise_cohort(tmp_path_factory):
    """Identical blank radiographs whose CAC depends only on age: all there is to learn is in the age column."""
    root = tmp_path_factory.mktemp("clin")
    rng = np.random.default_rng(3)
    rows = []
    for i in range(48):
        age = float(rng.uniform(40, 80))
        sex = "M" if i % 2 else "F"
        cac = float(rng.uniform(10, 500)) if age > 60 else 0.0
        p = write_png(Radiograph(np.full((40, 40), 0.5, np.float32), (1.0, 1.0), {}), root / f"img{i:02d}.png")
        rows.append([p.name, f"p{i:02d}", f"{cac:g}", f"{age:.1f}", sex])
    with open(root / "labels.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "patient_id", "cac", "age", "sex"])
        w.writerows(rows)
    return root


def _train(root, out, *extra):
    return main(["train", "cxr", "--data", str(root / "labels.csv"), "-o", str(out), "--arch", "resnet18",
                 "--width", "0.25", "--kfold", "2", "--epochs", "6", "--size", "32", "--batch-size", "8",
                 "--lr", "0.05", "--no-augment", "--no-equalize", "--n-boot", "20", "--threads", "1", "--seed", "0",
                 *extra])


def test_training_uses_the_clinical_columns(noise_cohort, tmp_path):
    assert _train(noise_cohort, tmp_path / "img", ) == 0
    assert _train(noise_cohort, tmp_path / "clin", "--clinical", "age,sex", "--save") == 0
    image_only = json.loads((tmp_path / "img" / "cv_metrics.json").read_text())["pooled"]["auroc_cac_gt0"]["value"]
    fused = json.loads((tmp_path / "clin" / "cv_metrics.json").read_text())["pooled"]["auroc_cac_gt0"]["value"]
    assert image_only == pytest.approx(0.5, abs=0.05) and fused >= 0.95, (fused, image_only)
    cfg = json.loads((tmp_path / "clin" / "config.json").read_text())
    assert cfg["clinical"] == ["age", "sex"]
    model = load_model(tmp_path / "clin" / "model.pt")
    assert model.clinical is not None and model.clinical.feature_names == ["age", "sex=M"]
    # the saved model reproduces the fused predictions; age moves P(CAC > 0) the way the data do
    x = np.random.default_rng(1).random((2, 1, 32, 32)).astype(np.float32)
    c, _ = model.clinical.transform([{"age": 45, "sex": "F"}, {"age": 75, "sex": "F"}])
    p = model.interpret(model.outputs(np.repeat(x[:1], 2, axis=0), clinical=c))["p_cac_gt0"]
    assert p[1] > p[0]
    with pytest.raises(Exception, match="clinical inputs"):
        model.outputs(x)
    # a column the CSV lacks: one clear line, exit 2
    assert _train(noise_cohort, tmp_path / "bad", "--clinical", "age,bmi") == 2


def _cxr_with_one_imputed(files, model, out, capsys, *extra):
    """``hounsfield cxr`` with a model taking age and sex, on inputs of which one lacks them: the output rows."""
    capsys.readouterr()
    assert main(["cxr", *map(str, files), "--csv", str(out), "--model", model, "--threads", "1", *extra]) == 0
    err = capsys.readouterr().err
    assert "clinical inputs: age, sex" in err and "1 image(s) lacked clinical values" in err
    return list(csv.DictReader(open(out)))


def test_inference_with_header_values_csv_and_imputation(noise_cohort, tmp_path, fixtures_dir, capsys):
    out = tmp_path / "clin"
    assert _train(noise_cohort, out, "--clinical", "age,sex", "--save") == 0
    files = [fixtures_dir / "cxr" / n for n in (DCM, "00000001_000.png", "00027426_000.png")]
    values = tmp_path / "values.csv"
    values.write_text("image,age,sex\n00000001_000.png,58,M\n")  # matched by file name
    rows = _cxr_with_one_imputed(files, str(out / "model.pt"), tmp_path / "pred.csv", capsys, "--clinical", str(values))
    assert [r["clinical"] for r in rows] == ["age=62.0;sex=M", "age=58.0;sex=M", ""]
    assert [r["clinical_imputed"] for r in rows] == ["", "", "age;sex"]
    assert all(0 <= float(r["p_cac_gt0"]) <= 1 for r in rows)
    # the same image with the same values gives the same probability whichever way the values came
    model = load_model(out / "model.pt")
    from hounsfield.cxr.predict import predict_files

    direct = predict_files([files[0]], model, clinical={str(files[0]): {"age": 62.0, "sex": "M"}})
    assert direct[0]["p_cac_gt0"] == pytest.approx(float(rows[0]["p_cac_gt0"]), abs=1e-6)


def test_bundled_clinical_model_on_the_real_fixtures(fixtures_dir, tmp_path, capsys):
    """cxr-cac-clinical: the real DICOMs give their header's age and sex, the PNGs are imputed and said so."""
    from hounsfield.models.registry import load_entry, model_path

    files = [fixtures_dir / "cxr" / n for n in (DCM, "Fake_MONOHR1.dcm", "00000001_000.png")]
    rows = _cxr_with_one_imputed(files, "cxr-cac-clinical", tmp_path / "o.csv", capsys)
    assert [r["clinical"] for r in rows] == ["age=62.0;sex=M", "age=62.0;sex=M", ""]
    assert [r["clinical_imputed"] for r in rows] == ["", "", "age;sex"]
    assert all(0.0 <= float(r["p_cac_gt0"]) <= 1.0 for r in rows)
    assert all("age, sex (late fusion)" in r["trained_on"] and "no real radiograph" in r["trained_on"] for r in rows)
    entry = load_entry("cxr-cac-clinical")
    assert "--clinical age,sex" in entry.command and entry.metrics["external_held_out"]["n"] == 500
    model = load_model(model_path("cxr-cac-clinical"))
    assert model.clinical.names == ["age", "sex"] and model.network == {"width": 0.25, "stem_stride": 2}
    # age moves the probability the way the training data do (older: more calcium), the image held fixed
    from hounsfield.cxr.io import read_radiograph
    from hounsfield.cxr.preprocess import preprocess

    x = preprocess(read_radiograph(files[0]), model.preprocess)[None, None]
    c, _ = model.clinical.transform([{"age": 45, "sex": "M"}, {"age": 80, "sex": "M"}])
    p = model.interpret(model.outputs(np.repeat(x, 2, axis=0), clinical=c))["p_cac_gt0"]
    assert p[1] > p[0] + 0.1


def test_aux_loss_by_hand():
    import torch

    from hounsfield.cxr.train import _aux_loss

    out = torch.zeros((1, 2))
    binary = torch.tensor([False, True])
    both = _aux_loss(out, np.array([[1.0, 1.0]], np.float32), np.array([[1.0, 1.0]], np.float32), binary)
    assert float(both) == pytest.approx((1.0 + np.log(2.0)) / 2)  # squared error 1, BCE(logit 0, 1) = ln 2
    only_num = _aux_loss(out, np.array([[1.0, 1.0]], np.float32), np.array([[1.0, 0.0]], np.float32), binary)
    assert float(only_num) == pytest.approx(1.0)  # the masked (missing) value is left out


@pytest.fixture(scope="module")
def bright_age_cohort(tmp_path_factory):
    """Films whose brightness is the age (black and white bands fix the window); one age missing; sex random;
    CAC > 0 above 62 years."""
    root = tmp_path_factory.mktemp("aux")
    rng = np.random.default_rng(5)
    rows = []
    for i in range(48):
        age = float(rng.uniform(40, 85))
        img = np.full((40, 40), (age - 35) / 60, np.float32)
        img[:4], img[-4:] = 0.0, 1.0
        p = write_png(Radiograph(img, (1.0, 1.0), {}), root / f"img{i:02d}.png")
        rows.append([p.name, f"p{i:02d}", "50" if age > 62 else "0", "" if i == 7 else f"{age:.1f}",
                     "M" if rng.random() < 0.5 else "F"])
    with open(root / "labels.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "patient_id", "cac", "age", "sex"])
        w.writerows(rows)
    return root


def test_auxiliary_targets_are_learnt_and_predicted(bright_age_cohort, tmp_path, fixtures_dir):
    from scipy.stats import spearmanr

    out = tmp_path / "aux"
    assert main(["train", "cxr", "--data", str(bright_age_cohort / "labels.csv"), "-o", str(out), "--arch",
                 "resnet18", "--width", "0.25", "--kfold", "2", "--epochs", "12", "--size", "32", "--batch-size", "8",
                 "--lr", "0.01", "--no-augment", "--no-equalize", "--n-boot", "20", "--threads", "1", "--seed", "0",
                 "--aux", "age,sex", "--save"]) == 0
    preds = list(csv.DictReader(open(out / "predictions.csv")))
    labels = {r["patient_id"]: r for r in csv.DictReader(open(bright_age_cohort / "labels.csv"))}
    known = [p for p in preds if labels[p["patient_id"]]["age"]]
    rho = spearmanr([float(p["aux_age"]) for p in known], [float(labels[p["patient_id"]]["age"]) for p in known])[0]
    assert rho > 0.8, rho  # out-of-fold: the brightness was learnt as the age
    assert all(0 <= float(p["aux_sex=M"]) <= 1 for p in preds)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["aux"] == ["age", "sex"] and cfg["aux_weight"] == 0.5
    model = load_model(out / "model.pt")
    assert model.aux.feature_names == ["age", "sex=M"] and model.n_outputs == 5
    pred = tmp_path / "p.csv"
    assert main(["cxr", str(fixtures_dir / "cxr" / DCM), "--csv", str(pred), "--model", str(out / "model.pt"),
                 "--threads", "1"]) == 0
    (row,) = list(csv.DictReader(open(pred)))
    assert row["aux"].startswith("age=") and ";sex=M=" in row["aux"] and 0 <= float(row["p_cac_gt0"]) <= 1
    # a column cannot be both an input and a target; a missing column is one error line
    assert _train(bright_age_cohort, tmp_path / "x", "--aux", "age", "--clinical", "age") == 2
    assert _train(bright_age_cohort, tmp_path / "y", "--aux", "bmi") == 2
