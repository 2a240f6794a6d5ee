"""End-to-end: phantom -> train (1 epoch, tiny) -> segment -> evaluate, through the CLI."""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from hounsfield.cli import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("clot")
    data = root / "data"
    assert main(["phantom", "head", "--n", "5", "--seed", "21", "-o", str(data), "--negatives", "0",
                 "--spacing", "1.5,1.5,3"]) == 0
    out = root / "model"
    args = ["train", "clot", "--data", str(data), "-o", str(out), "--epochs", "1", "--steps-per-epoch", "2",
            "--batch-size", "2", "--crop", "64", "--size", "128", "--spacing", "1.5,1.5,3", "--seed", "0", "--threads", "2"]
    assert main(args) == 0
    return data, out


def test_phantom_head_folders(trained):
    data, _ = trained
    cases = sorted(p.name for p in data.iterdir() if p.is_dir())
    assert cases == [f"head_{s:05d}" for s in range(21, 26)]
    for c in cases:
        assert {"cta.nii.gz", "ncct.nii.gz", "clot.nii.gz", "truth.json"} <= {p.name for p in (data / c).iterdir()}
    truth = json.loads((data / cases[0] / "truth.json").read_text())
    assert truth["seed"] == 21 and truth["volume_mm3"] > 0 and truth["location"]


def test_training_outputs_and_reused_splits(trained):
    data, out = trained
    for name in ("best.pt", "last.pt", "config.json", "history.json", "splits.json", "test_metrics.json"):
        assert (out / name).exists(), name
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["seed"] == 0 and cfg["epochs"] == 1 and cfg["preprocess"]["size"] == 128
    splits = json.loads((data / "splits.json").read_text())
    assert [len(splits[k]) for k in ("train", "val", "test")] == [3, 1, 1]
    assert json.loads((out / "test_metrics.json").read_text())["summary"]["n_patients"] == 1


def test_segment_and_evaluate_cli(trained, tmp_path):
    data, out = trained
    case = data / "head_00021"
    mask = tmp_path / "mask.nii.gz"
    js = tmp_path / "clot.json"
    assert main(["clot", "--cta", str(case / "cta.nii.gz"), "--ncct", str(case / "ncct.nii.gz"), "-o", str(mask),
                 "--json", str(js), "--model", str(out / "best.pt")]) == 0
    from hounsfield.io import read

    m, ref = read(mask), read(case / "cta.nii.gz")
    assert m.shape == ref.shape and np.allclose(m.affine, ref.affine)
    doc = json.loads(js.read_text())
    assert {"volume_mm3", "length_mm", "side", "segment", "detected"} <= set(doc["clot"])
    assert doc["inputs"]["cta_given"] and doc["inputs"]["ncct_given"]
    preds = tmp_path / "preds"
    assert main(["clot", "--data", str(data), "--split", "test", "-o", str(preds), "--model", str(out / "best.pt")]) == 0
    assert len(list(preds.glob("*.nii.gz"))) == 1
    assert main(["evaluate", "clot", str(preds), str(data), "--json", str(tmp_path / "ev.json")]) == 0
    ev = json.loads((tmp_path / "ev.json").read_text())
    assert ev["summary"]["n_patients"] == 1 and "dice" in next(iter(ev["cases"].values()))


def test_clear_errors(tmp_path, capsys):
    assert main(["clot", "-o", str(tmp_path / "m.nii.gz")]) != 0
    assert main(["evaluate", "clot", str(tmp_path), str(tmp_path)]) == 2
    assert "no case ids in common" in capsys.readouterr().err


def test_unknown_loss_is_one_line_before_any_preprocessing(trained, tmp_path, capsys):
    data, _ = trained
    assert main(["train", "clot", "--data", str(data), "-o", str(tmp_path / "m"), "--loss", "bogus",
                 "--epochs", "1", "--size", "128", "--spacing", "1.5,1.5,3"]) == 2
    err = capsys.readouterr().err
    assert "unknown loss 'bogus'" in err and "Traceback" not in err
    assert not (tmp_path / "m" / "last.pt").exists()


@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun (PyTorch) is not on PATH")
def test_train_under_torchrun_two_cpu_processes(trained, tmp_path):
    """The real command under torchrun (2 CPU processes, Gloo on loopback): rank 0 alone writes, tests, reports."""
    data, _ = trained
    out = tmp_path / "ddp"
    cmd = [shutil.which("torchrun"), "--standalone", "--nproc_per_node", "2", "-m", "hounsfield", "train", "clot",
           "--data", str(data), "-o", str(out), "--epochs", "2", "--steps-per-epoch", "2", "--batch-size", "4",
           "--crop", "64", "--size", "128", "--spacing", "1.5,1.5,3", "--seed", "0", "--threads", "1",
           "--device", "cpu"]
    res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("best.pt") == 1  # one report, from rank 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["distributed"] == {"world_size": 2, "device": "cpu", "backend": "gloo"}
    hist = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in hist] == [1, 2]  # written once per epoch, by rank 0
    assert (out / "test_metrics.json").is_file() and (out / "best.pt").is_file()
    from hounsfield.clot.predict import load_model

    model, mcfg, _ = load_model(out / "best.pt")
    assert mcfg["distributed"]["world_size"] == 2 and "postprocess" in mcfg
