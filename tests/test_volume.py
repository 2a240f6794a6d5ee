import numpy as np
import pytest

from hounsfield import Volume, VolumeMeta


def asym(shape=(5, 4, 3)):
    return np.arange(np.prod(shape), dtype=np.int16).reshape(shape)


def test_world_and_voxel_are_inverse():
    aff = np.array([[-0.5, 0, 0, 10], [0, 0.7, 0, -20], [0, 0, 3, 5], [0, 0, 0, 1]])
    v = Volume(asym(), aff)
    ijk = np.array([[0, 0, 0], [4, 3, 2], [1.5, 2, 0.5]])
    assert np.allclose(v.voxel(v.world(ijk)), ijk)
    assert v.world([4, 3, 2]).tolist() == [8.0, -17.9, 11.0]
    assert v.spacing == (0.5, 0.7, 3.0)
    assert v.orientation == "LAS"
    assert v.voxel_volume_mm3 == pytest.approx(1.05)


def test_slice_z_is_superior_positive_and_follows_k():
    aff = np.diag([1.0, 1.0, -2.0, 1.0])  # k runs inferior
    aff[2, 3] = 100
    v = Volume(asym(), aff)
    assert v.slice_z_mm(0) == 100 and v.slice_z_mm(2) == 96
    assert v.slice_axis_is_z


def test_to_ras_keeps_world_mapping():
    aff = np.array([[0, 0, -2.0, 50], [0.5, 0, 0, -3], [0, -0.7, 0, 9], [0, 0, 0, 1]])
    v = Volume(asym(), aff)
    r = v.to_ras()
    assert r.orientation == "RAS"
    # every voxel has the same value at the same world point
    for ijk in [(0, 0, 0), (4, 3, 2), (2, 1, 1)]:
        w = v.world(ijk)
        assert r.array[tuple(np.rint(r.voxel(w)).astype(int))] == v.array[ijk]


def test_resample_like_aligns_in_world_not_by_shape():
    # a label at a known world point on a coarse grid appears at the same world point on a fine one
    coarse = np.zeros((4, 4, 4), np.uint8)
    coarse[1, 2, 3] = 7
    cv = Volume(coarse, np.diag([2.0, 2.0, 2.0, 1.0]))
    fine_aff = np.diag([-1.0, 1.0, 1.0, 1.0])
    fine_aff[0, 3] = 7.0  # flipped x axis, different origin
    fv = Volume(np.zeros((8, 8, 8), np.int16), fine_aff)
    m = cv.resample_like(fv, order=0)
    assert m.shape == fv.shape and m.array.dtype == np.uint8
    # world (2, 4, 6) is voxel (1, 2, 3) of coarse; on fine grid i = 7 - 2 = 5, j = 4, k = 6
    assert m.array[5, 4, 6] == 7
    assert m.array.sum() == 7 * 8  # a 2x2x2 mm voxel covers 8 fine voxels
    assert m.array[2, 4, 6] == 0


def test_volume_validation():
    with pytest.raises(ValueError):
        Volume(np.zeros((3, 3)), np.eye(4))
    with pytest.raises(ValueError):
        Volume(np.zeros((3, 3, 3)), np.zeros((4, 4)))


def test_meta_round_trip_dict():
    m = VolumeMeta(modality="CT", kvp=120.0, decisions=("a", "b"), gated=True, gated_reason="x")
    assert VolumeMeta.from_dict(m.to_dict()) == m
