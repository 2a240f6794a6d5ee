"""Fake-gated conversion: slab averaging to 3 mm, native thick slices, file naming."""

from __future__ import annotations

import numpy as np
import pytest

from hounsfield.calcium import fake_gated, fake_gated_name, save_fake_gated, score_volume
from hounsfield.errors import InputError
from hounsfield.io import read_nifti
from hounsfield.volume import Volume, VolumeMeta


def thin(dz=0.75, n=16, thickness=None) -> Volume:
    a = np.zeros((12, 12, n), np.int16)
    a[3:7, 3:7, 4:8] = 400  # a 2 x 2 mm x 3 mm plaque exactly filling input slices 4-7 (0.75 mm)
    return Volume(a, np.diag([0.5, 0.5, dz, 1.0]), VolumeMeta(thickness_mm=thickness or dz, increment_mm=dz))


def test_0_75mm_input_becomes_4_slice_averages():
    r = fake_gated(thin())
    assert r.standard and r.slices_averaged == 4
    assert r.volume.shape == (12, 12, 4)
    assert r.volume.spacing[2] == pytest.approx(3.0)
    assert r.volume.array[4, 4].tolist() == [0, 400, 0, 0]
    assert fake_gated_name(r) == "non_gated_FakeGated_avg_slices=4.nii.gz"
    # the plaque lies in exactly one slab: 16 px x 0.25 = 4 mm^2 x weight 4
    assert score_volume(r.volume).agatston == pytest.approx(16.0)
    assert any("fake gated" in d for d in r.volume.meta.decisions)


def test_thin_slices_overestimate_partial_volume_is_averaged():
    # the plaque straddling two slabs (slices 2-5) is halved to 200 HU in each slab
    a = np.zeros((12, 12, 16), np.int16)
    a[3:7, 3:7, 2:6] = 400
    r = fake_gated(Volume(a, np.diag([0.5, 0.5, 0.75, 1.0])))
    assert r.volume.array[4, 4].tolist() == [200, 200, 0, 0]
    assert score_volume(r.volume).agatston == pytest.approx(2 * 4.0 * 2)


def test_1_5mm_increment_option():
    r = fake_gated(thin(), increment_mm=1.5)
    assert r.volume.shape[2] == 7 and r.volume.spacing[2] == pytest.approx(1.5)
    s = score_volume(r.volume)
    assert s.slice_increment_mm == pytest.approx(1.5)
    # slabs 1-3 hold 200 / 400 / 200 HU plaques of 4 mm^2: (2 + 4 + 2) x 4 mm^2 x 1.5/3
    assert s.agatston == pytest.approx((2 + 4 + 2) * 4.0 * 0.5)
    with pytest.raises(InputError):
        fake_gated(thin(), increment_mm=2.0)


def test_1_25mm_input_fractional_weights():
    a = np.zeros((4, 4, 5), np.int16)
    a[..., :] = np.array([300, 300, 0, 0, 0], np.int16)
    r = fake_gated(Volume(a, np.diag([0.5, 0.5, 1.25, 1.0])))
    assert r.slices_averaged == pytest.approx(2.4)
    assert r.volume.array[0, 0].tolist() == [250, 0]  # 300 x 2.5 / 3
    assert fake_gated_name(r, "p01_non_gated") == "p01_non_gated_FakeGated_avg_slices=2.4.nii.gz"


def test_thick_input_scored_natively_and_flagged():
    v = thin(dz=5.0, n=6)
    r = fake_gated(v)
    assert not r.standard and r.volume.shape == v.shape and "non-standard" in r.note
    # 3 mm thickness at a 2 mm increment is averaged (thickness not above 3 mm)
    r2 = fake_gated(thin(dz=2.0, n=12, thickness=3.0))
    assert r2.standard and r2.slices_averaged == 1.5
    # 1 mm increment but 5 mm thick reconstructions: native, flagged
    assert not fake_gated(thin(dz=1.0, thickness=5.0)).standard


def test_save_round_trip(tmp_path):
    v = thin()
    lps = Volume(v.array[::-1, ::-1].copy(), np.diag([-0.5, -0.5, 0.75, 1.0]) @ np.array(
        [[1, 0, 0, -5.5], [0, 1, 0, -5.5], [0, 0, 1, 0], [0, 0, 0, 1]]), v.meta)
    r = fake_gated(lps)
    p = save_fake_gated(r, tmp_path / "out")
    assert p.name == "non_gated_FakeGated_avg_slices=4.nii.gz"
    back = read_nifti(p)
    assert np.allclose(back.affine, r.volume.affine, atol=1e-4)
    assert np.array_equal(back.array, r.volume.array)
