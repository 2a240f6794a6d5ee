"""Radiographs of the chest phantoms: geometry, exact calcium attenuation, opt-in arch link, truth, CLI."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from scipy.stats import spearmanr

from hounsfield.cli import main
from hounsfield.cxr.drr import DRRSettings, attenuation
from hounsfield.cxr.phantom_drr import coronary_truth, phantom_radiograph, project_plaques
from hounsfield.phantoms import build_patient, sample_params
from hounsfield.phantoms.aortic import draw_arch_calcium

FAST = DRRSettings(pixel_mm=2.0, photons_per_mm2=None)


def _index(pred, seed=3, limit=300, **kw):
    return next(i for i in range(limit) if pred(sample_params(seed, i, **kw)))


def test_default_phantom_untouched_by_the_opt_in_link():
    for i in range(20):
        a, b = sample_params(7, i), sample_params(7, i, arch_link=0.8)
        assert a.arch_calcium_mm3 == 0.0 and "arch_calcium_mm3" not in a.to_dict()
        da, db = a.to_dict(), b.to_dict()
        db.pop("arch_calcium_mm3", None)
        assert b.knob_mm > 0 or b.age < 40  # every patient of an arch-link cohort gets the knob shift
        db.pop("knob_mm", None)
        assert "knob_mm" not in da and da == db  # every other parameter identical (own random stream)
    i = _index(lambda p: p.arch_calcium_mm3 > 50, arch_link=0.8)
    p0, p1 = sample_params(3, i), sample_params(3, i, arch_link=0.8)
    n0, n1 = len(build_patient(p0).distractors), len(build_patient(p1).distractors)
    assert n1 > n0 and all(d.kind == "aorta" for d in build_patient(p1).distractors[n0:])


def test_arch_calcium_correlates_with_coronary_burden():
    rng = np.random.default_rng(0)
    burden = np.where(rng.random(600) < 0.5, 0.0, 10 ** rng.uniform(0, 3.5, 600))
    arch = np.array([draw_arch_calcium(b, 62.0, rng) for b in burden])
    pos = burden > 0
    assert (arch[pos] > 0).mean() > 2 * (arch[~pos] > 0).mean()
    assert spearmanr(arch, burden)[0] > 0.5
    assert np.all(arch[~pos & (arch > 0)] <= 450)


def test_plaque_projection_conserves_attenuation():
    p = sample_params(3, _index(lambda p: p.cac_burden > 200))
    ph = build_patient(p)
    plaques = list(ph.plaques)
    c = np.mean([q.centre for q in plaques], axis=0)
    px, n = 0.7, 400
    img = project_plaques(plaques, c[0] + n * px / 2, c[2] + n * px / 2, (n, n), px, 0.0206, 1.1)
    mu_wall = attenuation(np.array([40.0]), 0.0206, 1.1)[0]
    expected = sum(q.volume_mm3 * (attenuation(np.array([q.hu]), 0.0206, 1.1)[0] - mu_wall) for q in plaques)
    assert img.sum() * px * px == pytest.approx(expected, rel=1e-6)


def test_phantom_radiograph_pa_orientation_and_range():
    p = sample_params(3, _index(lambda p: p.cac_burden > 200 and abs(p.position_mm[0]) < 20))
    ph = build_patient(p)
    rad = phantom_radiograph(ph, FAST, rng=0, voxel_mm=4.0, jitter=False)
    img = rad.pixels
    assert img.shape == (215, 215) and rad.spacing_mm == (2.0, 2.0)
    assert 0.0 <= img.min() and img.max() <= 1.0
    info = rad.meta["phantom_drr"]
    # the heart (patient's left, lower x) is on the viewer's right; superior is row 0
    col = (info["x_right_mm"] - ph.heart.centre[0]) / 2.0
    row = (info["z_top_mm"] - ph.heart.centre[2]) / 2.0
    assert col > img.shape[1] / 2 and 0 < row < img.shape[0]
    # mirrored across the midline the heart's row shows the right lung: darker (less attenuating)
    mirror = int(round((info["x_right_mm"] - (2 * ph.landmarks["x_mid"] - ph.heart.centre[0])) / 2.0))
    assert mirror < img.shape[1] / 2
    assert img[int(row) - 2:int(row) + 3, int(col) - 2:int(col) + 3].mean() > img[int(row) - 2:int(row) + 3,
                                                                                  mirror - 2:mirror + 3].mean()
    assert info["n_coronary_plaques"] == len(ph.plaques) and info["calcium_integral_max"] > 0
    # calcium only changes the image where plaques project
    ph.plaques, ph.distractors = [], []
    bare = phantom_radiograph(ph, FAST, rng=0, voxel_mm=4.0, jitter=False)
    assert np.abs(bare.pixels - img).max() > 0 and (np.abs(bare.pixels - img) > 1e-4).mean() < 0.05


def test_coronary_truth_zero_without_plaques():
    i = _index(lambda p: p.cac_burden == 0)
    t = coronary_truth(build_patient(sample_params(3, i)), 3, i)
    assert t["agatston"] == 0.0 and t["n_plaques"] == 0


@pytest.mark.slow
def test_coronary_truth_matches_generate_patient():
    from hounsfield.phantoms import generate_patient

    i = _index(lambda p: p.cac_burden > 150)
    full = generate_patient(3, i, matrix=64, gated_matrix=512, coverage="chest", thickness=5.0)
    crop = coronary_truth(build_patient(sample_params(3, i)), 3, i)
    assert crop["agatston"] == pytest.approx(full.truth["agatston"], rel=0.25)  # same process, other noise


def test_phantom_cxr_cli(tmp_path, capsys):
    out = tmp_path / "drr"
    assert main(["phantom", "cxr", "--n", "2", "--seed", "3", "--pixel-mm", "2", "--voxel-mm", "4",
                 "-o", str(out)]) == 0
    rows = list(csv.DictReader(open(out / "labels.csv")))
    assert [r["patient_id"] for r in rows] == ["patient_0000", "patient_0001"]
    for r, i in zip(rows, range(2)):
        assert (float(r["cac"]) > 0) <= (int(r["n_plaques"]) > 0)
        assert float(r["age"]) == sample_params(3, i).age
        assert (out / r["image"]).exists()
    info = json.loads((out / "cohort.json").read_text())
    assert info["arch_link"] == 0.8 and info["seconds_per_image"]["drr_mean"] > 0
    assert main(["phantom", "cxr", "--n", "2", "--arch-link", "1.5", "-o", str(tmp_path / "x")]) == 2
    assert main(["phantom", "cxr", "--n", "2", "--simple", "2", "-o", str(tmp_path / "y")]) == 2
    assert "error:" in capsys.readouterr().err
