"""The "knob" layout of arch calcium (arch calcification where PA films grade it) and its cohort option."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hounsfield.cli import main
from hounsfield.phantoms import build_patient, sample_params
from hounsfield.phantoms.aortic import GRADE_LIMITS_MM3, knob_grade, sample_knob_plaques


def _patient(volume_at_least: float):
    i = next(i for i in range(2000) if sample_params(11, i, arch_link=0.8).arch_calcium_mm3 >= volume_at_least)
    return sample_params(11, i, arch_link=0.8, arch_style="knob")


def _knob_and_segment_distance(heart, c):
    pts = heart.aorta
    k = 2 + int(np.argmin(pts[2:20, 0]))
    seg = [(pts[j], pts[j + 1]) for j in range(max(k - 2, 2), min(k + 2, len(pts) - 2) + 1)]

    def dist(a, b):
        f = np.clip((c - a) @ (b - a) / ((b - a) @ (b - a)), 0, 1)
        return np.linalg.norm(c - (a + f * (b - a)))

    return k, min(dist(a, b) for a, b in seg)


@pytest.mark.parametrize("volume", [12.0, 120.0, 400.0])
def test_knob_plaques_keep_the_volume_and_sit_on_the_knob_wall(volume):
    p = _patient(10.0)
    heart = build_patient(p).heart
    pl = sample_knob_plaques(volume, heart, np.random.default_rng(4))
    assert sum(q.volume_mm3 for q in pl) == pytest.approx(volume, rel=1e-9)
    assert all(q.kind == "aorta" and 600 <= q.density <= 1100 for q in pl)
    k, _ = _knob_and_segment_distance(heart, pl[0].centre)
    r = heart.aorta_r[max(k - 2, 2): k + 3]
    for q in pl:  # every piece lies in the wall (radius + 0.6 mm) of the knob's five centreline segments
        _, d = _knob_and_segment_distance(heart, q.centre)
        assert r.min() - 0.5 <= d <= r.max() + 1.2
    grade = knob_grade(volume)
    thick = np.array([q.radii[1] for q in pl])
    if grade == 1:
        assert thick.max() <= 0.5
    else:
        assert thick.max() >= 0.5
    # the strips face the patient's left (-x): their pieces lie mostly left of the centreline
    left = [q.centre[0] < heart.aorta[k, 0] + 2 for q in pl]
    assert np.mean(left) > (0.5 if grade == 3 else 0.8)


def test_grade_three_has_a_full_ring():
    p = _patient(10.0)
    heart = build_patient(p).heart
    pl = sample_knob_plaques(GRADE_LIMITS_MM3[1] + 50, heart, np.random.default_rng(0))
    k = 2 + int(np.argmin(heart.aorta[2:20, 0]))
    c = heart.aorta[k]
    # pieces all round the vessel: directions from the centreline spread over every quadrant of the x-y plane
    ang = [np.arctan2(q.centre[1] - c[1], q.centre[0] - c[0]) for q in pl]
    assert np.histogram(ang, bins=4, range=(-np.pi, np.pi))[0].min() > 0
    assert knob_grade(GRADE_LIMITS_MM3[1]) == 3 and knob_grade(GRADE_LIMITS_MM3[0] - 1) == 1


def test_knob_style_changes_only_the_arch_calcium():
    a = _patient(30.0)
    b = sample_params(a.seed, a.index, arch_link=0.8)  # same patient, plates
    assert a.arch_style == "knob" and b.arch_style == "" and "arch_style" not in b.to_dict()
    assert a.to_dict()["arch_style"] == "knob"
    assert {k: v for k, v in a.to_dict().items() if k != "arch_style"} == b.to_dict()
    pa, pb = build_patient(a), build_patient(b)
    assert [q.to_dict() for q in pa.plaques] == [q.to_dict() for q in pb.plaques]
    assert np.allclose(pa.heart.aorta, pb.heart.aorta)
    # default phantoms do not know the option
    assert "arch_style" not in sample_params(a.seed, a.index).to_dict()
    with pytest.raises(ValueError, match="arch_style"):
        sample_params(1, 1, arch_link=0.8, arch_style="rings")


def test_phantom_cxr_arch_style_option(tmp_path):
    out = tmp_path / "k"
    assert main(["phantom", "cxr", "--n", "2", "--seed", "4", "--arch-style", "knob", "-o", str(out)]) == 0
    info = json.loads((out / "cohort.json").read_text())
    assert info["arch_style"] == "knob" and "arch_style knob" in info["source"]
    assert main(["phantom", "cxr", "--n", "1", "--arch-style", "ring", "-o", str(tmp_path / "x")]) == 2
