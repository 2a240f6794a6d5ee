"""Partial-volume-corrected mass on tiny arrays with hand-computed answers."""

from __future__ import annotations

import numpy as np
import pytest

from hounsfield import Volume
from hounsfield.calcium import ScoringOptions, score_volume
from hounsfield.calcium.mass import integral_mass, with_integral_mass


def _vol(arr):
    return Volume(arr.astype(np.int16), np.diag([0.5, 0.5, 3.0, 1.0]))


def test_integral_mass_counts_the_faint_rim_and_subtracts_the_background():
    a = np.full((40, 40, 5), 40, np.int16)  # blood-like background 40 HU
    a[18:21, 18:21, 2] = 300  # 9 counted voxels (area 2.25 mm2 >= 1)
    a[17:22, 17:22, 2] += 0  # keep
    rim = np.zeros_like(a, bool)
    rim[17:22, 17:22, 2] = True
    rim[18:21, 18:21, 2] = False
    a[rim] = 100  # 16 rim voxels below 130 HU: blur of the lesion
    a[18:21, 18:21, 1] = 90  # the slice above and below hold some of it too (slice profile)
    a[18:21, 18:21, 3] = 70
    c = 0.001
    score = score_volume(_vol(a), ScoringOptions(mass_calibration=c), roi=None)
    assert score.n_lesions == 1
    v = 0.5 * 0.5 * 3.0
    # clinical mass: counted voxels only, absolute HU
    assert score.mass_mg == pytest.approx(c * v * 9 * 300)
    # integral mass: (HU - 40) over the lesion, its rim (0.5 mm from it < 1.5 mm margin) and the slices around
    expected = c * v * (9 * 260 + 16 * 60 + 9 * 50 + 9 * 30)
    (m,) = integral_mass(score, _vol(a), c)
    assert m == pytest.approx(expected)
    s2 = with_integral_mass(score, _vol(a), c)
    assert s2.mass_pv_mg == pytest.approx(expected) and s2.lesions[0].mass_pv_mg == pytest.approx(expected)


def test_integral_mass_splits_a_shared_neighbourhood_to_the_nearer_lesion_and_is_none_without_c():
    a = np.zeros((40, 40, 3), np.int16)
    a[10:13, 10:13, 1] = 400
    a[10:13, 16:19, 1] = 200  # 3 voxels (1.5 mm) of gap: the gap columns go to the nearer lesion
    a[10:13, 13, 1] = 50  # next to lesion 1
    a[10:13, 15, 1] = 20  # next to lesion 2
    c = 0.002
    score = score_volume(_vol(a), ScoringOptions(mass_calibration=c))
    assert score.n_lesions == 2
    pv = integral_mass(score, _vol(a), c)
    v = 0.75
    by_peak = {l.peak_hu: m for l, m in zip(score.lesions, pv)}
    assert by_peak[400] == pytest.approx(c * v * (9 * 400 + 3 * 50))
    assert by_peak[200] == pytest.approx(c * v * (9 * 200 + 3 * 20))
    assert integral_mass(score, _vol(a), None) is None
