"""Training on several processes: torchrun + DDP (Gloo on CPU, on loopback), and the single-process fallback."""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess

import numpy as np
import pytest

from hounsfield.cli import main
from hounsfield.errors import InputError
from hounsfield.training.distributed import Dist, init_distributed, resolve_device, shard


def test_single_process_without_torchrun(monkeypatch):
    for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(k, raising=False)
    d = init_distributed("cpu")
    assert d == Dist(0, 1, 0, "cpu") and d.main and not d.enabled
    assert d.to_dict() == {"world_size": 1, "device": "cpu", "backend": None}


def test_device_names():
    import torch

    assert resolve_device("cpu") == "cpu"
    with pytest.raises(InputError, match="--device must be one of"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        assert resolve_device("auto") == "cpu"
        with pytest.raises(InputError, match="no GPU"):
            resolve_device("cuda")


def test_shards_cover_the_global_batch_once():
    batch = np.array([7, 3, 9, 1, 4])
    parts = [shard(batch, Dist(r, 2)) for r in range(2)]
    assert parts[0].tolist() == [7, 9, 4] and parts[1].tolist() == [3, 1]
    assert sorted(np.concatenate([shard(batch, Dist(r, 3)) for r in range(3)]).tolist()) == sorted(batch.tolist())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, out: str) -> None:
    import torch

    from hounsfield.training.distributed import all_reduce_sum, finish, wrap_ddp

    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": str(world),
                       "RANK": str(rank), "LOCAL_RANK": str(rank)})
    torch.set_num_threads(1)
    dist = init_distributed("cpu")
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 2)
    ddp = wrap_ddp(net, dist)
    g = np.random.default_rng(1)
    x, t = g.normal(size=(8, 3)).astype(np.float32), g.normal(size=(8, 2)).astype(np.float32)
    idx = shard(np.arange(8), dist)
    loss = torch.nn.functional.mse_loss(ddp(torch.from_numpy(x[idx])), torch.from_numpy(t[idx]))
    loss.backward()
    total = all_reduce_sum([float(loss) * len(idx), len(idx)], dist)
    if dist.main:
        np.savez(out, w=net.weight.grad.numpy(), b=net.bias.grad.numpy(), total=np.array(total))
    finish(dist)


def test_ddp_gradient_equals_the_single_process_gradient_of_the_global_batch(tmp_path):
    """Two Gloo processes, each on its half of a batch of 8: DDP's averaged gradient is the full batch's."""
    import torch
    import torch.multiprocessing as mp

    out = str(tmp_path / "grad.npz")
    for attempt in range(3):  # the free port can be taken by a parallel test's rendezvous before Gloo binds it
        try:
            mp.spawn(_ddp_worker, args=(2, _free_port(), out), nprocs=2, join=True)
            break
        except mp.ProcessExitedException:
            if attempt == 2:
                raise
    got = np.load(out)
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 2)
    g = np.random.default_rng(1)
    x, t = g.normal(size=(8, 3)).astype(np.float32), g.normal(size=(8, 2)).astype(np.float32)
    loss = torch.nn.functional.mse_loss(net(torch.from_numpy(x)), torch.from_numpy(t))
    loss.backward()
    np.testing.assert_allclose(got["w"], net.weight.grad.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got["b"], net.bias.grad.numpy(), rtol=1e-5, atol=1e-7)
    assert got["total"][1] == 8 and got["total"][0] == pytest.approx(float(loss.detach()) * 8, rel=1e-5)


@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun (PyTorch) is not on PATH")
def test_train_cxr_under_torchrun_two_cpu_processes(tmp_path):
    """The real command under torchrun: 2 CPU processes (Gloo on loopback); rank 0 alone writes and reports."""
    data = tmp_path / "drr"
    assert main(["phantom", "cxr", "--simple", "12", "--seed", "5", "--p-zero", "0.5", "-o", str(data)]) == 0
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [shutil.which("torchrun"), "--standalone", "--nproc_per_node", "2", "-m", "hounsfield", "train", "cxr",
           "--data", str(data / "labels.csv"), "-o", str(out), "--arch", "resnet18", "--width", "0.25",
           "--kfold", "2", "--epochs", "2", "--size", "64", "--batch-size", "4", "--n-boot", "20", "--threads", "1",
           "--save", "--cache", str(tmp_path / "cache.npz"), "--device", "cpu", "--seed", "3"]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("cv_metrics.json") == 1  # one report, from rank 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["distributed"] == {"world_size": 2, "device": "cpu", "backend": "gloo"}
    m = json.loads((out / "cv_metrics.json").read_text())
    assert len(m["folds"]) == 2 and m["pooled"]["n_images"] == 12 and m["distributed"]["world_size"] == 2
    rows = list(csv.DictReader(open(out / "predictions.csv")))
    assert len(rows) == 12
    # every fold's training ran on both processes: the global batch of 4 is split 2 + 2 (history per epoch once)
    hist = list(csv.DictReader(open(out / "history.csv")))
    assert len(hist) == 2 * 2
    # the saved model predicts in this (single) process, on the CPU
    from hounsfield.cxr.model import load_model
    from hounsfield.cxr.preprocess import preprocess
    from hounsfield.cxr.io import read_radiograph

    model = load_model(out / "model.pt")
    x = preprocess(read_radiograph(data / "images" / f"{rows[0]['patient_id']}.png"), model.preprocess)
    p = model.interpret(model.outputs(x[None, None]))["p_cac_gt0"][0]
    assert 0.0 <= p <= 1.0
    assert (tmp_path / "cache.npz").is_file()
