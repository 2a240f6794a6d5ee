"""Training data from 'hounsfield phantom chest' output: patient folders and its MIP archive agree."""

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
