import json
import math

import numpy as np
import pytest

from hounsfield.clot.evaluate import bland_altman, case_metrics, evaluate_dirs, icc_a1, summarise
from hounsfield.clot.measure import clean_mask, measure_clot, territory
from hounsfield.io import write_nifti
from hounsfield.volume import Volume

AFF = np.diag([0.5, 0.5, 2.0, 1.0])


def _vol(arr):
    return Volume(arr.astype(np.uint8), AFF.copy())


def _box(shape=(20, 20, 10), lo=(5, 5, 3), hi=(9, 15, 5)):
    a = np.zeros(shape, np.uint8)
    a[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = 1
    return a


def test_case_metrics_hand_computed():
    t = _box()  # 4 x 10 x 2 = 80 voxels
    p = _box(lo=(5, 5, 3), hi=(9, 10, 5))  # 40 voxels, all inside
    r = case_metrics(_vol(p), _vol(t), tolerance_mm=1.0)
    assert math.isclose(r["dice"], 2 * 40 / 120, rel_tol=1e-6)
    assert math.isclose(r["volume_truth_mm3"], 80 * 0.5, rel_tol=1e-9)
    assert math.isclose(r["volume_pred_mm3"], 40 * 0.5, rel_tol=1e-9)
    # the far end of the truth box is 5 voxels (2.5 mm) beyond the prediction
    assert 2.0 <= r["hd95_mm"] <= 2.5
    assert 0 < r["surface_dice"] < 1 and r["hit"]
    same = case_metrics(_vol(t), _vol(t))
    assert same["dice"] == 1.0 and same["hd95_mm"] == 0.0 and same["surface_dice"] == 1.0


def test_empty_masks_documented_behaviour():
    z = np.zeros((20, 20, 10), np.uint8)
    tn = case_metrics(_vol(z), _vol(z))
    assert tn["dice"] == 1.0 and tn["hd95_mm"] is None and tn["surface_dice"] == 1.0 and not tn["truth_positive"]
    fp = case_metrics(_vol(_box()), _vol(z))
    assert fp["dice"] == 0.0 and fp["hd95_mm"] is None and fp["pred_positive"]
    fn = case_metrics(_vol(z), _vol(_box()))
    assert fn["dice"] == 0.0 and not fn["hit"] and not fn["pred_positive"]
    s = summarise({"tn": tn, "fp": fp, "fn": fn, "tp": case_metrics(_vol(_box()), _vol(_box()))})
    assert s["sensitivity"] == 0.5 and s["specificity"] == 0.5 and s["missed_clot_rate"] == 0.5
    assert s["dice_with_clot"]["mean"] == 0.5 and s["n_with_clot"] == 2


def test_agreement_statistics():
    assert icc_a1([1, 2, 3, 4, 5], [1, 2, 3, 4, 5]) == pytest.approx(1.0)
    assert icc_a1([1, 2, 3, 4, 5], [3, 4, 5, 6, 7]) < 0.8  # absolute agreement penalises a bias
    ba = bland_altman([2, 3, 4], [1, 2, 3])
    assert ba["bias"] == 1.0 and ba["loa_low"] == 1.0 and ba["loa_high"] == 1.0


def test_measure_volume_length_side():
    a = np.zeros((40, 10, 5), np.uint8)
    a[10:30, 5, 2] = 1  # 20 voxels along x, 0.5 mm each -> 10 mm
    m = measure_clot(_vol(a), midline_x_mm=0.0)
    assert m["length_mm"] == pytest.approx(10.0)
    assert m["volume_mm3"] == pytest.approx(20 * 0.5)
    assert m["side"] == "right" and m["slices"] == [2, 2] and m["n_components"] == 1
    b = a.copy()
    b[0, 0, 0] = 1
    assert clean_mask(_vol(b), min_volume_mm3=1.0).array.sum() == 20
    assert territory(np.array([25.0, 3, 1]), np.zeros(3)) == "M1"
    assert territory(np.array([0.0, -2, -20]), np.zeros(3)) == "BA"


def test_evaluate_dirs_pairs_cases(tmp_path):
    (tmp_path / "pred").mkdir()
    for cid, arr in (("a", _box()), ("b", np.zeros((20, 20, 10)))):
        write_nifti(_vol(arr), tmp_path / "pred" / f"{cid}.nii.gz")
        (tmp_path / "truth" / cid).mkdir(parents=True)
        write_nifti(_vol(_box()), tmp_path / "truth" / cid / "clot.nii.gz")
    (tmp_path / "truth" / "c").mkdir()
    write_nifti(_vol(_box()), tmp_path / "truth" / "c" / "clot.nii.gz")
    rows, s = evaluate_dirs(tmp_path / "pred", tmp_path / "truth")
    assert set(rows) == {"a", "b"} and s["missing_predictions"] == ["c"]
    assert rows["a"]["dice"] == 1.0 and rows["b"]["dice"] == 0.0 and s["sensitivity"] == 0.5
    json.dumps(s, allow_nan=False)
