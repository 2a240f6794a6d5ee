"""Training: case discovery in the supported layouts and the parameter fit."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hounsfield.errors import InputError
from hounsfield.io import write
from hounsfield.vertebrae.formats import Centroid, write_lml, write_verse_ctd
from hounsfield.vertebrae.train import find_cases, fit_params, load_case
from hounsfield.volume import Volume


def test_find_cases_layouts(tmp_path):
    ct = Volume(np.zeros((8, 8, 8), np.int16), np.diag([1.0, 1.0, 2.0, 1.0]))
    cents = [Centroid(22, (1.0, 2.0, 4.0))]
    # VerSe: ct + ctd in rawdata/derivatives trees
    (tmp_path / "rawdata" / "sub-a").mkdir(parents=True)
    (tmp_path / "derivatives" / "sub-a").mkdir(parents=True)
    write(ct, tmp_path / "rawdata" / "sub-a" / "sub-a_dir-orient_ct.nii.gz")
    write_verse_ctd(tmp_path / "derivatives" / "sub-a" / "sub-a_dir-orient_seg-subreg_ctd.json", cents, ct)
    # image + lml
    write(ct, tmp_path / "b.nii.gz")
    write_lml(tmp_path / "b.lml", cents, ct)
    cases = find_cases(tmp_path)
    assert [(c.name, c.kind) for c in cases] == [("b", "lml"), ("sub-a_dir-orient", "verse-ctd")]
    for c in cases:
        vol, ref = load_case(c)
        assert [r.label for r in ref] == [22]
        assert np.allclose(ref[0].xyz, cents[0].xyz, atol=0.06)
    with pytest.raises(InputError):
        find_cases(tmp_path / "rawdata" / "sub-a" / "nothing")


def test_fit_on_a_synthetic_patient(phantom):
    cases = find_cases(phantom.parent)
    assert [c.kind for c in cases] == ["phantom"]
    fit = fit_params(cases, seed=0, grid={"disc_cost": [0.5, 1.0]})
    assert fit["params"]["disc_cost"] in (0.5, 1.0)
    assert fit["metrics"]["identification_rate"] >= 0.9
    assert fit["metrics"]["mean_error_mm"] < 3.0
    json.dumps(fit)  # the config is plain JSON
