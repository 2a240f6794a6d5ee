"""The built-in heart/bone segmenter: training command, registration, and the bundled model on an unseen phantom."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from hounsfield.anatomy import heart_region
from hounsfield.anatomy.heart_model import _largest_heart, coarse_grid, load_heart_model
from hounsfield.cli import main
from hounsfield.models.registry import checksum
from hounsfield.phantoms import generate_patient
from hounsfield.phantoms.tissues import O
from hounsfield.phantoms.writers import write_patient

pytest.importorskip("monai")


@pytest.fixture(scope="module")
def unseen_patient():
    # cohort seed 91 is used by no training run (the bundled model: seeds 1000 and 1500)
    return generate_patient(91, 0, matrix=160, gated_matrix=160, coverage="chest")


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / (a.sum() + b.sum()))


def test_bundled_segmenter_finds_the_heart_of_an_unseen_phantom(unseen_patient):
    net = load_heart_model()
    assert net is not None, "the heart-bones model is bundled"
    assert "synthetic" in net.info["trained_on"]
    for exam in (unseen_patient.gated, unseen_patient.non_gated):
        c = coarse_grid(exam.ct)
        ref = coarse_grid(exam.ct.with_array((exam.organ == O.HEART).astype(np.float32))).array >= 0.5
        learned = _largest_heart(net.predict(c))
        hr = heart_region(exam.ct)  # learned heart united with the heuristic's
        rule = heart_region(exam.ct, model=None)
        assert hr.source.startswith("built-in heart/bone segmenter") and hr.source.endswith("+ builtin heuristic")
        assert rule.source == "builtin heuristic"
        # measured on this patient: learned Dice 0.90 / 0.94, heuristic 0.75 / 0.67; the union covers >= 0.90
        assert _dice(learned, ref) > 0.85
        assert _dice(learned, ref) > _dice(rule.heart.array > 0, ref) + 0.1
        covered = (hr.heart.array > 0)[ref].mean()
        assert covered > 0.88 and covered >= (learned[ref]).mean()


def test_real_cta_falls_back_to_the_heuristic():
    """On the real CTA crop the synthetic-trained model finds < 150 mL of heart: the heuristic's region is used."""
    from tests.conftest import fixture_path

    from hounsfield.io import read

    hr = heart_region(read(fixture_path("ct_heart_cta", "ct.nii.gz")))
    assert hr.source == "builtin heuristic" and hr.median_hu > 300


def _tiny_cohort(folder):
    """Two small chest phantoms (four exams) written as 'hounsfield phantom chest' does."""
    for i in range(2):
        p = generate_patient(5, i, matrix=64, gated_matrix=64, coverage="chest", max_slices=60)
        write_patient(p, folder / p.patient_id)
    return folder


def test_train_heart_command_registers_a_model_that_loads(tmp_path):
    data = _tiny_cohort(tmp_path / "cohort")
    out = tmp_path / "model"
    rc = main(["train", "heart", "--data", str(data), "-o", str(out), "--epochs", "1", "--slices-per-epoch", "32",
               "--batch-size", "8", "--seed", "1"])
    assert rc == 0
    manifest = json.loads((out / "manifest.json").read_text())
    (entry,) = manifest["models"]
    assert entry["name"] == "heart-bones" and entry["sha256"] == checksum(out / entry["file"])
    assert entry["metrics"]["n_exams"] == 4 and entry["config"]["seed"] == 1
    net = load_heart_model(models_dir=out)
    pred = net.predict(coarse_grid(generate_patient(5, 0, matrix=64, gated_matrix=64, coverage="chest",
                                                    max_slices=60).gated.ct))
    assert pred.dtype == np.uint8 and set(np.unique(pred)) <= {0, 1, 2}


def test_large_bright_plaques_stay_in_the_search_region():
    """The network calls big calcified plaques 'bone'; only large bone pieces are removed from the region."""
    import dataclasses

    from hounsfield.calcium import analyse
    from hounsfield.phantoms.patient import sample_params

    p = dataclasses.replace(sample_params(92, 0), cac_burden=3000.0)
    pat = generate_patient(92, 0, matrix=160, gated_matrix=160, coverage="chest", params=p)
    r = analyse(pat.gated.ct, mode="gated")
    ct = pat.gated.ct.to_ras()
    cal = pat.gated.ct.with_array(pat.gated.calcium).to_ras().array
    coronary = (cal >= 1) & (cal <= 4) & (ct.array >= 130)
    assert coronary.sum() > 100  # a heavy burden, as in patients with Agatston > 1000
    region = r.region_map.resample_like(ct, order=0).array > 0
    assert region[coronary].mean() > 0.97


@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun (PyTorch) is not on PATH")
def test_train_heart_under_torchrun_two_cpu_processes(tmp_path):
    """The real command under torchrun (2 CPU processes, Gloo): rank 0 alone validates, registers and reports."""
    data = _tiny_cohort(tmp_path / "cohort")
    out = tmp_path / "model"
    cmd = [shutil.which("torchrun"), "--standalone", "--nproc_per_node", "2", "-m", "hounsfield", "train", "heart",
           "--data", str(data), "-o", str(out), "--epochs", "2", "--slices-per-epoch", "32", "--batch-size", "8",
           "--seed", "1", "--device", "cpu"]
    res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("validation Dice heart") == 1  # one report, from rank 0
    (entry,) = json.loads((out / "manifest.json").read_text())["models"]
    assert entry["config"]["distributed"] == {"world_size": 2, "device": "cpu", "backend": "gloo"}
    assert [h["epoch"] for h in entry["metrics"]["history"]] == [1, 2]
    net = load_heart_model(models_dir=out)
    assert net is not None
