"""Overlap-weighted slab averaging: exact weights and exact world geometry."""

from __future__ import annotations

import numpy as np
import pytest

from hounsfield.errors import InputError
from hounsfield.imaging.slabs import slab_average, slab_weights
from hounsfield.volume import Volume


def test_0_75mm_slices_make_4_slice_averages():
    w, c = slab_weights(8, 0.75, 3.0, 3.0)
    assert w.shape == (2, 8)
    assert np.allclose(w[0], [0.25] * 4 + [0] * 4) and np.allclose(w[1], [0] * 4 + [0.25] * 4)
    assert np.allclose(c, [1.5, 5.5])


def test_1mm_slices_weights_1_1_1():
    w, _ = slab_weights(6, 1.0, 3.0, 3.0)
    assert np.allclose(w * 3, [[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]])


def test_1_25mm_slices_fractional_overlap():
    w, c = slab_weights(5, 1.25, 3.0, 3.0)
    # slab 0 = [0, 3] mm: slices [0, 1.25], [1.25, 2.5], [2.5, 3.75] overlap 1.25, 1.25, 0.5
    # slab 1 = [3, 6] mm: slices [2.5, 3.75], [3.75, 5], [5, 6.25] overlap 0.75, 1.25, 1.0
    assert np.allclose(w * 3, [[1.25, 1.25, 0.5, 0, 0], [0, 0, 0.75, 1.25, 1.0]])
    assert np.allclose(w.sum(axis=1), 1.0)
    assert np.allclose(c, [1.5 / 1.25 - 0.5, 4.5 / 1.25 - 0.5])


def test_1_5mm_increment_overlapping_slabs():
    w, c = slab_weights(8, 0.75, 3.0, 1.5)
    assert w.shape == (3, 8)
    assert np.allclose(w[1], [0, 0, 0.25, 0.25, 0.25, 0.25, 0, 0])
    assert np.allclose(c, [1.5, 3.5, 5.5])


def test_3mm_input_is_identity_and_short_input_has_no_slab():
    w, _ = slab_weights(4, 3.0, 3.0, 3.0)
    assert np.allclose(w, np.eye(4))
    w, _ = slab_weights(3, 0.75, 3.0, 3.0)
    assert w.shape == (0, 3)


def test_slab_average_values_and_int_rounding():
    a = np.zeros((2, 2, 8), np.int16)
    a[..., :] = np.array([100, 100, 100, 103, 200, 200, 200, 200], np.int16)
    out = slab_average(Volume(a, np.diag([0.5, 0.5, 0.75, 1.0])))
    assert out.array.dtype == np.int16 and out.shape == (2, 2, 2)
    assert out.array[0, 0].tolist() == [101, 200]  # 100.75 rounds to 101
    assert out.spacing == pytest.approx((0.5, 0.5, 3.0))
    assert out.meta.thickness_mm == 3.0 and out.meta.increment_mm == 3.0


@pytest.mark.parametrize("kdir", [1.0, -1.0])
@pytest.mark.parametrize("dz", [0.75, 1.0, 1.25, 0.625])
def test_world_geometry_is_exact(kdir, dz):
    # a volume whose value is its world z: the slab average of a linear ramp equals z at the slab centre,
    # so out.array[..., m] == out.slice_z_mm(m) checks the output affine exactly (also for k pointing down)
    n = 40
    aff = np.diag([0.7, -0.7, kdir * dz, 1.0])
    aff[:3, 3] = (-50.0, 30.0, 120.0)
    v0 = Volume(np.zeros((3, 3, n), np.float32), aff)
    z = v0.slice_z_mm(np.arange(n))
    v = Volume(np.broadcast_to(z, (3, 3, n)).astype(np.float64), aff)
    for inc in (3.0, 1.5):
        out = slab_average(v, 3.0, inc)
        zc = out.slice_z_mm(np.arange(out.shape[2]))
        # exact when slabs hold whole slices; a fractional edge slice shifts the mean by < 1/8 slice
        tol = 1e-4 if abs(3.0 / dz - round(3.0 / dz)) < 1e-9 else dz / 8
        assert np.allclose(out.array[1, 1], zc, atol=tol)
        assert abs(np.diff(zc)).tolist() == pytest.approx([inc] * (out.shape[2] - 1))
        # slab 0 starts at the outer edge of input slice 0
        assert abs(zc[0] - (z[0] - kdir * dz / 2 + kdir * 1.5)) < 1e-6
        assert np.allclose(out.affine[:3, :2], aff[:3, :2])


def test_bad_arguments():
    with pytest.raises(InputError):
        slab_weights(5, 0.0, 3.0, 3.0)
    with pytest.raises(InputError):
        slab_average(Volume(np.zeros((2, 2, 2), np.int16), np.diag([1, 1, 1.0, 1])))
