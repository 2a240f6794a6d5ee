"""The three commands end to end on real files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hounsfield.cli import main
from hounsfield.io import read

from ..conftest import fixture_path


def test_vertebrae_then_evaluate(tmp_path, capsys):
    ct = fixture_path("ct_abdomen", "ct.nii.gz")
    out = tmp_path / "pred" / "abdomen.json"
    code = main(["vertebrae", str(ct), "--json", str(out), "--labels", str(tmp_path / "lab.nii.gz"),
                 "--ctd", str(tmp_path / "abdomen_ctd.json")])
    assert code == 0
    data = json.loads(out.read_text())
    names = [v["label"] for v in data["vertebrae"]]
    assert {"S1", "L5", "L4", "L3", "L2", "L1", "T12"} <= set(names)
    assert all(len(v["centroid_mm"]) == 3 and 0 < v["confidence"] <= 1 for v in data["vertebrae"])
    # the ctd file holds the same points in voxel units of the input (RAS, 3 mm)
    ctd = json.loads((tmp_path / "abdomen_ctd.json").read_text())
    assert ctd[0] == {"direction": ["R", "A", "S"]}
    vol = read(ct)
    first = next(v for v in data["vertebrae"] if v["label"] == "L3")
    row = next(r for r in ctd[1:] if r["label"] == 22)
    assert np.allclose(vol.world([row["X"], row["Y"], row["Z"]]), first["centroid_mm"], atol=0.2)
    lab = read(tmp_path / "lab.nii.gz")
    assert lab.shape == vol.shape and 22 in np.unique(lab.array)

    truth = tmp_path / "truth"
    truth.mkdir()
    (truth / "abdomen_totalseg.nii.gz").symlink_to(fixture_path("ct_abdomen", "vertebrae_totalseg.nii.gz"))
    capsys.readouterr()
    code = main(["evaluate", "vertebrae", str(tmp_path / "pred"), str(truth), "--labels", "T12-S1",
                 "--json", str(tmp_path / "eval.json")])
    assert code == 0
    text = capsys.readouterr().out
    assert "identification 100.0 %" in text and "  L3 [" in text
    summary = json.loads((tmp_path / "eval.json").read_text())["summary"]
    assert summary["n_vertebrae"] == 7 and summary["identification_rate"] == 1.0


def test_bad_input_is_one_line(tmp_path, capsys):
    code = main(["vertebrae", str(tmp_path / "missing.nii.gz"), "--json", str(tmp_path / "o.json")])
    assert code != 0
    assert "error:" in capsys.readouterr().err


@pytest.mark.slow
def test_train_on_one_phantom(tmp_path):
    from hounsfield.phantoms import generate_patient, write_patient

    r = generate_patient(seed=3, index=0, matrix=128, gated_matrix=32, coverage="abdomen", max_slices=80)
    write_patient(r, tmp_path / "data" / "patient_0000", formats=("nifti",))
    code = main(["train", "vertebrae", str(tmp_path / "data"), "-o", str(tmp_path / "models"), "--seed", "1"])
    assert code == 0
    manifest = json.loads((tmp_path / "models" / "manifest.json").read_text())
    assert manifest["models"][0]["name"] == "vertebrae-anatomical"
    assert (tmp_path / "models" / "vertebrae_anatomical.config.json").exists()
