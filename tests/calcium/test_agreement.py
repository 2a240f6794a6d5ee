"""Agreement statistics: textbook ICC, hand-checked kappa and Bland-Altman, CSV pairing, plot."""

from __future__ import annotations

import numpy as np
import pytest

from hounsfield.calcium.agreement import agreement, bland_altman, bland_altman_plot, icc_2_1, read_scores_csv, weighted_kappa

SHROUT_FLEISS = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])


def test_icc_shrout_fleiss_textbook():
    # Shrout & Fleiss (1979) table 4: ICC(2,1) = 0.29 (0.2898 to 4 decimals)
    assert icc_2_1(SHROUT_FLEISS) == pytest.approx(0.2898, abs=1e-4)


def test_icc_two_raters_by_hand():
    # scores (1,2), (2,4), (3,6): grand mean 3; SS_rows = 2*(2.25+0+2.25) = 9, MSR = 4.5
    # SS_cols = 3*(1+1) = 6, MSC = 6; SS_total = 4+1+1+1+0+9 = 16, SSE = 1, MSE = 0.5
    x = np.array([[1, 2], [2, 4], [3, 6]])
    # ICC = (4.5 - 0.5) / (4.5 + 0.5 + 2 * (6 - 0.5) / 3) = 4 / (26 / 3)
    assert icc_2_1(x) == pytest.approx(12.0 / 26.0)
    assert icc_2_1(np.array([[1, 1], [5, 5], [9, 9]])) == pytest.approx(1.0)


def test_weighted_kappa_by_hand():
    # 2 categories: a = 0 0 1 1, b = 0 1 1 1. p_o = 3/4; marginals a (1/2, 1/2), b (1/4, 3/4) -> p_e = 1/2
    # with 2 categories linear weights = unweighted: kappa = (0.75 - 0.5) / 0.5 = 0.5
    assert weighted_kappa([0, 0, 1, 1], [0, 1, 1, 1], 2) == pytest.approx(0.5)
    # 3 categories, one disagreement of 2 steps vs of 1 step: the 2-step one costs more
    k1 = weighted_kappa([0, 1, 2, 2], [0, 1, 2, 1], 3)
    k2 = weighted_kappa([0, 1, 2, 2], [0, 1, 2, 0], 3)
    assert k1 > k2
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 5, 60), rng.integers(0, 5, 60)
    assert weighted_kappa(a, b, 5) == pytest.approx(cohen_kappa_score(a, b, weights="linear"))


def test_bland_altman_by_hand():
    bias, lo, hi = bland_altman([10, 20, 30], [12, 20, 34])  # d = 2, 0, 4: mean 2, SD 2
    assert bias == pytest.approx(2.0) and lo == pytest.approx(2 - 3.92) and hi == pytest.approx(2 + 3.92)


def test_agreement_report_and_bootstrap():
    rng = np.random.default_rng(1)
    gated = np.concatenate([np.zeros(20), rng.gamma(0.8, 150, 80)])
    nongated = gated * rng.normal(1.0, 0.1, gated.size)
    ag = agreement(gated, nongated, n_bootstrap=200, seed=3)
    assert ag.n == 100 and 0.9 < ag.icc <= 1.0
    lo, hi = ag.ci95["icc"]
    assert lo <= ag.icc <= hi
    assert sum(map(sum, ag.confusion)) == 100 and ag.categories[0] == "0"
    assert ag.confusion[0][0] == 20  # zeros stay zero
    assert agreement(gated, nongated, n_bootstrap=200, seed=3).ci95 == ag.ci95  # reproducible
    perfect = agreement(gated, gated, n_bootstrap=50)
    assert perfect.icc == pytest.approx(1.0) and perfect.kappa == 1.0 and perfect.bias == 0.0


def test_csv_pairing_and_plot(tmp_path):
    p = tmp_path / "g.csv"
    p.write_text("patient_id,agatston\nA,0\nB,12.5\nC,400\n")
    assert read_scores_csv(p) == {"A": 0.0, "B": 12.5, "C": 400.0}
    png = bland_altman_plot([0, 10, 100, 400], [0, 12, 90, 420], tmp_path / "ba.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
