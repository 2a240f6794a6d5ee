"""Classification metrics against hand-computed values and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from hounsfield.metrics.classification import (
    auroc, binary_metrics, bootstrap_ci, calibration, weighted_kappa, youden_threshold)


def test_auroc_by_hand_and_against_sklearn():
    # pairs (pos, neg): (0.4, 0.1) win, (0.4, 0.6) lose, (0.9, 0.1) win, (0.9, 0.6) win -> 3/4
    assert auroc([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9]) == 0.75
    assert auroc([0, 1], [0.5, 0.5]) == 0.5  # tie counts half
    assert np.isnan(auroc([1, 1], [0.2, 0.3]))
    rng = np.random.default_rng(1)
    y, s = rng.integers(0, 2, 500), np.round(rng.random(500), 2)
    assert auroc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_binary_metrics_by_hand():
    y = [1, 1, 1, 0, 0, 0, 0, 1]
    p = [0.9, 0.8, 0.2, 0.7, 0.1, 0.3, 0.4, 0.6]
    m = binary_metrics(y, p, 0.5)
    assert (m["tp"], m["fn"], m["fp"], m["tn"]) == (3, 1, 1, 3)
    assert m["sensitivity"] == 0.75 and m["specificity"] == 0.75
    assert m["ppv"] == 0.75 and m["npv"] == 0.75 and m["balanced_accuracy"] == 0.75
    assert binary_metrics([0, 0], [0.9, 0.1])["ppv"] == 0.0
    assert np.isnan(binary_metrics([0, 0], [0.9, 0.1])["sensitivity"])


def test_bootstrap_ci_brackets_estimate_and_narrows_with_n():
    rng = np.random.default_rng(0)
    def sample(n):
        y = rng.integers(0, 2, n)
        return y, y * 0.8 + rng.normal(0, 0.5, n)
    y, s = sample(100)
    est, lo, hi = bootstrap_ci(auroc, y, s, n_boot=300, seed=1)
    assert lo <= est <= hi and 0.5 < est < 1
    y2, s2 = sample(2000)
    e2, lo2, hi2 = bootstrap_ci(auroc, y2, s2, n_boot=300, seed=1)
    assert (hi2 - lo2) < (hi - lo)
    # same seed, same interval; patient-level resampling works with groups
    assert bootstrap_ci(auroc, y, s, n_boot=300, seed=1) == (est, lo, hi)
    g = np.repeat(np.arange(50), 2)
    _, glo, ghi = bootstrap_ci(auroc, y, s, n_boot=200, seed=1, groups=g)
    assert glo < est < ghi


def test_kappa_youden_calibration():
    assert weighted_kappa([0, 1, 2, 3], [0, 1, 2, 3]) == 1.0
    # two classes: p_o = 3/4, p_e = 0.5*0.25 + 0.5*0.75 = 1/2 -> kappa = 1/2
    k = weighted_kappa([0, 0, 1, 1], [0, 1, 1, 1], "linear")
    assert k == pytest.approx(0.5)
    assert youden_threshold([0, 0, 1, 1], [0.1, 0.3, 0.35, 0.9]) == 0.35
    c = calibration([0, 0, 1, 1], [0.05, 0.05, 0.95, 0.95], n_bins=10)
    assert c["brier"] == pytest.approx(0.0025)
    assert c["ece"] == pytest.approx(0.05)
    assert c["bins"][0]["n"] == 2 and c["bins"][9]["observed"] == 1.0
    rng = np.random.default_rng(0)
    p = rng.random(4000)
    y = rng.random(4000) < p          # perfectly calibrated
    c = calibration(y, p)
    assert abs(c["slope"] - 1) < 0.15 and abs(c["intercept"]) < 0.15 and c["ece"] < 0.03
