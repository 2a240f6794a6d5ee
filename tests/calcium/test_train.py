"""``hounsfield train calcium`` on user data (nnU-Net layout, orCaScore labels) and use of the trained model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hounsfield.calcium.train import ORCASCORE_MAP, discover_cases
from hounsfield.cli import main
from hounsfield.errors import InputError
from hounsfield.io import write_nifti
from hounsfield.volume import Volume

from .toy_chest import PLAQUE_CENTRES_MM, toy_chest


def orcascore_labels(v: Volume) -> np.ndarray:
    """Plaque 1 is 'LAD' (orCaScore 1), plaque 2 'RCA' (orCaScore 3)."""
    ijk = np.indices(v.shape).reshape(3, -1).T
    xyz = v.world(ijk)
    lab = np.zeros(v.shape, np.uint8).ravel()
    for value, (cx, cy) in zip((1, 3), PLAQUE_CENTRES_MM):
        near = (np.abs(xyz[:, 0] - cx) < 2) & (np.abs(xyz[:, 1] - cy) < 2) & (xyz[:, 2] > 56) & (xyz[:, 2] < 61)
        lab[near] = value
    return lab.reshape(v.shape)


@pytest.fixture(scope="module")
def user_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("orcascore")
    for i, dz in enumerate((3.0, 1.5)):
        v = toy_chest(dz)
        write_nifti(v, root / "imagesTr" / f"case{i}_0000.nii.gz")
        write_nifti(Volume(orcascore_labels(v), v.affine), root / "labelsTr" / f"case{i}.nii.gz")
    return root


def test_discover_user_cases(user_data):
    cases = discover_cases(user_data, labels="orcascore")
    assert [c.case_id for c in cases] == ["case0", "case1"]
    assert cases[0].mapping == ORCASCORE_MAP
    with pytest.raises(InputError, match="orcascore"):
        discover_cases(user_data)


def test_train_then_score_with_the_model(user_data, tmp_path, capsys):
    out = tmp_path / "model"
    rc = main(["train", "calcium", "--data", str(user_data), "--labels", "orcascore", "-o", str(out), "--seed", "3"])
    assert rc == 0, capsys.readouterr().err
    manifest = json.loads((out / "manifest.json").read_text())
    entry = manifest["models"][0]
    assert entry["name"] == "calcium-lesions" and len(entry["sha256"]) == 64 and "user data" in entry["trained_on"]
    assert entry["metrics"]["n_candidates"] == 4 and entry["config"]["seed"] == 3
    assert (out / "calcium-lesions.config.json").exists()
    src = write_nifti(toy_chest(3.0), tmp_path / "ct.nii.gz")
    rc = main(["calcium", str(src), "--models", str(out), "--json", str(tmp_path / "r.json")])
    assert rc == 0, capsys.readouterr().err
    d = json.loads((tmp_path / "r.json").read_text())
    # the training exams themselves: the model names the two plaques as labelled (LAD, RCA)
    assert d["regions"]["LAD"]["agatston"] == pytest.approx(27.0) and d["regions"]["RCA"]["agatston"] == pytest.approx(27.0)
    assert d["agatston"] == pytest.approx(54.0) and d["lesion_classifier"]["name"] == "calcium-lesions"


def test_candidate_cache_is_written_then_reused(user_data, tmp_path, capsys):
    cache = tmp_path / "cands.npz"
    shas = []
    for run in ("a", "b"):
        out = tmp_path / run
        rc = main(["train", "calcium", "--data", str(user_data), "--labels", "orcascore", "-o", str(out), "--seed", "3",
                   "--candidates", str(cache)])
        assert rc == 0, capsys.readouterr().err
        assert cache.exists()
        entry = json.loads((out / "manifest.json").read_text())["models"][0]
        shas.append(entry["sha256"])
        if run == "b":  # nothing extracted the second time
            assert entry["config"]["extract_seconds"] < 0.5
    assert shas[0] == shas[1]  # same candidates, same seed: the same model
