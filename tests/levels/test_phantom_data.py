"""Training data from 'hounsfield phantom chest' output: patient folders and its MIP archive agree."""

import os
import shutil
import subprocess

import numpy as np
import pytest

from hounsfield.cli import main
from hounsfield.levels.data import load_dataset
from hounsfield.levels.mip import MipGrid


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("phantoms")
    rc = main(["phantom", "chest", "--n", "1", "--seed", "3", "-o", str(out), "--matrix", "64", "--gated-matrix", "48",
               "--max-slices", "80", "--coverage", "abdomen", "--format", "nifti,mip"])
    assert rc == 0
    return out


def test_patient_folder_and_mip_archive_give_the_same_level_rows(cohort):
    import json

    truth = json.loads(next(cohort.rglob("truth.json")).read_text())["levels"]
    grid = MipGrid()
    (ex,) = load_dataset([cohort / "patient_0000"], grid)        # computed here from non_gated.nii.gz
    assert ex.rows[1] == pytest.approx(ex.pair.z_to_row(truth["L3_z_mm"]))
    npz = next(cohort.rglob("*.npz"))
    (pub,) = load_dataset([npz], grid)                            # the sarcopenia-ai layout archive
    assert pub.pair.z_top_mm is None
    for j in range(2):
        if np.isfinite(ex.rows[j]):
            assert abs(pub.rows[j] - ex.rows[j]) <= 1.5, (j, pub.rows, ex.rows)
    # the same anatomy in both: bone profiles along z correlate
    a = ex.pair.frontal.max(axis=1)
    b = pub.pair.frontal.max(axis=1)
    n = min(len(a), len(b))
    assert np.corrcoef(np.clip(a[:n], 100, 1500), np.clip(b[:n], 100, 1500))[0, 1] > 0.8


def test_train_command_on_phantom_folder(cohort, tmp_path):
    rc = main(["train", "levels", "--data", str(cohort / "patient_0000"), "--data", str(next(cohort.rglob("*.npz"))),
               "-o", str(tmp_path / "run"), "--steps", "2", "--batch-size", "2", "--crop-rows", "32",
               "--val-every", "2", "--val-fraction", "0.5", "--seed", "4"])
    assert rc == 0
    import json

    conf = json.loads((tmp_path / "run" / "config.json").read_text())
    assert conf["command"].startswith("hounsfield train levels --data") and "--seed 4" in conf["command"]
    assert conf["config"]["seed"] == 4 and conf["n_train"] == 1
    assert (tmp_path / "run" / "levels_mip.pt").exists()


@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun (PyTorch) is not on PATH")
@pytest.mark.parametrize("max_minutes", ["0", "0.00001"])
def test_train_command_under_torchrun_two_cpu_processes(cohort, tmp_path, max_minutes):
    """The real command under torchrun (2 CPU processes, Gloo): rank 0 alone writes and reports; with a time limit
    both processes stop at the same step (if they did not, the gradient exchange would hang past the timeout)."""
    import json

    out = tmp_path / "ddp"
    npz = next(cohort.rglob("*.npz"))
    cmd = [shutil.which("torchrun"), "--standalone", "--nproc_per_node", "2", "-m", "hounsfield", "train", "levels",
           "--data", str(cohort / "patient_0000"), "--data", str(npz), "-o", str(out), "--steps", "4",
           "--batch-size", "4", "--crop-rows", "32", "--val-every", "2", "--val-fraction", "0.5", "--seed", "4",
           "--device", "cpu", "--max-minutes", max_minutes]
    res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    result = json.loads(res.stdout)  # one report (rank 0); the other process prints nothing
    conf = json.loads((out / "config.json").read_text())
    assert conf["distributed"] == {"world_size": 2, "device": "cpu", "backend": "gloo"}
    assert result["steps_run"] == (4 if max_minutes == "0" else 1)
    assert (out / "levels_mip.pt").exists()
