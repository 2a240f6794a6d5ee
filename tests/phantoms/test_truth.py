"""Truth consistency: labels match volumes, scores recomputed, centroids match label maps."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from hounsfield.calcium.scoring import ScoringOptions, score_volume
from hounsfield.phantoms.calcium import MASS_CALIBRATION
from hounsfield.phantoms.tissues import BONE_TISSUES, O, T
from hounsfield.phantoms.truth import ARTERY_LABELS, coronary_map
from hounsfield.volume import Volume

CONTRACT_KEYS = {"agatston", "volume_mm3", "mass_mg", "risk_category", "arteries", "vertebrae", "levels"}


def test_contract_keys(cac_patient):
    t = cac_patient.truth
    assert CONTRACT_KEYS <= set(t)
    assert set(t["arteries"]) == {"LM", "LAD", "LCX", "RCA"}
    for a in t["arteries"].values():
        assert {"agatston", "volume_mm3", "mass_mg", "risk_category"} <= set(a)
    names = [v["label"] for v in t["vertebrae"]]
    assert "L3" in names and "T12" in names and names[-1] == "S1"
    assert {"T12_z_mm", "L3_z_mm", "T12_slice", "L3_slice"} <= set(t["levels"])
    assert t["agatston"] > 0


def test_agatston_truth_recomputed_from_gated_volume(cac_patient):
    g = cac_patient.gated
    roi = Volume(coronary_map(g.calcium, "4"), g.ct.affine)
    sc = score_volume(g.ct, ScoringOptions(mass_calibration=MASS_CALIBRATION), roi=roi, region_names=ARTERY_LABELS)
    t = cac_patient.truth
    assert sc.agatston == pytest.approx(t["agatston"], abs=1e-3)
    assert sc.volume_mm3 == pytest.approx(t["volume_mm3"], abs=1e-3)
    assert sc.mass_mg == pytest.approx(t["mass_mg"], abs=1e-3)
    for name, reg in sc.regions.items():
        assert reg.agatston == pytest.approx(t["arteries"][name]["agatston"], abs=1e-3)
    assert sum(a["agatston"] for a in t["arteries"].values()) == pytest.approx(t["agatston"], abs=1e-3)
    # the physical truth is the sum over the plaque descriptions
    assert t["physical_volume_mm3"] == pytest.approx(sum(p["volume_mm3"] for p in t["plaques"]), rel=1e-3)


def test_lesion_labels_hold_the_calcium(cac_patient):
    g = cac_patient.gated
    arr = g.ct.array
    les = coronary_map(g.calcium, "4") > 0
    assert les.any()
    # the brightest voxel of every labelled lesion is calcium-bright, and orCaScore merges LM into LAD
    lab, n = ndimage.label(les)
    peaks = np.asarray(ndimage.maximum(arr, lab, np.arange(1, n + 1)))
    assert np.median(peaks) > 130
    orc = coronary_map(g.calcium, "orcascore")
    assert set(np.unique(orc)) <= {0, 1, 2, 3}
    assert np.array_equal(orc == 1, np.isin(g.calcium, (1, 2)))


def test_tissue_labels_match_hu(cac_patient):
    r = cac_patient.non_gated
    arr, tis, org = r.ct.array, r.tissue, r.organ
    bone = np.isin(tis, BONE_TISSUES)
    assert arr[bone].mean() > 200
    fat = (tis == T.FAT) & (org == O.SAT)
    assert -140 < np.median(arr[fat]) < -60
    lung = tis == T.LUNG
    assert np.median(arr[lung]) < -700
    heart = org == O.HEART
    assert heart.any() and -60 < np.median(arr[heart]) < 80


def test_vertebra_centroids_match_label_map(cac_patient):
    """Body centroids in truth = centroids of the body voxels (cortex + cancellous) of each label."""
    r = cac_patient.non_gated
    body = np.isin(r.tissue, (T.CORTICAL, T.CANCELLOUS)) & (r.organ >= 1) & (r.organ <= 28)
    lab = np.where(body, r.organ, 0)
    ct = r.ct
    dz = ct.spacing[2]
    checked = 0
    for v in cac_patient.truth["vertebrae"]:
        if v["label"] == "S1":
            continue
        n = v["verse_label"]
        m = lab == n
        if m.sum() < 50:
            continue
        ijk = np.argwhere(m)
        # skip vertebrae cut by the volume's ends
        if ijk[:, 2].min() == 0 or ijk[:, 2].max() == ct.shape[2] - 1:
            continue
        c = ct.world(ijk.mean(axis=0))
        err = np.abs(c - np.array(v["centroid_mm"]))
        assert err[0] < 1.5 and err[1] < 1.5 and err[2] < dz * 0.6, (v["label"], err)
        checked += 1
    assert checked >= 10


def test_levels_and_slices_consistent(cac_patient):
    t = cac_patient.truth
    acq = cac_patient.non_gated.acquisition
    for lev in ("T12", "L3"):
        z = t["levels"][f"{lev}_z_mm"]
        k = t["levels"][f"{lev}_slice"]["non_gated"]
        assert k is not None
        assert abs(cac_patient.non_gated.ct.slice_z_mm(k) - z) <= acq.increment_mm / 2 + 1e-6
        v = next(v for v in t["vertebrae"] if v["label"] == lev)
        assert v["centroid_mm"][2] == pytest.approx(z, abs=1e-3)
    # T12 above L3 by 3-4 vertebral levels
    assert 90 < t["levels"]["T12_z_mm"] - t["levels"]["L3_z_mm"] < 140


def test_body_composition_plausible(cac_patient):
    bc = cac_patient.truth["body_composition"]
    assert bc["level"] == "L3"
    assert 60 < bc["muscle_area_cm2"] < 260
    assert bc["sat_area_cm2"] > 0 and bc["vat_area_cm2"] > 0


def test_vertebral_heights_grow_caudally(cac_patient):
    h = {v["label"]: v["body_height_mm"] for v in cac_patient.truth["vertebrae"]}
    assert 14 < h["T1"] < 21 and 19 < h["T12"] < 28 and 22 < h["L3"] < 32
    assert h["T1"] < h["T6"] < h["T12"] < h["L3"]


def test_thin_non_gated_has_motion_blurred_calcium(thin_patient):
    r = thin_patient.non_gated
    assert r.acquisition.motion and r.acquisition.thickness_mm == 1.5
    assert (coronary_map(r.calcium, "4") > 0).any()
