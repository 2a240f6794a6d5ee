"""Session-3 additions: curved arch plates, the knob shift, truth reuse, small resnet18, the input cache."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from hounsfield.cxr.cohort import aorta_near_truth_box
from hounsfield.cxr.model import CXRModel, build_network, load_model
from hounsfield.cxr.preprocess import Preprocess
from hounsfield.cxr.train import TrainConfig, cached_inputs
from hounsfield.errors import InputError
from hounsfield.phantoms import build_patient, sample_params
from hounsfield.phantoms.aortic import draw_knob_shift, sample_arch_plaques, wall_strip
from hounsfield.phantoms.calcium import Plaque

X, Y, Z = np.eye(3)


def test_wall_strip_flat_is_one_plate():
    (p,) = wall_strip(np.zeros(3), Z, X, np.cross(Z, X), 10.0, 2.0, 0.5, 1.0, 700.0, np.inf)
    assert np.allclose(p.centre, [10, 0, 0]) and np.allclose(p.radii, [2.0, 0.5, 1.0])
    assert np.allclose(p.axes, np.stack([Z, X, Y], axis=1))


def test_wall_strip_pieces_on_the_circle():
    # a_circ 3 mm on a 10 mm radius: k = ceil(6 / 3) = 2 pieces at -0.15 and +0.15 rad, each of semi-axis 1.5
    pieces = wall_strip(np.zeros(3), Z, X, np.cross(Z, X), 10.0, 2.0, 0.5, 3.0, 700.0, 3.0)
    assert len(pieces) == 2
    for p, a in zip(pieces, (-0.15, 0.15)):
        assert np.allclose(p.centre, [10 * np.cos(a), 10 * np.sin(a), 0])
        assert np.allclose(p.radii, [2.0, 0.5, 1.5])
        assert abs(p.axes[:, 1] @ p.axes[:, 2]) < 1e-12 and np.isclose(p.axes[:, 2] @ p.centre, 0)  # tangent
    assert np.isclose(sum(p.volume_mm3 for p in pieces), 4 / 3 * np.pi * 2.0 * 0.5 * 3.0)


def test_curved_arch_plates_keep_the_volume_and_the_draws():
    p = sample_params(3, next(i for i in range(300) if sample_params(3, i, arch_link=0.8).arch_calcium_mm3 > 50),
                      arch_link=0.8)
    heart = build_patient(p).heart
    flat = sample_arch_plaques(p.arch_calcium_mm3, heart, np.random.default_rng(1), curved=False)
    curved = sample_arch_plaques(p.arch_calcium_mm3, heart, np.random.default_rng(1))
    assert len(curved) > len(flat)
    assert np.isclose(sum(q.volume_mm3 for q in curved), sum(q.volume_mm3 for q in flat))


def test_knob_shift_only_in_arch_link_cohorts():
    assert draw_knob_shift(62.0, np.random.default_rng(0)) == pytest.approx(
        np.clip(np.random.default_rng(0).normal(8.0, 3.0), 0, 18))
    p0, p1 = sample_params(5, 2), sample_params(5, 2, arch_link=0.8)
    assert p0.knob_mm == 0.0 and p1.knob_mm > 0
    h0, h1 = build_patient(p0).heart, build_patient(p1).heart
    assert np.allclose(h0.aorta[:2], h1.aorta[:2])  # root and ascending aorta unchanged
    assert h1.aorta[17, 0] == pytest.approx(h0.aorta[17, 0] - p1.knob_mm)  # arch end moved left (-x)
    assert np.allclose(h0.aorta[-1], h1.aorta[-1])  # lower descending aorta back to the default


def _fake(plaque_centre, aorta_pts, aorta_r=10.0, distractors=()):
    pl = Plaque("LAD", np.asarray(plaque_centre, float), np.eye(3), np.array([1.0, 1.0, 1.0]), 500.0)
    heart = SimpleNamespace(aorta=np.asarray(aorta_pts, float), aorta_r=np.full(len(aorta_pts), aorta_r))
    return SimpleNamespace(plaques=[pl], distractors=list(distractors), heart=heart)


def test_aorta_near_truth_box():
    # box: plaque at 0 +- (1 + 10) mm; aorta tube of radius 10 + 2 mm allowance
    far = _fake([0, 0, 0], [[40, 0, -50], [40, 0, 50]])  # axis 40 mm away: gap 29 mm > 12
    near = _fake([0, 0, 0], [[22, 0, -50], [22, 0, 50]])  # gap 11 mm <= 12
    assert not aorta_near_truth_box(far) and aorta_near_truth_box(near)
    assert aorta_near_truth_box(far, near)  # the moved tube counts, before or after
    assert not aorta_near_truth_box(near, near)  # nothing differs: nothing to check
    assert not aorta_near_truth_box(near, margin_mm=0.0)  # gap 21 mm > 12 without the 10 mm margin
    d = Plaque("aorta", np.array([0.0, 12.5, 0.0]), np.eye(3), np.array([2.0, 0.5, 2.0]), 700.0)
    assert aorta_near_truth_box(_fake([0, 0, 0], [[40, 0, -50], [40, 0, 50]], distractors=[d]))
    assert not aorta_near_truth_box(SimpleNamespace(plaques=[], distractors=[], heart=None))


def test_small_resnet18_and_its_saved_config(tmp_path):
    import torch

    net = build_network("resnet18", 3, width=0.25, stem_stride=2)
    assert net.conv1.out_channels == 16 and net.conv1.stride == (2, 2)
    assert net(torch.zeros(2, 1, 64, 64)).shape == (2, 3)
    with pytest.raises(InputError):
        build_network("efficientnet-b0", 3, width=0.5)
    with pytest.raises(InputError):
        TrainConfig(arch="densenet121", stem_stride=2)
    cfg = TrainConfig(arch="resnet18", width=0.25, stem_stride=2)
    assert cfg.network == {"width": 0.25, "stem_stride": 2} and TrainConfig(arch="resnet18").network == {}
    m = CXRModel("resnet18", "classify", net, Preprocess(size=64, resize=64), network=cfg.network)
    back = load_model(m.save(tmp_path / "m.pt"))
    assert back.network == cfg.network and back.net.conv1.out_channels == 16
    x = np.random.default_rng(0).random((2, 1, 64, 64)).astype(np.float32)
    assert np.allclose(back.outputs(x), m.outputs(x), atol=2e-2)  # float16 weights


def test_input_cache_reused_only_when_it_matches(tmp_path):
    from PIL import Image

    paths = []
    for i in range(3):
        a = np.zeros((20, 20), np.uint8)
        a[5 + i, 5:15] = 255
        Image.fromarray(a).save(tmp_path / f"{i}.png")
        paths.append(str(tmp_path / f"{i}.png"))
    s8, s6 = Preprocess(size=8, resize=8, equalize=False), Preprocess(size=10, resize=10, equalize=False)
    cache = tmp_path / "c.npz"
    x = cached_inputs(paths, s8, cache)
    assert x.shape == (3, 1, 8, 8) and cache.is_file()
    seen = []
    assert np.array_equal(cached_inputs(paths, s8, cache, seen.append), x) and "from the cache" in seen[0]
    assert cached_inputs(paths, s6, cache).shape == (3, 1, 10, 10)  # other preprocessing: rebuilt
    assert cached_inputs(paths[:2], s6, cache).shape == (2, 1, 10, 10)  # other images: rebuilt
