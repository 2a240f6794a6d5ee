"""End-to-end: synthetic radiographs -> k-fold training (classify, regress) -> saved model -> inference CLI."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from hounsfield.cli import main
from hounsfield.cxr.model import ARCHS, build_network, load_model
from hounsfield.errors import HounsfieldError

DCM = "1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm"


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("cxr") / "drr"
    assert main(["phantom", "cxr", "--simple", "12", "--seed", "5", "--p-zero", "0.5", "-o", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def trained(cohort, tmp_path_factory):
    out = tmp_path_factory.mktemp("cxr") / "train"
    code = main(["train", "cxr", "--data", str(cohort / "labels.csv"), "-o", str(out), "--task", "classify",
                 "--arch", "efficientnet-b0", "--kfold", "3", "--epochs", "2", "--size", "64", "--batch-size", "4",
                 "--viz", "--save", "--n-boot", "50", "--threads", "1", "--seed", "1"])
    assert code == 0
    return out


def test_cohort_labels(cohort):
    rows = list(csv.DictReader(open(cohort / "labels.csv")))
    assert len(rows) == 12 and {r["patient_id"] for r in rows} == {f"torso0005_{i:05d}" for i in range(12)}
    info = json.loads((cohort / "cohort.json").read_text())
    assert info["n"] == 12 and 0 < info["n_cac_gt0"] < 12


def test_cross_validation_outputs(trained, cohort):
    m = json.loads((trained / "cv_metrics.json").read_text())
    assert len(m["folds"]) == 3 and m["n_images"] == 12
    for key in ("auroc_cac_gt0", "cac_gt0_at_threshold", "kappa_linear", "calibration_p_cac_gt0", "spearman",
                "confusion_categories"):
        assert key in m["pooled"]
    a = m["pooled"]["auroc_cac_gt0"]
    assert 0 <= a["value"] <= 1 and a["ci95"][0] <= a["value"] <= a["ci95"][1]
    b = m["pooled"]["cac_gt0_at_threshold"]
    assert b["tp"] + b["fp"] + b["tn"] + b["fn"] == 12
    assert "synthetic" in m["trained_on"]
    # folds: patients never shared between inner-train, validation and test
    folds = json.loads((trained / "folds.json").read_text())
    tested = []
    for f in folds:
        tr, va, te = set(f["inner_train_groups"]), set(f["validation_groups"]), set(f["test_groups"])
        assert va and te and not (tr & va) and not (tr & te) and not (va & te)
        tested += f["test_groups"]
    assert len(tested) == len(set(tested)) == 12
    # the selected epoch is the one with the lowest VALIDATION loss (the test fold is not consulted)
    hist = list(csv.DictReader(open(trained / "history.csv")))
    for fold in {h["fold"] for h in hist}:
        rows = [h for h in hist if h["fold"] == fold]
        best = min(rows, key=lambda h: float(h["val_loss"]))
        assert [h["epoch"] for h in rows if h["selected"] == "True"] == [best["epoch"]]
    preds = list(csv.DictReader(open(trained / "predictions.csv")))
    assert len(preds) == 12 and all(0 <= float(p["p_cac_gt0"]) <= 1 for p in preds)
    for fig in ("loss_curves.png", "roc_cac_gt0.png", "confusion_categories.png", "confusion_cac_gt0.png"):
        assert (trained / fig).stat().st_size > 1000
    cfg = json.loads((trained / "model.json").read_text())
    assert cfg["preprocess"] == {"size": 64, "resize": 78, "equalize": True, "bins": 4096}


def test_inference_on_real_fixtures(trained, fixtures_dir, tmp_path):
    files = [fixtures_dir / "cxr" / n for n in ("00000001_000.png", "00027426_000.png", DCM, "Fake_MONOHR1.dcm")]
    out = tmp_path / "pred.csv"
    assert main(["cxr", *map(str, files), "--csv", str(out), "--model", str(trained / "model.pt"),
                 "--json", str(tmp_path / "pred.json"), "--threads", "1"]) == 0
    rows = list(csv.DictReader(open(out)))
    assert [r["image"] for r in rows] == [str(f) for f in files]
    for r in rows:
        assert 0.0 <= float(r["p_cac_gt0"]) <= 1.0
        assert r["category_name"] in ("0", "1-99", "100-399", ">=400")
        assert "synthetic" in r["trained_on"]
    assert json.loads((tmp_path / "pred.json").read_text())["trained_on"].startswith("synthetic")


def test_regression_task_end_to_end(cohort, tmp_path):
    out = tmp_path / "reg"
    assert main(["train", "cxr", "--data", str(cohort / "labels.csv"), "-o", str(out), "--task", "regress",
                 "--arch", "resnet18", "--kfold", "2", "--epochs", "1", "--size", "64", "--batch-size", "4",
                 "--save", "--n-boot", "20", "--threads", "1", "--no-augment"]) == 0
    m = json.loads((out / "cv_metrics.json").read_text())
    assert m["task"] == "regress" and m["pooled"]["mae_log_cac"] >= 0
    model = load_model(out / "model.pt")
    assert model.task == "regress" and model.standardiser is not None and model.platt is not None
    x = np.random.default_rng(0).random((3, 1, 64, 64)).astype(np.float32)
    res = model.interpret(model.outputs(x))
    assert np.all((res["score"] >= 0) & (res["score"] <= 2000)) and np.all((res["p_cac_gt0"] >= 0) & (res["p_cac_gt0"] <= 1))


def test_heart_region_and_max_folds(cohort, tmp_path):
    out = tmp_path / "one"
    assert main(["train", "cxr", "--data", str(cohort / "labels.csv"), "-o", str(out), "--arch", "efficientnet-b0",
                 "--kfold", "3", "--max-folds", "1", "--epochs", "1", "--size", "48", "--batch-size", "4",
                 "--region", "heart", "--bn-images", "4", "--save", "--n-boot", "20", "--threads", "1"]) == 0
    m = json.loads((out / "cv_metrics.json").read_text())
    assert len(m["folds"]) == 1 and m["pooled"]["n_images"] == len(json.loads((out / "folds.json").read_text())[0]["test_groups"])
    model = load_model(out / "model.pt")
    assert model.preprocess.region == (0.18, 0.72, 0.23, 0.77) and model.preprocess.size == 48
    assert main(["train", "cxr", "--data", str(cohort / "labels.csv"), "-o", str(out), "--region", "1,2"]) == 2
    assert main(["train", "cxr", "--data", str(cohort / "labels.csv"), "-o", str(out), "--max-folds", "9"]) == 2


@pytest.mark.parametrize("arch", ARCHS)
def test_networks_build_and_run(arch):
    import torch

    net = build_network(arch, 3).eval()
    with torch.inference_mode():
        assert tuple(net(torch.zeros(2, 1, 64, 64)).shape) == (2, 3)


def test_pretrained_needs_local_file(tmp_path):
    import torch

    with pytest.raises(HounsfieldError, match="cannot be downloaded"):
        build_network("resnet18", 1, pretrained=True)
    src = build_network("resnet18", 5)
    torch.save(src.state_dict(), tmp_path / "init.pt")
    net = build_network("resnet18", 1, pretrained=True, init=tmp_path / "init.pt")
    key = "conv1.weight"
    assert torch.equal(net.state_dict()[key], src.state_dict()[key])   # encoder copied, head left random


def test_cli_errors(tmp_path, capsys):
    assert main(["cxr", str(tmp_path / "nope.png"), "--csv", str(tmp_path / "o.csv"), "--model", "x.pt"]) == 2
    assert main(["train", "cxr", "--data", str(tmp_path / "none.csv"), "--arch", "vgg"]) == 2
    assert main(["phantom", "cxr", "-o", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "error:" in err
    # a device that does not exist, and cuda where torch sees no GPU: one line each, before any image is read
    assert main(["cxr", str(tmp_path / "nope.png"), "--csv", str(tmp_path / "o.csv"), "--device", "tpu"]) == 2
    assert "--device must be one of auto, cpu, cuda, got 'tpu'" in capsys.readouterr().err
    import torch

    if not torch.cuda.is_available():
        assert main(["cxr", str(tmp_path / "nope.png"), "--csv", str(tmp_path / "o.csv"), "--device", "cuda"]) == 2
        assert "no GPU is visible" in capsys.readouterr().err


def test_bundled_model_is_the_default(fixtures_dir, tmp_path, capsys):
    files = [fixtures_dir / "cxr" / n for n in ("00000001_000.png", "00027426_000.png", DCM, "Fake_MONOHR1.dcm")]
    out = tmp_path / "o.csv"
    assert main(["cxr", *map(str, files), "--csv", str(out), "--threads", "1"]) == 0
    err = capsys.readouterr().err
    assert "cxr-cac" in err and "synthetic" in err and "research use only" in err
    rows = list(csv.DictReader(open(out)))
    assert len(rows) == 4
    for r in rows:
        assert 0.0 <= float(r["p_cac_gt0"]) <= 1.0 and r["model"].startswith("cxr-cac")
        assert r["trained_on"].startswith("synthetic") and "no real radiograph" in r["trained_on"]
    model = load_model(__import__("hounsfield.models.registry", fromlist=["x"]).model_path("cxr-cac"))
    assert model.arch == "resnet18" and model.network == {"width": 0.25, "stem_stride": 2}
    assert model.preprocess.size == 224 and model.preprocess.region is not None and not model.preprocess.equalize
    assert main(["cxr", str(files[0]), "--csv", str(out), "--model", "no-such-model"]) == 2


def test_batchnorm_recalibration_matches_batch_statistics():
    """Eval-mode outputs after recalibration equal train-mode (batch-statistics) outputs."""
    import torch

    from hounsfield.training.weights import recalibrate_batchnorm

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 1))
    x = (np.random.default_rng(0).random((256, 1, 8, 8)) * 5 + 3).astype(np.float32)  # far from the init stats
    net.eval()
    with torch.no_grad():
        stale = net(torch.as_tensor(x)).numpy()
        net.train()
        batch = net(torch.as_tensor(x)).numpy()
    recalibrate_batchnorm(net, x, batch_size=256)
    with torch.no_grad():
        fixed = net(torch.as_tensor(x)).numpy()
    assert not net.training
    assert np.abs(fixed - batch).max() < 0.02 * np.abs(batch).max() < np.abs(stale - batch).max()
