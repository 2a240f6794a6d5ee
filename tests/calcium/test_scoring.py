"""Exact, hand-computed tests of hounsfield.calcium.scoring.

Unless a test says otherwise: 0.5 x 0.5 mm pixels (4 pixels = 1 mm^2),
3 mm slices at a 3 mm increment (x increment/3 = 1), background 0 HU.
"""

from __future__ import annotations

import numpy as np
import pytest

from hounsfield.calcium.scoring import (
    KVP_TABLE,
    ScoringOptions,
    agatston_weight,
    mass_calibration_factor,
    risk_category,
    score_volume,
)
from hounsfield.errors import InputError
from hounsfield.volume import Volume, VolumeMeta


def vol(a: np.ndarray, spacing=(0.5, 0.5, 3.0), origin=(0.0, 0.0, 0.0), **meta) -> Volume:
    aff = np.diag([*spacing, 1.0])
    aff[:3, 3] = origin
    return Volume(np.asarray(a, np.int16), aff, VolumeMeta(**meta))


def blank(shape=(10, 10, 1)) -> np.ndarray:
    return np.zeros(shape, np.int16)


# ----------------------------------------------------------------- threshold
def test_threshold_129_is_not_calcium_130_is():
    a = blank()
    a[2:4, 2:4, 0] = 129
    s = score_volume(vol(a))
    assert s.agatston == 0.0 and s.n_lesions == 0 and s.volume_mm3 == 0.0
    a[2:4, 2:4, 0] = 130
    s = score_volume(vol(a))
    assert s.agatston == pytest.approx(1.0)  # 1 mm^2 x weight 1 x 3/3
    assert s.volume_mm3 == pytest.approx(3.0)  # 4 px x 0.25 mm^2 x 3 mm
    assert s.n_lesions == 1 and s.lesions[0].weight == 1


def test_threshold_is_per_voxel():
    # one of the four pixels at 129: only 3 pixels (0.75 mm^2) pass, under the 1 mm^2 minimum
    a = blank()
    a[2:4, 2:4, 0] = 130
    a[3, 3, 0] = 129
    assert score_volume(vol(a)).agatston == 0.0


# ----------------------------------------------------------------- weights
@pytest.mark.parametrize("peak, weight", [(130, 1), (199, 1), (200, 2), (299, 2), (300, 3), (399, 3), (400, 4),
                                          (1500, 4)])
def test_weight_boundaries(peak, weight):
    a = blank()
    a[2:4, 2:4, 0] = 130
    a[2, 2, 0] = peak
    s = score_volume(vol(a))
    assert s.lesions[0].weight == weight
    assert s.lesions[0].peak_hu == peak
    assert s.agatston == pytest.approx(1.0 * weight)
    assert int(agatston_weight(peak)) == weight


def test_weight_function_vectorised():
    w = agatston_weight(np.array([0, 129, 130, 199, 200, 299, 300, 399, 400]))
    assert w.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4]


# ----------------------------------------------------------------- minimum area
def test_minimum_area_exactly_one_mm2_is_kept():
    a = blank()
    a[2:4, 2:4, 0] = 200  # 4 px = 1.00 mm^2 exactly
    assert score_volume(vol(a)).agatston == pytest.approx(2.0)
    a[3, 3, 0] = 0  # 3 px = 0.75 mm^2
    assert score_volume(vol(a)).agatston == 0.0


def test_minimum_area_with_1mm_pixels_and_0_7mm_pixels():
    a = blank()
    a[5, 5, 0] = 300  # one 1 x 1 mm pixel = 1 mm^2: kept, weight 3
    assert score_volume(vol(a, spacing=(1.0, 1.0, 3.0))).agatston == pytest.approx(3.0)
    b = blank()
    b[5, 5:7, 0] = 300  # 2 px of 0.49 mm^2 = 0.98 mm^2: dropped
    assert score_volume(vol(b, spacing=(0.7, 0.7, 3.0))).agatston == 0.0
    b[6, 5, 0] = 300  # 3 px = 1.47 mm^2: kept, 1.47 x 3
    assert score_volume(vol(b, spacing=(0.7, 0.7, 3.0))).agatston == pytest.approx(1.47 * 3)


def test_minimum_area_on_a_rotated_grid_is_not_lost_to_rounding():
    # pixel spacing from a rotated affine is 0.5 only up to rounding; 4 px must still be 1 mm^2
    t = np.deg2rad(30.0)
    rot = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    aff = np.eye(4)
    aff[:3, :3] = rot @ np.diag([0.5, 0.5, 3.0])
    a = blank()
    a[2:4, 2:4, 0] = 130
    assert score_volume(Volume(a, aff)).agatston == pytest.approx(1.0)


def test_minimum_area_variants():
    a = blank()
    a[2, 2:4, 0] = 200  # 2 px = 0.5 mm^2
    assert score_volume(vol(a)).agatston == 0.0
    assert score_volume(vol(a), ScoringOptions(min_area_mm2=0.5)).agatston == pytest.approx(0.5 * 2)
    assert score_volume(vol(a), ScoringOptions(min_area_px=3)).agatston == 0.0
    assert score_volume(vol(a), ScoringOptions(min_area_px=2)).agatston == pytest.approx(1.0)
    assert score_volume(vol(a), ScoringOptions(min_area_mm2=None)).agatston == pytest.approx(1.0)
    assert "clinical" in ScoringOptions().protocol
    assert "variant" in ScoringOptions(min_area_mm2=0.5).protocol


# ----------------------------------------------------------------- connectivity
def test_diagonal_only_contact_8_vs_4_connectivity():
    a = blank()
    a[0:2, 0:2, 0] = 150  # 1 mm^2 peaking at 150 (weight 1)
    a[2:4, 2:4, 0] = 450  # 1 mm^2 peaking at 450 (weight 4), touching the first at one corner only
    s8 = score_volume(vol(a))
    assert s8.n_lesions == 1
    assert s8.agatston == pytest.approx(2.0 * 4)  # one 2 mm^2 component, peak 450
    s4 = score_volume(vol(a), ScoringOptions(connectivity=4))
    assert s4.n_lesions == 2
    assert s4.agatston == pytest.approx(1.0 * 1 + 1.0 * 4)


def test_diagonal_contact_decides_whether_a_small_plaque_counts():
    a = blank()
    a[0:2, 0, 0] = 200  # 2 px
    a[2:4, 1, 0] = 200  # 2 px, diagonal neighbour of (1, 0)
    assert score_volume(vol(a)).agatston == pytest.approx(2.0)  # 8-connected: 1 mm^2, weight 2
    assert score_volume(vol(a), ScoringOptions(connectivity=4)).agatston == 0.0  # two 0.5 mm^2 specks


def test_components_are_2d_per_slice():
    # 2 px on each of two adjacent slices, exactly above each other: two 0.5 mm^2 components, both dropped
    a = blank((10, 10, 2))
    a[2, 2:4, :] = 300
    assert score_volume(vol(a)).agatston == 0.0


# ----------------------------------------------------------------- two-slice lesion
def two_slice_lesion() -> np.ndarray:
    a = blank((10, 10, 2))
    a[2:4, 2:4, 0] = 130
    a[2, 2, 0] = 250  # slice 0: 1 mm^2, peak 250 -> weight 2
    a[2:5, 2:4, 1] = 130
    a[3, 3, 1] = 450  # slice 1: 1.5 mm^2, peak 450 -> weight 4
    return a


def test_two_slice_lesion_weights_each_slice_by_its_own_peak():
    s = score_volume(vol(two_slice_lesion()))
    assert s.agatston == pytest.approx(1.0 * 2 + 1.5 * 4)  # 8, not 2.5 x 4
    assert s.n_lesions == 1
    les = s.lesions[0]
    assert les.slices == (0, 1)
    assert les.area_mm2 == pytest.approx(2.5)
    assert les.peak_hu == 450 and les.weight == 4
    assert les.volume_mm3 == pytest.approx(10 * 0.25 * 3.0)
    # centroid: i = (2+3)*2 + (2+3+4)*2 = 28 / 10 voxels, j = 2.5, k = 6/10
    assert les.centroid_mm == pytest.approx((2.8 * 0.5, 2.5 * 0.5, 0.6 * 3.0))


def test_two_slice_lesion_3d_peak_variant_inflates():
    s = score_volume(vol(two_slice_lesion()), ScoringOptions(lesion_mode="3d"))
    assert s.agatston == pytest.approx(2.5 * 4)
    assert "3-D lesion peak" in s.protocol


# ----------------------------------------------------------------- increment
def test_increment_1_5_halves_the_score_and_comes_from_positions():
    a = two_slice_lesion()
    s3 = score_volume(vol(a, spacing=(0.5, 0.5, 3.0)))
    # 1.5 mm increment, SliceThickness 3 mm and a stale 3 mm increment in the metadata: the positions win
    s15 = score_volume(vol(a, spacing=(0.5, 0.5, 1.5), thickness_mm=3.0, increment_mm=3.0))
    assert s3.agatston == pytest.approx(8.0) and s3.slice_increment_mm == pytest.approx(3.0)
    assert s15.agatston == pytest.approx(8.0 * 1.5 / 3.0)
    assert s15.slice_increment_mm == pytest.approx(1.5)
    assert s15.volume_mm3 == pytest.approx(10 * 0.25 * 1.5)
    assert any("increment" in w for w in s15.warnings)
    # an explicit increment overrides
    assert score_volume(vol(a), increment_mm=1.5).agatston == pytest.approx(4.0)


# ----------------------------------------------------------------- kVp tables
@pytest.mark.parametrize("kvp", sorted(KVP_TABLE))
def test_kvp_table_boundaries(kvp):
    t, w2, w3, w4 = KVP_TABLE[kvp]
    hu = [t - 1, t, w2 - 1, w2, w3 - 1, w3, w4 - 1, w4]
    assert agatston_weight(np.array(hu), kvp).tolist() == [0, 1, 1, 2, 2, 3, 3, 4]


def test_kvp_tables_published_values():
    assert KVP_TABLE[70] == (207, 318, 477, 636)
    assert KVP_TABLE[80] == (177, 271, 408, 544)
    assert KVP_TABLE[100] == (145, 222, 334, 446)
    assert KVP_TABLE[120] == (130, 200, 300, 400)
    assert KVP_TABLE[135] == (119, 183, 274, 364)


def test_kvp_changes_the_score():
    a = blank()
    a[2:4, 2:4, 0] = 176
    assert score_volume(vol(a), ScoringOptions(kvp=80)).agatston == 0.0
    assert score_volume(vol(a), ScoringOptions(kvp=120)).agatston == pytest.approx(1.0)
    a[2:4, 2:4, 0] = 177
    s = score_volume(vol(a), ScoringOptions(kvp=80))
    assert s.agatston == pytest.approx(1.0) and s.threshold_hu == 177 and s.kvp == 80
    a[2, 2, 0] = 544
    assert score_volume(vol(a), ScoringOptions(kvp=80)).agatston == pytest.approx(4.0)
    with pytest.raises(InputError):
        ScoringOptions(kvp=90)


def test_kvp_mismatch_with_metadata_is_warned():
    a = blank()
    a[2:4, 2:4, 0] = 300
    s = score_volume(vol(a, kvp=100.0))
    assert any("100 kVp" in w for w in s.warnings)


# ----------------------------------------------------------------- mass
def test_mass_with_given_c():
    a = blank()
    a[2:4, 2:4, 0] = [[200, 300], [400, 500]]  # sum 1400 HU over 4 voxels of 0.75 mm^3
    s = score_volume(vol(a), ScoringOptions(mass_calibration=0.001))
    assert s.mass_mg == pytest.approx(0.001 * 0.75 * 1400)
    assert s.regions["all"].mass_mg == pytest.approx(1.05)
    assert s.lesions[0].mass_mg == pytest.approx(1.05)


def test_mass_is_none_without_calibration():
    a = blank()
    a[2:4, 2:4, 0] = 300
    s = score_volume(vol(a))
    assert s.mass_mg is None and s.regions["all"].mass_mg is None and s.lesions[0].mass_mg is None
    assert s.to_dict()["mass_mg"] is None


def test_mass_calibration_factor():
    assert mass_calibration_factor(290.0, 12.0) == pytest.approx(0.2 / 278.0)
    assert mass_calibration_factor(250.0, 0.0, density_mg_cm3=400.0) == pytest.approx(0.4 / 250.0)
    with pytest.raises(InputError):
        mass_calibration_factor(10.0, 12.0)


# ----------------------------------------------------------------- risk categories
@pytest.mark.parametrize("score, scheme, label", [
    (0, "default", "0"), (0.4, "default", "1-10"), (1, "default", "1-10"), (10, "default", "1-10"),
    (10.01, "default", "11-100"), (100, "default", "11-100"), (100.5, "default", "101-400"),
    (400, "default", "101-400"), (400.01, "default", ">400"),
    (0, "four", "0"), (100, "four", "1-100"), (101, "four", "101-400"), (401, "four", ">400"),
    (300, "four-300", "101-300"), (300.01, "four-300", ">300"),
    (0, "lung-screening", "0-10"), (10, "lung-screening", "0-10"), (11, "lung-screening", "11-100"),
    (1000, "lung-screening", "101-1000"), (1000.5, "lung-screening", ">1000"),
])
def test_risk_categories_upper_bounds_inclusive(score, scheme, label):
    assert risk_category(score, scheme) == label


def test_unknown_risk_scheme():
    with pytest.raises(InputError):
        risk_category(3, "nope")


# ----------------------------------------------------------------- regions
def roi_image() -> np.ndarray:
    a = blank((20, 20, 2))
    a[2:4, 2:4, 0] = 250  # lesion A at x 1.0-1.5, y 1.0-1.5: 1 mm^2 x 2
    a[14:16, 14:16, 1] = 450  # lesion B at x 7.0-7.5, y 7.0-7.5: 1 mm^2 x 4
    a[2:4, 14:16, 0] = 150  # lesion C at x 1-1.5, y 7-7.5: outside every label
    return a


def roi_on_other_grid() -> Volume:
    """Labels defined in world space (1: x, y < 5 mm; 2: x, y > 5 mm) on a 1 mm grid offset by 0.25 mm,
    stored with the i axis flipped (pointing left) so array indices and world disagree."""
    n = 12
    idx = np.arange(n)
    x = 0.25 + idx  # world x of the roi's voxel centres before flipping
    X, Y = np.meshgrid(x, x, indexing="ij")
    lab2d = np.where((X < 5) & (Y < 5), 1, np.where((X > 5) & (Y > 5), 2, 0)).astype(np.uint8)
    lab = np.repeat(lab2d[:, :, None], 3, axis=2)[::-1]  # flip i
    aff = np.diag([-1.0, 1.0, 3.0, 1.0])
    aff[:3, 3] = (0.25 + (n - 1), 0.25, -3.0)  # i=0 is now the largest x; one extra slice below
    return Volume(lab, aff)


def test_roi_labels_aligned_in_world_space_on_another_grid():
    s = score_volume(vol(roi_image()), roi=roi_on_other_grid())
    assert set(s.regions) == {"1", "2"}
    assert s.regions["1"].agatston == pytest.approx(2.0) and s.regions["1"].n_lesions == 1
    assert s.regions["2"].agatston == pytest.approx(4.0) and s.regions["2"].n_lesions == 1
    assert s.agatston == pytest.approx(6.0)  # lesion C is outside every label
    assert sorted(l.region for l in s.lesions) == ["1", "2"]
    named = score_volume(vol(roi_image()), roi=roi_on_other_grid(), region_names={1: "LAD", 2: "RCA"})
    assert named.regions["LAD"].agatston == pytest.approx(2.0) and named.regions["RCA"].agatston == pytest.approx(4.0)


def test_without_roi_everything_is_region_all():
    s = score_volume(vol(roi_image()))
    assert list(s.regions) == ["all"] and s.agatston == pytest.approx(7.0) and s.regions["all"].n_lesions == 3


def test_components_do_not_cross_labels():
    # a 2 x 4 px plaque (2 mm^2, peak 200) split in two 1 mm^2 halves by two labels: each label scores its half
    a = blank()
    a[2:4, 2:6, 0] = 200
    lab = np.zeros_like(a, np.uint8)
    lab[:, :4] = 1
    lab[:, 4:] = 2
    s = score_volume(vol(a), roi=vol(lab))
    assert s.regions["1"].agatston == pytest.approx(2.0) and s.regions["2"].agatston == pytest.approx(2.0)
    # with a 1 px / 7 px split, the 1 px part (0.25 mm^2) is dropped in its own label
    lab[:, :3] = 1
    lab[:, 3:] = 2
    lab[3, 2] = 2
    s = score_volume(vol(a), roi=vol(lab))
    assert s.regions["1"].agatston == 0.0 and s.regions["2"].agatston == pytest.approx(1.75 * 2)


# ----------------------------------------------------------------- orientations
def reorient(v: Volume, flips=(False, False, False), perm=(0, 1, 2)) -> Volume:
    """Store the same world content with flipped and/or permuted voxel axes."""
    arr, aff = v.array, v.affine.copy()
    for ax, f in enumerate(flips):
        if f:
            n = arr.shape[ax]
            arr = np.flip(arr, axis=ax)
            aff[:3, 3] = aff[:3, 3] + aff[:3, ax] * (n - 1)
            aff[:3, ax] = -aff[:3, ax]
    arr = np.transpose(arr, perm)
    aff2 = aff.copy()
    aff2[:3, :3] = aff[:3, list(perm)]
    return Volume(np.ascontiguousarray(arr), aff2, v.meta)


def oriented_case() -> Volume:
    a = blank((12, 9, 5))
    a[2:4, 2:4, 1] = 130
    a[2, 2, 1] = 250
    a[2:5, 2:4, 2] = 130
    a[3, 3, 2] = 450
    a[8:11, 5:8, 4] = 320  # second lesion: 9 px of 0.3 mm^2 = 2.7 mm^2 x 3
    return vol(a, spacing=(0.5, 0.6, 3.0), origin=(-10.0, 20.0, 100.0))


@pytest.mark.parametrize("flips, perm, slices", [
    ((False, False, False), (0, 1, 2), [(1, 2), (4, 4)]),
    ((True, True, False), (0, 1, 2), [(1, 2), (4, 4)]),  # LPS storage
    ((False, False, True), (0, 1, 2), [(2, 3), (0, 0)]),  # slices stored superior to inferior
    ((True, False, True), (1, 0, 2), [(2, 3), (0, 0)]),  # i/j swapped and flipped
    ((False, True, False), (2, 0, 1), [(-1, -1), (-1, -1)]),  # k of the file is not the axial axis
])
def test_asymmetric_orientations_give_the_same_answer(flips, perm, slices):
    base = oriented_case()
    ref = score_volume(base)
    # 0.3 mm^2 pixels: (1.2 x 2 + 1.8 x 4) + 2.7 x 3
    assert ref.agatston == pytest.approx(9.6 + 8.1)
    v = reorient(base, flips, perm)
    s = score_volume(v)
    assert s.agatston == pytest.approx(ref.agatston)
    assert s.volume_mm3 == pytest.approx(ref.volume_mm3)
    by_z = sorted(s.lesions, key=lambda l: l.centroid_mm[2])
    ref_by_z = sorted(ref.lesions, key=lambda l: l.centroid_mm[2])
    for got, exp in zip(by_z, ref_by_z):
        assert got.centroid_mm == pytest.approx(exp.centroid_mm)
        assert got.agatston == pytest.approx(exp.agatston)
    assert [l.slices for l in by_z] == slices


def test_json_ready_dict():
    s = score_volume(vol(two_slice_lesion())).to_dict()
    for key in ("agatston", "volume_mm3", "mass_mg", "risk_category", "protocol", "slice_increment_mm", "kvp",
                "regions", "lesions"):
        assert key in s
    assert s["regions"]["all"]["n_lesions"] == 1
    assert s["lesions"][0]["slices"] == (0, 1)
