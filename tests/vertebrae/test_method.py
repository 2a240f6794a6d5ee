"""Pieces of the detector on hand-made inputs with known answers, and the chest-only (T1) anchor."""

from __future__ import annotations

import numpy as np
import pytest

from hounsfield.vertebrae import predict as P


def test_fixed_count_dp_recovers_the_discs():
    """Exactly 12 segments between two fixed discs: the interior discs land on the evidence peaks."""
    p = dict(P.DEFAULT_PARAMS)
    rng = np.random.default_rng(0)
    steps = rng.integers(10, 14, size=12)  # 20-26 mm segments on the 2 mm grid
    discs = 5 + np.r_[0, np.cumsum(steps)]
    f = rng.normal(0, 0.2, discs[-1] + 10)
    f[discs] += 3.0
    f[discs[4] + 1] -= 0.5  # a weaker, broader peak is still placed at its maximum
    inner = P._dp_fixed_count(f, int(discs[0]), int(discs[-1]), 12, p, None)
    assert inner == [int(k) for k in discs[1:-1]]
    # a span that cannot hold 12 segments of 18-44 mm is refused
    assert P._dp_fixed_count(f, 0, 100, 12, p, None) is None


def _ring_vertebra_slice() -> np.ndarray:
    """One axial slice (2 mm pixels, x = column index 0, y = index 1 anterior) of an osteoporotic vertebra.

    Body: a 2-mm cortical ring (700 HU) around cancellous bone of 60 HU (below body_hu), centre
    (40, 50), 30 mm wide, 26 mm deep. Behind it the spinal canal (0 HU) closed by pedicles and a
    lamina (700 HU, thick). Soft tissue 30 HU elsewhere.
    """
    a = np.full((80, 90), 30.0, np.float32)
    yy, xx = np.mgrid[0:80, 0:90]
    x, y = yy, xx  # first index x, second y
    body = ((x - 40) / 7.5) ** 2 + ((y - 50) / 6.5) ** 2 <= 1.0
    inner = ((x - 40) / 6.5) ** 2 + ((y - 50) / 5.5) ** 2 <= 1.0
    a[body] = 700.0
    a[inner] = 60.0
    # pedicles from the back of the body to the lamina, canal in between
    a[32:35, 38:44] = 700.0
    a[45:48, 38:44] = 700.0
    a[32:48, 32:38] = 700.0  # thick lamina (where the centreline's distance transform peaks)
    a[35:45, 38:44] = 0.0  # canal
    return a


def test_body_centre_fills_an_osteoporotic_ring():
    g = np.repeat(_ring_vertebra_slice()[:, :, None], 5, axis=2)
    p = dict(P.DEFAULT_PARAMS)
    # start from a point in the lamina, as the centreline does when the body is a thin ring
    i, j = P._body_centre(g, 40.0, 35.0, 2, p)
    assert abs(i - 40.0) <= 0.5 and abs(j - 50.0) <= 0.5, (i, j)


def test_body_centre_takes_the_whole_patchy_osteoporotic_body():
    """Cancellous bone above body_hu in the body's front half only (130 HU) and below it behind (80 HU): the
    run of bone above body_hu is 14 mm, long enough to be taken for the body, and its middle lies 6 mm in front
    of the body's centre. The body goes on back to the canal (0 HU), so the centre is the body's."""
    a = _ring_vertebra_slice()
    x, y = np.mgrid[0:80, 0:90]
    inner = ((x - 40) / 6.5) ** 2 + ((y - 50) / 5.5) ** 2 <= 1.0
    a[inner & (y >= 50)] = 130.0
    a[inner & (y < 50)] = 80.0
    g = np.repeat(a[:, :, None], 5, axis=2)
    i, j = P._body_centre(g, 40.0, 50.0, 2, dict(P.DEFAULT_PARAMS))
    assert abs(i - 40.0) <= 0.5 and abs(j - 50.0) <= 0.5, (i, j)
    # the body's back is its posterior cortex (y = 44), in front of the canal
    assert P._posterior_wall(a[38:43].mean(axis=0), 50, P.DEFAULT_PARAMS["hole_hu"]) == 44


def test_body_centre_recentres_on_the_body():
    """A centreline 6 mm to the side of the body still gives the body's own centre."""
    a = np.full((80, 90), 30.0, np.float32)
    yy, xx = np.mgrid[0:80, 0:90]
    a[((yy - 40) / 7.5) ** 2 + ((xx - 50) / 6.5) ** 2 <= 1.0] = 400.0
    a[38:43, 30:38] = 400.0  # a posterior element behind it
    g = np.repeat(a[:, :, None], 5, axis=2)
    i, j = P._body_centre(g, 37.0, 50.0, 2, dict(P.DEFAULT_PARAMS))
    assert abs(i - 40.0) <= 0.5 and abs(j - 50.0) <= 0.5, (i, j)


def _contrast_slice(aorta_hu: float = 300.0) -> np.ndarray:
    """One axial slice (2 mm pixels; first index x, second y, anterior up) of a vertebra in a contrast scan.

    Body: cortex 700 HU around cancellous bone of 150 HU, centre (40, 40), 30 mm wide, 26 mm deep. Behind it
    the canal (0 HU) between two pedicles, closed by a lamina 4 mm thick.
    In front of it, touching, an enhanced aorta of ``aorta_hu``: radius 15 mm, centre (40, 60), thicker than
    the body.
    """
    a = np.full((80, 90), 30.0, np.float32)
    x, y = np.mgrid[0:80, 0:90]
    a[((x - 40) / 7.5) ** 2 + ((y - 40) / 6.5) ** 2 <= 1.0] = 700.0
    a[((x - 40) / 6.5) ** 2 + ((y - 40) / 5.5) ** 2 <= 1.0] = 150.0
    a[33:35, 26:35] = 700.0  # pedicles and lamina, 4 mm thick
    a[45:47, 26:35] = 700.0
    a[33:47, 24:26] = 700.0
    a[35:45, 26:34] = 0.0  # canal
    a[(x - 40) ** 2 + (y - 60.5) ** 2 <= 7.5 ** 2] = aorta_hu
    return a


def test_column_basin_leaves_the_aorta_for_the_body():
    """The thickest bone above 100 HU is the enhanced aorta; the column is the thick basin behind it."""
    from scipy import ndimage

    p = dict(P.DEFAULT_PARAMS)
    a = _contrast_slice()
    bone = a > p["bone_hu"]
    e = ndimage.distance_transform_edt(bone)
    at = np.unravel_index(np.argmax(e), e.shape)
    assert at[1] > 50  # the plain rule would take the aorta
    column = P._column_basin(bone, a, at, p)
    assert column is not None
    cx, cy = np.argwhere(column).mean(axis=0)
    assert abs(cx - 40) < 1.5 and 33 < cy < 45  # the body (and the arch behind it), not the aorta
    assert not column[40, 62]
    # without contrast the aorta is not bone: the thickest bone is the body and nothing changes
    a0 = _contrast_slice(aorta_hu=40.0)
    e0 = ndimage.distance_transform_edt(a0 > p["bone_hu"])
    at0 = np.unravel_index(np.argmax(e0), e0.shape)
    assert abs(at0[1] - 40) <= 3
    assert P._column_basin(a0 > p["bone_hu"], a0, at0, p) is None


def test_column_basin_keeps_a_body_with_a_thick_arch():
    """A real lumbar arch can be as thick as the vessels: the body, with its arch behind, stays the column
    (the arch has no bone behind it)."""
    from scipy import ndimage

    p = dict(P.DEFAULT_PARAMS)
    a = _contrast_slice(aorta_hu=40.0)
    a[30:50, 8:26] = 700.0  # a thick spinous process and laminae: 40 x 36 mm
    bone = a > p["bone_hu"]
    e = ndimage.distance_transform_edt(bone)
    body_point = (40, 40)
    assert P._column_basin(bone, a, body_point, p) is None
    # and the thickest bone found in that arch is moved forward to the body
    at = np.unravel_index(np.argmax(np.where(np.arange(90)[None, :] < 26, e, 0)), e.shape)
    column = P._column_basin(bone, a, at, p)
    assert column is not None and column[40, 40] and not column[at]


def test_body_centre_ignores_an_enhanced_aorta_in_front():
    """The anterior-most run of bone on the mid-sagittal line is the aorta; the body's centre is still found."""
    g = np.repeat(_contrast_slice()[:, :, None], 5, axis=2)
    p = dict(P.DEFAULT_PARAMS)
    i, j = P._body_centre(g, 40.0, 40.0, 2, p)
    assert abs(i - 40.0) <= 0.5 and abs(j - 40.0) <= 1.0, (i, j)
    # the same from a start in the lamina (thin bone): the body is in front, and is kept
    i, j = P._body_centre(g, 40.0, 25.0, 2, p)
    assert abs(i - 40.0) <= 0.5 and abs(j - 40.0) <= 1.0, (i, j)


def test_chest_only_patient_is_labelled_from_t1(tmp_path):
    """No sacrum and no rib-free vertebra below the ribs: T1 under the rib-free C7 anchors the count."""
    from hounsfield.io import read
    from hounsfield.phantoms import generate_patient, write_patient
    from hounsfield.vertebrae.evaluate import _phantom_truth, evaluate_scan
    from hounsfield.vertebrae.model import load_model

    r = generate_patient(seed=7, index=0, matrix=128, gated_matrix=32, coverage="chest")
    write_patient(r, tmp_path / "p", formats=("nifti",))
    ref = _phantom_truth(tmp_path / "p" / "truth.json")
    names = {c.name for c in ref}
    assert "C7" in names and "L1" not in names
    det = load_model().detect(read(tmp_path / "p" / "non_gated.nii.gz"))
    assert "T1" in det.anchor
    res = evaluate_scan(det.centroids, ref)
    assert res.identification_rate >= 0.9, [row.to_dict() for row in res.rows]


def test_paravertebral_profile_counts_bone_beside_the_column():
    """Bone fraction in the 25-45 mm boxes beside the column, from 40 mm behind to 5 mm in front (2 mm grid)."""
    p = dict(P.DEFAULT_PARAMS)
    g = np.full((100, 100, 6), 0.0, np.float32)
    xs = np.full(6, 50.0)
    ys = np.full(6, 60.0)
    # 25 / 2 mm and 45 / 2 mm round (half to even) to 12 and 22 voxels, 40 mm and 5 mm to 20 and 2:
    # boxes x 62..71 (right) and 28..37 (left), y 40..61 -> 10 x 22 voxels each
    g[62:72, 40:62, 1] = 700.0  # slice 1: the whole right box is bone, the left one empty -> 0.5
    g[28:38, 40:51, 2] = 700.0  # slice 2: half of the left box (11 of 22 rows) -> 0.25
    g[61, 40:62, 4] = 700.0     # slice 4: just inside 25 mm of the column: not counted
    g[80:90, 40:62, 3] = 700.0  # slice 3: bone farther out than 45 mm does not count
    prof = P._paravertebral_profile(g, xs, ys, 0, 5, p)
    assert prof[1] == pytest.approx(0.5)
    assert prof[2] == pytest.approx(0.25)
    assert prof[0] == 0.0 and prof[3] == 0.0 and prof[4] == 0.0


def test_gap_feature_marks_flanked_gaps_and_moves_them_down():
    """0 in bone units, min(distance, 5 mm) / 5 inside gaps with bone on both sides, moved down by the offset."""
    p = {**P.DEFAULT_PARAMS, "gap_offset_mm": 0.0}
    para = np.zeros(40)
    para[5:10] = 0.2   # unit
    para[16:21] = 0.2  # unit: gap 10..15 (6 slices = 12 mm) between the two
    # 21..39: no bone within 30 mm above (beyond 35 mm for slices >= 36) -> not a flanked gap
    f = P._gap_feature(para, 0, 39, p)
    assert np.all(f[5:10] == 0) and np.all(f[16:21] == 0)
    assert f[10] == pytest.approx(0.4) and f[11] == pytest.approx(0.8) and f[12] == pytest.approx(1.0)
    assert f[13] == pytest.approx(1.0) and f[14] == pytest.approx(0.8) and f[15] == pytest.approx(0.4)
    assert np.all(f[21:] == 0) and np.all(f[:5] == 0)  # unflanked: below the first unit, above the last
    moved = P._gap_feature(para, 0, 39, {**p, "gap_offset_mm": 4.0})  # 2 slices down (lower index)
    assert np.allclose(moved[8:14], f[10:16]) and np.all(moved[38:] == 0)


def test_weak_first_rib_makes_twelve():
    ribs = np.array([0.1, 1.0, 0.9, 0.9, 0.8, 0.8, 0.9, 1.0, 1.0, 1.0, 1.0, 1.0, 0.36, 0.0])
    # rib-bearing slabs 1..11 (11 counted); slab 12 has some first-rib evidence, slab 13 none: T1 = 12
    assert P._weak_first_rib(ribs, 11, 11, 0.3) == (12, 12)
    # no evidence above, or a count that is already 12, or a rib-bearing slab above: unchanged
    assert P._weak_first_rib(np.r_[ribs[:12], 0.1, 0.0], 11, 11, 0.3) == (11, 11)
    assert P._weak_first_rib(ribs, 11, 12, 0.3) == (11, 12)
    assert P._weak_first_rib(np.r_[ribs[:13], 0.5], 11, 11, 0.3) == (11, 11)
    # T1 at the top of the image
    assert P._weak_first_rib(ribs[:13], 11, 11, 0.3) == (12, 12)


def test_fixed_count_score_tells_twelve_from_thirteen():
    """The objective of the fixed-count DP: 13 segments score higher only when 13 are in the evidence."""
    p = dict(P.DEFAULT_PARAMS)
    for n_true in (12, 13):
        span = 12 * 13  # 13 slices a segment for 12, 12 for 13 (24-26 mm): both counts fit the span
        step = span // n_true
        discs = 5 + step * np.arange(n_true + 1)
        f = np.zeros(discs[-1] + 10)
        f[discs] = 3.0
        (in12, s12), (in13, s13) = (P._dp_fixed_count(f, int(discs[0]), int(discs[-1]), m, p, None, with_score=True)
                                    for m in (12, 13))
        assert in12 is not None and in13 is not None
        if n_true == 12:
            assert in12 == [int(k) for k in discs[1:-1]] and s12 == pytest.approx(11 * 3.0) and s13 < s12
        else:
            assert in13 == [int(k) for k in discs[1:-1]] and s13 == pytest.approx(12 * 3.0) and s13 > s12
    assert P._dp_fixed_count(f, 0, 100, 12, p, None, with_score=True) == (None, -np.inf)


def test_disc_trough_centres_the_disc_between_its_end_plates():
    """The HU profile down the real abdomen's L4/L5 (2 mm slices, z rising): L5's upper end plate, the disc
    (97, 83 HU), L4's lower end plate. The slope energy put the disc at the bright end plate (index 6); the disc
    is the trough between the plates. A body's interior between its own plates (index 13-18 here, 12 mm) is
    too tall to be taken for a disc; air in the disk (a lung apex) is not a disc either."""
    prof = np.array([82, 90, 101, 163, 207, 180, 162, 97, 83, 118, 226, 229, 153, 117, 98, 88, 87, 91, 102,
                     143, 164, 87.0])
    p = dict(P.DEFAULT_PARAMS)
    assert P._disc_trough(prof, 10, p) == 8.0
    assert P._disc_trough(prof, 11, p) == 8.0
    assert P._disc_trough(prof, 16, p) == 16.0  # the body's interior: 12 mm below half depth, not a disc
    air = prof.copy()
    air[7:10] = [-120, -150, -90]
    assert P._disc_trough(air, 10, p) == 10.0
