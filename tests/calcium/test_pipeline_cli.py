"""The calcium pipeline and CLI: a toy chest with an exact score, the real fixtures, compare."""

from __future__ import annotations

import csv
import importlib.util
import json

import numpy as np
import pytest

from hounsfield.calcium import ContrastError, analyse, decide_gated
from hounsfield.cli import main
from hounsfield.io import read_nifti, write_nifti
from hounsfield.volume import Volume

from .toy_chest import EXPECTED_AGATSTON, toy_chest

JSON_KEYS = ("agatston", "volume_mm3", "mass_mg", "risk_category", "protocol", "slice_increment_mm", "kvp",
             "regions", "lesions")


@pytest.mark.parametrize("dz, mode", [(3.0, "gated"), (1.0, "non-gated"), (0.75, "non-gated"), (1.5, "non-gated")])
def test_toy_chest_exact_score_gated_and_fake_gated(dz, mode):
    r = analyse(toy_chest(dz), mode=mode)
    assert r.score.agatston == pytest.approx(EXPECTED_AGATSTON)  # spine excluded, both plaques found
    assert r.score.n_lesions == 2 and r.score.risk_category == "11-100"
    assert r.score.slice_increment_mm == pytest.approx(3.0)
    # slice ranges in the input's numbering: the plaques fill z 57-60 mm
    for les in r.score.lesions:
        assert les.slices == (int(round(57 / dz)), int(round(60 / dz)) - 1)
    assert (r.fake_gated is None) == (mode == "gated")


def test_contrast_is_refused_or_warned():
    v = toy_chest(3.0, contrast=True)
    with pytest.raises(ContrastError, match=r"contrast-enhanced: blood pool 300 HU exceeds the 130 HU threshold"):
        analyse(v, mode="gated")
    r = analyse(v, mode="gated", allow_contrast=True)
    assert any("contrast-enhanced" in w for w in r.warnings)


def test_auto_gating_decision():
    assert decide_gated(toy_chest(3.0), "auto")[0] is True
    assert decide_gated(toy_chest(1.0), "auto")[0] is False
    assert decide_gated(toy_chest(1.0).with_meta(gated=True, gated_reason="ECG"), "auto") == (True, "metadata: ECG")


def test_cli_outputs(tmp_path, capsys):
    src = write_nifti(toy_chest(0.75), tmp_path / "p01_non_gated.nii.gz")
    out = tmp_path / "r.json"
    rc = main(["calcium", str(src), "--non-gated", "--json", str(out), "--csv", str(tmp_path / "ng.csv"),
               "--overlay", str(tmp_path / "o.png"), "--save-fake-gated", str(tmp_path / "fg"),
               "--mass-calibration", "0.001", "--classifier", "none"])
    assert rc == 0, capsys.readouterr().err
    d = json.loads(out.read_text())
    for k in JSON_KEYS:
        assert k in d
    assert d["agatston"] == pytest.approx(EXPECTED_AGATSTON) and d["gated"] is False
    assert d["mass_mg"] == pytest.approx(0.001 * 300 * 54.0)  # 2 x 9 voxels of 3 mm^3 at 300 HU
    assert d["regions"]["heart"]["n_lesions"] == 2
    les = d["lesions"][0]
    assert set(les) >= {"region", "slices", "area_mm2", "peak_hu", "weight", "agatston", "centroid_mm"}
    assert les["peak_hu"] == 300 and les["weight"] == 3 and les["area_mm2"] == pytest.approx(9.0)
    fg = tmp_path / "fg" / "non_gated_FakeGated_avg_slices=4.nii.gz"
    assert fg.exists() and read_nifti(fg).spacing[2] == pytest.approx(3.0)
    assert (tmp_path / "o.png").read_bytes()[:4] == b"\x89PNG"
    rows = list(csv.DictReader(open(tmp_path / "ng.csv")))
    assert rows[0]["patient_id"] == "p01" and float(rows[0]["agatston"]) == pytest.approx(EXPECTED_AGATSTON)
    assert "agatston_LAD" in rows[0]


def test_cli_roi_labels_and_all(tmp_path, capsys):
    v = toy_chest(3.0)
    src = write_nifti(v, tmp_path / "ct.nii.gz")
    lab = np.zeros(v.shape, np.uint8)
    lab[: v.shape[0] // 2] = 7  # left-right halves: one plaque each
    lab[v.shape[0] // 2:] = 9
    roi = write_nifti(Volume(lab, v.affine), tmp_path / "roi.nii.gz")
    rc = main(["calcium", str(src), "--roi", str(roi), "--json", str(tmp_path / "r.json")])
    assert rc == 0, capsys.readouterr().err
    d = json.loads((tmp_path / "r.json").read_text())
    assert set(d["regions"]) == {"7", "9"}
    # no anatomy: the spine (450 HU) counts too, so each half holds a plaque and half of the spine
    assert d["regions"]["7"]["agatston"] > 27 and d["regions"]["9"]["agatston"] > 27
    rc = main(["calcium", str(src), "--roi", "all", "--json", str(tmp_path / "a.json")])
    assert rc == 0
    d = json.loads((tmp_path / "a.json").read_text())
    assert list(d["regions"]) == ["all"] and d["agatston"] > EXPECTED_AGATSTON


def test_real_cta_refused_with_and_without_masks(fixtures_dir, capsys):
    ct = fixtures_dir / "ct_heart_cta" / "ct.nii.gz"
    for extra in ([], ["--masks", str(fixtures_dir / "ct_heart_cta")]):
        rc = main(["calcium", str(ct), *extra])
        err = capsys.readouterr().err
        assert rc == 2
        assert "contrast-enhanced: blood pool" in err and "exceeds the 130 HU threshold" in err
        hu = int(err.split("blood pool ")[1].split(" HU")[0])
        assert 300 < hu < 600  # arterial phase


def test_real_abdomen_heart_not_in_view(fixtures_dir, capsys):
    rc = main(["calcium", str(fixtures_dir / "ct_abdomen" / "ct.nii.gz")])
    assert rc == 2 and "heart not in field of view" in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("totalsegmentator") is not None, reason="TotalSegmentator installed")
def test_totalsegmentator_missing_message(tmp_path, capsys):
    src = write_nifti(toy_chest(3.0), tmp_path / "ct.nii.gz")
    rc = main(["calcium", str(src), "--segmenter", "totalsegmentator"])
    err = capsys.readouterr().err
    assert rc == 3 and "TotalSegmentator" in err and "pip install" in err


def test_masks_multilabel_file(tmp_path, capsys):
    v = toy_chest(3.0)
    src = write_nifti(v, tmp_path / "ct.nii.gz")
    # a TotalSegmentator-style multilabel map on a coarser, shifted grid: 51 heart, 32 a vertebra
    aff = v.affine.copy()
    aff[:3, :3] *= 2.0
    aff[:3, 3] -= 0.5
    coarse = Volume(np.zeros((120, 100, 20), np.uint8), aff)
    ijk = np.indices(coarse.shape).reshape(3, -1).T
    xyz = coarse.world(ijk)
    heart = (xyz[:, 0] / 40) ** 2 + ((xyz[:, 1] - 15) / 40) ** 2 + ((xyz[:, 2] - 55) / 45) ** 2 <= 1
    spine = (xyz[:, 0] / 16) ** 2 + ((xyz[:, 1] + 62) / 16) ** 2 <= 1
    lab = np.where(heart, 51, np.where(spine, 32, 0)).astype(np.uint8).reshape(coarse.shape)
    ms = write_nifti(coarse.with_array(lab), tmp_path / "totalseg.nii.gz")
    rc = main(["calcium", str(src), "--masks", str(ms), "--json", str(tmp_path / "r.json"), "--classifier", "none"])
    assert rc == 0, capsys.readouterr().err
    d = json.loads((tmp_path / "r.json").read_text())
    assert d["agatston"] == pytest.approx(EXPECTED_AGATSTON) and d["blood_pool_hu"] == pytest.approx(40.0)
    assert "TotalSegmentator" in d["search_region"]


def test_compare_cli(tmp_path, capsys):
    rng = np.random.default_rng(0)
    g = np.concatenate([np.zeros(10), rng.gamma(0.8, 120, 30)])
    ng = g * rng.normal(1.0, 0.15, g.size)
    for name, vals in (("g.csv", g), ("n.csv", ng)):
        with open(tmp_path / name, "w") as fh:
            fh.write("patient_id,agatston\n" + "".join(f"P{i},{x}\n" for i, x in enumerate(vals)))
    rc = main(["calcium", "compare", str(tmp_path / "g.csv"), str(tmp_path / "n.csv"), "--json",
               str(tmp_path / "c.json"), "--plot", str(tmp_path / "ba.png"), "--bootstrap", "200"])
    out = capsys.readouterr().out
    assert rc == 0 and "ICC(2,1)" in out and "kappa" in out
    d = json.loads((tmp_path / "c.json").read_text())
    assert d["n"] == 40 and d["icc"] > 0.8 and len(d["confusion"]) == 5 and "icc" in d["ci95"]
    assert (tmp_path / "ba.png").exists()


def test_bundled_classifier_names_arteries(tmp_path, capsys):
    from hounsfield.calcium.classify import load_classifier
    from hounsfield.models.registry import load_entry

    entry = load_entry("calcium-lesions")  # sha256 verified
    assert "synthetic" in entry.trained_on and entry.metrics["n_candidates"] > 1000
    model = load_classifier()
    r = analyse(toy_chest(3.0), mode="gated", classifier=model)
    assert set(r.score.regions) == {"LM", "LAD", "LCX", "RCA", "other"}
    coronary = sum(r.score.regions[a].agatston for a in ("LM", "LAD", "LCX", "RCA"))
    assert r.score.agatston == pytest.approx(coronary)  # "other" is not in the coronary total
    assert r.classifier["name"] == "calcium-lesions"
    assert not any("no lesion classifier" in w for w in r.warnings)


def test_cli_reads_a_dicom_folder(tmp_path, capsys):
    from hounsfield.io import write_dicom_series

    write_dicom_series(toy_chest(3.0), tmp_path / "p07_gated", prefix="G")
    rc = main(["calcium", str(tmp_path / "p07_gated"), "--classifier", "none", "--csv", str(tmp_path / "g.csv")])
    assert rc == 0, capsys.readouterr().err
    row = next(csv.DictReader(open(tmp_path / "g.csv")))
    assert row["patient_id"] == "p07" and float(row["agatston"]) == pytest.approx(EXPECTED_AGATSTON)


def test_patient_id_pairs_gated_and_non_gated(tmp_path):
    from hounsfield.commands.calcium import patient_id_of

    assert patient_id_of(tmp_path / "p01_gated.nii.gz") == patient_id_of(tmp_path / "p01_non_gated.nii.gz") == "p01"
    assert patient_id_of(tmp_path / "patient_0003" / "gated.nii.gz") == "patient_0003"
    assert patient_id_of(tmp_path / "patient_0003" / "non_gated.nii.gz") == "patient_0003"


def test_cli_roi_from_a_dicom_seg_matches_the_nifti_roi(tmp_path, capsys):
    """--roi takes a DICOM SEG (segment numbers as region keys), aligned in world space like a NIfTI map."""
    pytest.importorskip("highdicom")
    from hounsfield.io import read, write_dicom_series
    from hounsfield.io.export import write_seg

    write_dicom_series(toy_chest(3.0), tmp_path / "ct", prefix="G")
    src = read(tmp_path / "ct")  # LAS, as DICOM reads
    lab = np.zeros(src.shape, np.uint8)
    lab[: src.shape[0] // 2] = 1
    lab[src.shape[0] // 2:] = 2
    seg = write_seg(src.with_array(lab), src, {1: "LAD", 2: "RCA"}, tmp_path / "roi_seg.dcm")
    nii = write_nifti(src.with_array(lab).to_ras(), tmp_path / "roi.nii.gz")  # same regions, other orientation
    for roi, out in ((seg, "s.json"), (nii, "n.json")):
        rc = main(["calcium", str(tmp_path / "ct"), "--roi", str(roi), "--json", str(tmp_path / out)])
        assert rc == 0, capsys.readouterr().err
    s = json.loads((tmp_path / "s.json").read_text())
    n = json.loads((tmp_path / "n.json").read_text())
    assert set(s["regions"]) == {"1", "2"} == set(n["regions"])
    for k in ("1", "2"):
        assert s["regions"][k]["agatston"] == pytest.approx(n["regions"][k]["agatston"])
        assert s["regions"][k]["agatston"] > 27
    assert s["agatston"] == pytest.approx(n["agatston"])
