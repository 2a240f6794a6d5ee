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


def test_body_centre_recentres_on_the_body():
    """A centreline 6 mm to the side of the body still gives the body's own centre."""
    a = np.full((80, 90), 30.0, np.float32)
    yy, xx = np.mgrid[0:80, 0:90]
    a[((yy - 40) / 7.5) ** 2 + ((xx - 50) / 6.5) ** 2 <= 1.0] = 400.0
    a[38:43, 30:38] = 400.0  # a posterior element behind it
    g = np.repeat(a[:, :, None], 5, axis=2)
    i, j = P._body_centre(g, 37.0, 50.0, 2, dict(P.DEFAULT_PARAMS))
    assert abs(i - 40.0) <= 0.5 and abs(j - 50.0) <= 0.5, (i, j)


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
