"""The detector on the real abdomen CT and on a synthetic patient."""

from __future__ import annotations

import numpy as np
import pytest

from hounsfield.io import read
from hounsfield.vertebrae.evaluate import evaluate_scan
from hounsfield.vertebrae.formats import body_centroids, label_name, label_number, totalseg_to_verse
from hounsfield.vertebrae.model import load_model
from hounsfield.vertebrae.predict import detect_vertebrae, label_map

from ..conftest import fixture_path

S1_TO_T12 = {label_number(n) for n in ("S1", "L5", "L4", "L3", "L2", "L1", "T12")}


@pytest.fixture(scope="module")
def abdomen():
    ct = read(fixture_path("ct_abdomen", "ct.nii.gz"))
    ts = read(fixture_path("ct_abdomen", "vertebrae_totalseg.nii.gz"))
    ref = body_centroids(ts.with_array(totalseg_to_verse(ts.array)))
    return ct, ref


@pytest.fixture(scope="module")
def abdomen_detection(abdomen):
    return load_model().detect(abdomen[0])


def test_bundled_model_is_registered():
    m = load_model()
    assert m.name == "vertebrae-anatomical"
    assert "synthetic" in m.summary["trained_on"]


def test_real_abdomen_s1_to_t12_identified(abdomen, abdomen_detection):
    det = abdomen_detection
    assert det.anchor.startswith("sacrum")
    res = evaluate_scan(det.centroids, abdomen[1], "ct_abdomen", labels=S1_TO_T12)
    assert len(res.rows) == 7
    assert all(r.identified for r in res.rows), [r.to_dict() for r in res.rows]
    assert all(r.error_mm < 20.0 for r in res.rows)
    # head to tail in the output, world z decreasing
    z = [c.xyz[2] for c in det.centroids]
    assert z == sorted(z, reverse=True)


def test_real_abdomen_body_centres_are_not_in_front_of_the_bodies(abdomen, abdomen_detection):
    """The real abdomen's vertebrae are osteoporotic: cancellous bone of 60-130 HU, partly under body_hu. Taking
    the run of bone above body_hu for the body put L1's centre 14 mm in front of the reference and the mean error
    at 8.1 mm (session 10); the body runs back to the canal now."""
    res = evaluate_scan(abdomen_detection.centroids, abdomen[1], "ct_abdomen", labels=S1_TO_T12)
    dy = {label_name(r.label): r.predicted[1] - r.reference[1] for r in res.rows}
    assert all(abs(v) < 6.0 for v in dy.values()), dy
    assert res.mean_error_mm < 7.0, res.mean_error_mm


def test_real_abdomen_without_sacrum_uses_ribs(abdomen):
    """Partial field of view: cut below L4 so no sacrum; T12's rib anchors the labels."""
    ct, ref = abdomen
    k0 = 60  # 3-mm slices: z >= 274 mm, the top of L4 and above
    shift = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, k0], [0, 0, 0, 1.0]])
    cut = type(ct)(ct.array[:, :, k0:].copy(), ct.affine @ shift, ct.meta)
    det = load_model().detect(cut)
    assert det.anchor == "ribs"
    assert det.lowest_rib_label == "T12"
    res = evaluate_scan(det.centroids, ref, labels={label_number(n) for n in ("L3", "L2", "L1", "T12")})
    assert all(r.identified for r in res.rows), [r.to_dict() for r in res.rows]


def test_label_map_on_input_grid(abdomen, abdomen_detection):
    ct = abdomen[0]
    lab = label_map(abdomen_detection, ct)
    assert lab.shape == ct.shape and np.allclose(lab.affine, ct.affine)
    present = set(np.unique(lab.array).tolist()) - {0}
    assert present == {c.label for c in abdomen_detection.centroids}
    # each predicted centroid lies inside or next to its own label
    for c in abdomen_detection.centroids:
        ijk = np.round(ct.voxel(c.xyz)).astype(int)
        sl = lab.array[ijk[0] - 4:ijk[0] + 5, ijk[1] - 4:ijk[1] + 5, ijk[2] - 2:ijk[2] + 3]
        assert (sl == c.label).any(), c.name


def test_synthetic_patient(phantom):
    from hounsfield.vertebrae.evaluate import _phantom_truth

    ct = read(phantom / "non_gated.nii.gz")
    ref = _phantom_truth(phantom / "truth.json")
    assert len(ref) >= 15
    det = detect_vertebrae(ct, load_model().params)
    res = evaluate_scan(det.centroids, ref)
    assert res.identification_rate >= 0.9
    assert res.mean_error_mm < 3.0


def test_contrast_does_not_move_the_vertebrae(phantom, contrast_phantom):
    """The same anatomy with an enhanced aorta and heart (HU of blood above that of the cancellous bone):
    the same labels, each centroid within 2 mm of the non-contrast one (the aorta and the heart are thick
    blobs above ``bone_hu`` in front of the column, and were taken for it before)."""
    from hounsfield.vertebrae.evaluate import _phantom_truth

    ct = read(contrast_phantom / "non_gated.nii.gz")
    ref = _phantom_truth(contrast_phantom / "truth.json")
    params = load_model().params
    det = detect_vertebrae(ct, params)
    res = evaluate_scan(det.centroids, ref)
    assert res.identification_rate >= 0.95, [r.to_dict() for r in res.rows]
    assert res.mean_error_mm < 3.0
    plain = {c.label: np.asarray(c.xyz) for c in detect_vertebrae(read(phantom / "non_gated.nii.gz"), params).centroids}
    enhanced = {c.label: np.asarray(c.xyz) for c in det.centroids}
    assert set(enhanced) == set(plain)
    assert max(float(np.linalg.norm(enhanced[k] - plain[k])) for k in plain) <= 2.0


def test_no_spine_is_a_clear_error():
    from hounsfield.errors import InputError
    from hounsfield.volume import Volume

    water = Volume(np.zeros((40, 40, 30), np.int16), np.diag([2.0, 2.0, 2.0, 1.0]))
    with pytest.raises(InputError, match="spine"):
        detect_vertebrae(water)


def test_real_head_ct_gets_no_thoracic_labels():
    """A head CT (skull base, upper neck): the skull is bone at rib distance on both sides, but no lung lies
    beside the column, so nothing is called T1 (session 2 labelled it C7..T5)."""
    ct = read(fixture_path("ct_head_tilt"))
    det = load_model().detect(ct)
    assert det.anchor == "none"
    assert det.centroids == []
    assert "unlabelled" in det.info


@pytest.mark.xfail(strict=True, reason="known failure (docs/vertebrae.md, Limitations): the heart CTA crop cuts the "
                   "spine off, and the detector labels the contrast-filled heart and aorta as T8-L1")
def test_real_heart_cta_crop_has_no_labelled_vertebrae():
    from hounsfield.errors import InputError

    ct = read(fixture_path("ct_heart_cta", "ct.nii.gz"))
    try:
        det = load_model().detect(ct)
    except InputError:  # "no spine found" would be a right answer too
        return
    assert det.centroids == [], [c.name for c in det.centroids]
