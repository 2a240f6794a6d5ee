"""Preprocessing: equalisation, resize + centre crop, presets recorded in configs."""

from __future__ import annotations

import numpy as np
import pytest

from hounsfield.cxr.preprocess import Preprocess, centre_crop, equalize_histogram, preprocess, preset, resize_short_side


def test_presets_keep_published_crop_fraction():
    assert (preset("published").size, preset("published").resize) == (1024, 1248)
    assert (preset(512).size, preset(512).resize) == (512, 624)
    assert (preset(224).size, preset(224).resize) == (224, 273)
    assert Preprocess.from_dict(preset(224).to_dict()) == preset(224)
    with pytest.raises(ValueError):
        Preprocess(size=300, resize=200)


def test_equalize_histogram_hand_values():
    img = np.array([[0.0, 0.0, 0.25, 0.25], [0.25, 0.25, 0.5, 0.9]])
    out = equalize_histogram(img, bins=4)
    # bins 0,1,2,3 hold 2,4,1,1 pixels: cdf 2,6,7,8 -> (cdf-2)/6
    np.testing.assert_allclose(out, [[0, 0, 4 / 6, 4 / 6], [4 / 6, 4 / 6, 5 / 6, 1.0]], atol=1e-6)
    flat = equalize_histogram(np.random.default_rng(0).random((200, 200)) ** 2)
    assert abs(float(np.median(flat)) - 0.5) < 0.02  # equalised: uniform-ish distribution


def test_resize_and_crop_geometry():
    img = np.zeros((100, 200), np.float32)
    img[:, 100:] = 1.0
    r = resize_short_side(img, 50)
    assert r.shape == (50, 100)
    c = centre_crop(r, 40)
    assert c.shape == (40, 40)
    # the left/right edge stays at the centre after crop
    assert c[:, :19].max() < 0.05 and c[:, 21:].min() > 0.95
    out = preprocess(img, Preprocess(size=40, resize=50, equalize=False))
    np.testing.assert_allclose(out, c)


def test_real_fixture_preprocess_sizes(fixtures_dir):
    from hounsfield.cxr.io import read_radiograph

    r = read_radiograph(fixtures_dir / "cxr" / "00000001_000.png")
    for s in (224, 512):
        x = preprocess(r, preset(s))
        assert x.shape == (s, s) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1


def test_heart_region_cut_out_and_recorded():
    from hounsfield.cxr.preprocess import HEART_REGION

    img = np.zeros((400, 400), np.float32)
    img[100:300, 200:300] = 1.0  # the region's lower-right half
    p = preset(50, equalize=False, region=(0.25, 0.75, 0.25, 0.75))
    assert (p.size, p.resize, p.region) == (50, 50, (0.25, 0.75, 0.25, 0.75))
    out = preprocess(img, p)
    assert out.shape == (50, 50)
    assert out[:, :24].max() < 0.05 and out[:, 26:].min() > 0.95  # 200 px cut-out -> 50 px, edge at the centre
    assert Preprocess.from_dict(p.to_dict()) == p and p.to_dict()["region"] == [0.25, 0.75, 0.25, 0.75]
    assert Preprocess.from_dict(preset(224).to_dict()).region is None
    assert preset(224, region=HEART_REGION).region == HEART_REGION
    with pytest.raises(ValueError):
        Preprocess(region=(0.8, 0.2, 0.0, 1.0))
