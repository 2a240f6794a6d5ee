"""Opt-in costal cartilage calcification (a sign of age on radiographs): prevalence, pattern by sex, rendering."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hounsfield.phantoms import build_patient, generate_patient, sample_params
from hounsfield.phantoms.cartilage import draw_cartilage_calcification, prevalence, sample_cartilage_plaques
from hounsfield.phantoms.skeleton import _rib_paths


def test_prevalence_follows_the_published_decades():
    assert prevalence(25) == pytest.approx(0.06, abs=1e-3) and prevalence(85) == pytest.approx(0.45, abs=1e-3)
    rng = np.random.default_rng(0)
    for age, p in ((25, 0.06), (62, prevalence(62)), (85, 0.45)):
        draws = np.array([draw_cartilage_calcification(age, rng) for _ in range(4000)])
        assert np.mean(draws > 0) == pytest.approx(p, abs=0.025)
        assert np.all((draws == 0) | ((draws >= 4) & (draws <= 30)))
    # older: longer calcified stretches
    old = [draw_cartilage_calcification(85, rng) for _ in range(3000)]
    young = [draw_cartilage_calcification(45, rng) for _ in range(3000)]
    assert np.mean([v for v in old if v]) > np.mean([v for v in young if v]) + 5


def _dist_to_segment(c, a, b):
    f = np.clip((c - a) @ (b - a) / ((b - a) @ (b - a)), 0, 1)
    return float(np.linalg.norm(c - (a + f * (b - a))))


@pytest.mark.parametrize("sex", ["M", "F"])
def test_marginal_in_men_central_in_women(sex):
    p = dataclasses.replace(sample_params(3, 1), sex=sex, age=75.0, cartilage_mm=15.0)
    ph = build_patient(p)
    pl = [d for d in ph.distractors if d.kind == "costal_cartilage"]
    carts = [c for _, _, _, c in _rib_paths(ph.spine, ph.body, p) if c is not None]
    r = 4.5 * p.stature
    assert pl and all(400 <= q.density <= 800 for q in pl)
    d = np.array([min(_dist_to_segment(q.centre, np.asarray(c[0]), np.asarray(c[-1])) for c in carts) for q in pl])
    if sex == "M":  # two plates per cartilage, on the borders (r - thickness from the axis)
        assert len(pl) % 2 == 0
        assert np.allclose(d, [r - q.radii[1] for q in pl], atol=1e-6)
    else:  # one tongue on the axis
        assert np.all(d < 1e-6)
    # every plate lies inside its cartilage tube, and the first costal cartilage is involved on both sides
    assert np.all(d + np.array([q.radii[1] for q in pl]) <= r + 1e-6)
    first = [c for num, _, _, c in _rib_paths(ph.spine, ph.body, p) if num == 1]
    for c in first:
        assert min(_dist_to_segment(q.centre, np.asarray(c[0]), np.asarray(c[-1])) for q in pl) <= r


def test_only_with_age_signs_and_rendered_with_its_own_label():
    i = next(i for i in range(300) if sample_params(2, i, age_signs=True).cartilage_mm > 0)
    plain, aged = sample_params(2, i), sample_params(2, i, age_signs=True)
    assert "cartilage_mm" not in plain.to_dict() and aged.to_dict()["cartilage_mm"] == aged.cartilage_mm
    assert {k: v for k, v in aged.to_dict().items() if k != "cartilage_mm"} == plain.to_dict()
    assert not [d for d in build_patient(plain).distractors if d.kind == "costal_cartilage"]
    # the CT render labels it 8 in the calcium map; the truth's legend names it only when present
    res = generate_patient(2, i, matrix=96, gated_matrix=96, coverage="chest", thickness=5.0, params=aged)
    assert res.truth["labels"]["calcium"]["8"] == "costal_cartilage"
    assert np.any(res.non_gated.calcium == 8) or np.any(res.gated.calcium == 8)
    base = generate_patient(2, i, matrix=96, gated_matrix=96, coverage="chest", thickness=5.0, params=plain)
    assert "8" not in base.truth["labels"]["calcium"]
    assert res.truth["agatston"] == base.truth["agatston"]  # the coronary score is not touched
    assert sample_cartilage_plaques(0.0, None, None, None, None) == []
