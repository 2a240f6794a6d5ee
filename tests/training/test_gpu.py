"""Training and inference on a GPU (skipped where torch sees none, as in CI; run on a lent GPU machine).

What the CPU tests cannot show: that ``--device cuda`` trains on the GPU end to end, that the fold model's test
predictions made on the GPU are those of the saved model on the CPU (up to TF32 round-off), that ``hounsfield cxr
--device cuda`` agrees with the CPU, and that torchrun with more processes than GPUs is one clear line.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hounsfield.cli import main  # noqa: E402

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU visible to torch")


@pytest.fixture(scope="module")
def gpu_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gpu")
    data = tmp / "drr"
    assert main(["phantom", "cxr", "--simple", "24", "--seed", "5", "--p-zero", "0.5", "-o", str(data)]) == 0
    out = tmp / "run"
    assert main(["train", "cxr", "--data", str(data / "labels.csv"), "-o", str(out), "--arch", "resnet18",
                 "--width", "0.25", "--stem-stride", "2", "--kfold", "3", "--max-folds", "1", "--epochs", "2",
                 "--size", "64", "--batch-size", "4", "--n-boot", "20", "--device", "cuda", "--seed", "3",
                 "--save"]) == 0
    return data, out


def test_train_on_the_gpu_then_predict_on_the_cpu(gpu_run, tmp_path):
    data, out = gpu_run
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["device"] == "cuda" and cfg["distributed"]["device"] == "cuda"
    rows = [r for r in csv.DictReader(open(out / "predictions.csv")) if int(r["fold"]) == 0]
    assert rows
    # the saved model, on the CPU, from the image files: the same probabilities as the fold's GPU predictions
    # (inputs re-read in float32 instead of the float16 cache, TF32 convolutions on the GPU)
    pred = tmp_path / "cpu.csv"
    assert main(["cxr", *[str(data / r["image"]) for r in rows], "--csv", str(pred), "--model",
                 str(out / "model.pt"), "--device", "cpu"]) == 0
    cpu = {os.path.basename(r["image"]): float(r["p_cac_gt0"]) for r in csv.DictReader(open(pred))}
    gpu = {os.path.basename(r["image"]): float(r["p_cac_gt0"]) for r in rows}
    diff = max(abs(cpu[k] - gpu[k]) for k in gpu)
    assert diff < 5e-3, diff


def test_cxr_inference_on_the_gpu_equals_the_cpu(gpu_run, tmp_path):
    data, out = gpu_run
    images = sorted(str(p) for p in (data / "images").glob("*.png"))[:8]
    got = {}
    for dev in ("cpu", "cuda"):
        assert main(["cxr", *images, "--csv", str(tmp_path / f"{dev}.csv"), "--model", str(out / "model.pt"),
                     "--device", dev]) == 0
        got[dev] = np.array([float(r["p_cac_gt0"]) for r in csv.DictReader(open(tmp_path / f"{dev}.csv"))])
    assert got["cpu"].shape == (8,)
    np.testing.assert_allclose(got["cuda"], got["cpu"], atol=2e-3)


@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun (PyTorch) is not on PATH")
def test_more_processes_than_gpus_is_one_line(gpu_run, tmp_path):
    data, _ = gpu_run
    n = torch.cuda.device_count() + 1
    cmd = [shutil.which("torchrun"), "--standalone", "--nproc_per_node", str(n), "-m", "hounsfield", "train", "cxr",
           "--data", str(data / "labels.csv"), "-o", str(tmp_path / "run"), "--epochs", "1", "--size", "64",
           "--device", "cuda"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode != 0
    assert f"torchrun started {n} processes on this machine but torch sees {n - 1} GPU(s)" in res.stderr
