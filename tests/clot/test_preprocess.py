import numpy as np
import pytest

from hounsfield.clot.preprocess import (check_registration, fallback_roi, find_cow_roi, pad_center, prepare,
                                        register_rigid, restore, unpad, window)
from hounsfield.volume import Volume


def test_pad_center_uses_background_value_and_unpad_inverts():
    a = np.arange(6, dtype=np.int16).reshape(2, 3)
    p, off = pad_center(a, 6, value=-7)
    assert p.shape == (6, 6) and off == (2, 1)
    assert (p == -7).sum() == 36 - 6  # every padded pixel is the background value
    assert np.array_equal(unpad(p, off, a.shape), a)
    with pytest.raises(ValueError):
        pad_center(np.zeros((7, 2)), 6)


def test_window_is_linear_and_clipped():
    assert window(np.array([-100.0, 300.0, 700.0]), -100, 700).tolist() == [0, 128, 255]
    assert window(np.array([-3000, 9000]), -10, 110).tolist() == [0, 255]


def test_roi_contains_every_clot(small_heads):
    for h in small_heads:
        roi = find_cow_roi(h.cta)
        assert roi.method.startswith("vessels")
        pts = h.clot.world(np.argwhere(h.clot.array > 0))
        lo = np.asarray(roi.centre_mm) - np.asarray(roi.size_mm) / 2
        hi = np.asarray(roi.centre_mm) + np.asarray(roi.size_mm) / 2
        assert np.all(pts >= lo) and np.all(pts <= hi)
        assert roi.size_mm[0] < 150 and roi.size_mm[1] < 150  # smaller than the head


def test_no_vessels_falls_back(small_heads):
    roi = find_cow_roi(small_heads[0].ncct)
    assert roi.method.startswith("fallback")
    roi2 = fallback_roi(small_heads[0].ncct)
    assert abs(roi2.centre_mm[0]) < 15  # the head is centred near x = 0


def test_prepare_restore_round_trip_is_exact(small_heads):
    h = small_heads[1]
    prep = prepare(h.cta, h.ncct, h.clot, spacing=(1.0, 1.0, 2.0), size=160)
    assert prep.channels.shape[1:] == (3, 160, 160) and prep.channels.dtype == np.uint8
    assert prep.mask.sum() == h.clot.array.sum()
    # padding holds the background value (0 after windowing) outside the ROI
    oi, oj = prep.offset
    if oi > 0:
        assert prep.channels[:, :, :oi].max() == 0
    back = restore(prep.mask, prep, h.cta)
    assert np.array_equal(back.array, h.clot.array)
    assert prep.registration is not None and prep.registration.ok


def test_prepare_ncct_only_says_so(small_heads):
    h = small_heads[0]
    prep = prepare(None, h.ncct, spacing=(1.0, 1.0, 2.0), size=160)
    assert not prep.has_cta and any("no CTA given" in n for n in prep.notes)
    assert np.array_equal(prep.channels[:, 0], prep.channels[:, 2])


def _shifted(v: Volume, mm) -> Volume:
    aff = v.affine.copy()
    aff[:3, 3] += mm
    return Volume(v.array, aff, v.meta)


def test_registration_check_and_rigid_registration(small_heads):
    h = small_heads[2]
    bad = _shifted(h.ncct, (7.0, -6.0, 4.0))
    chk = check_registration(h.cta, bad)
    assert not chk.ok and chk.bone_dice < check_registration(h.cta, h.ncct).bone_dice
    fixed, info = register_rigid(bad, h.cta)
    assert fixed.shape == h.cta.shape
    after = check_registration(h.cta, fixed)
    assert after.ok and after.bone_dice > chk.bone_dice + 0.2
