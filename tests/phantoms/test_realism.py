"""Phantom anatomy against the real abdomen CT fixture (TotalSegmentator vertebra labels)."""

from __future__ import annotations

import numpy as np
import pytest

from hounsfield.io import read

# TotalSegmentator v2 numbers in the fixture -> level names
TS = {27: "L5", 28: "L4", 29: "L3", 30: "L2", 31: "L1", 32: "T12"}


def _fixture_centroid_z(fixtures_dir) -> dict[str, float]:
    lab = read(fixtures_dir / "ct_abdomen" / "vertebrae_totalseg.nii.gz")
    arr = lab.array
    out = {}
    for v, name in TS.items():
        ijk = np.argwhere(arr == v)
        out[name] = float(lab.world(ijk.mean(axis=0))[2])
    return out


def test_lumbar_spacing_matches_real_spine(cac_patient, fixtures_dir):
    """Consecutive L5..L1 whole-vertebra label centroid spacing within 6 mm of the real patient's (32.8-35.9 mm)."""
    from hounsfield.phantoms.tissues import BONE_TISSUES, VERSE_NAMES

    real = _fixture_centroid_z(fixtures_dir)
    r = cac_patient.non_gated
    lab = np.where(np.isin(r.tissue, BONE_TISSUES), r.organ, 0)
    ph = {}
    for n in (20, 21, 22, 23, 24):
        ijk = np.argwhere(lab == n)
        if len(ijk):
            ph[VERSE_NAMES[n]] = float(r.ct.world(ijk.mean(axis=0))[2])
    for lo, hi in (("L5", "L4"), ("L4", "L3"), ("L3", "L2"), ("L2", "L1")):
        if lo not in ph or hi not in ph:
            continue
        d_real = real[hi] - real[lo]
        d_ph = ph[hi] - ph[lo]
        assert abs(d_ph - d_real) < 6.0, (lo, hi, d_ph, d_real)


def test_l3_tissue_hu_like_real_abdomen(cac_patient, fixtures_dir):
    """Median HU of the fat band (-190..-30) at L3 within 15 HU of the real scan's; muscle band within 25 HU."""
    real = read(fixtures_dir / "ct_abdomen" / "ct.nii.gz")
    k_real = 73
    sl = real.array[:, :, k_real].astype(float)
    ph = cac_patient.non_gated
    k = cac_patient.truth["levels"]["L3_slice"]["non_gated"]
    sp = ph.ct.array[:, :, k].astype(float)
    for lo, hi, tol in ((-190, -30, 15), (-29, 150, 25)):
        r = np.median(sl[(sl >= lo) & (sl <= hi)])
        p = np.median(sp[(sp >= lo) & (sp <= hi)])
        assert abs(r - p) < tol, (lo, hi, r, p)


@pytest.mark.xfail(strict=True, reason="known phantom defect (docs/phantoms.md, Realism): the thoracic cavity ellipse "
                   "holds the whole spine, so the lungs surround the neural arch")
def test_lungs_stop_beside_the_thoracic_spine(cac_patient):
    """Real anatomy: the spine indents the thoracic cavity. Behind a thoracic vertebral body, within 10 mm of the
    midline, the arch lies in muscle, not lung; beside the body the lung reaches into its gutter. The phantoms
    put lung behind the bodies (a fix was tried in session 11 and not kept, see docs/phantoms.md); this test
    turns into a normal one when they are fixed."""
    from hounsfield.phantoms.tissues import BONE_TISSUES, O

    r = cac_patient.non_gated
    lung = np.isin(r.organ, (O.LUNG_L, O.LUNG_R))
    bone = np.isin(r.tissue, BONE_TISSUES)
    sp = r.ct.spacing
    checked = 0
    for n in range(11, 18):  # T4..T10
        ijk = np.argwhere(bone & (r.organ == n))
        if len(ijk) == 0:
            continue
        i, j, k = np.round(ijk.mean(axis=0)).astype(int)  # mid-vertebra (body and arch); y rises anteriorly
        body_front = ijk[ijk[:, 2] == k][:, 1].max()
        mid = max(int(round(10 / sp[0])), 1)
        behind = lung[i - mid:i + mid + 1, max(body_front - int(70 / sp[1]), 0):body_front - int(20 / sp[1]), k]
        assert not behind.any(), (n, int(behind.sum()))
        band = int(45 / sp[0])
        gutters = lung[i - band:i + band + 1, body_front - int(25 / sp[1]):body_front, k]
        assert gutters.any(), n
        checked += 1
    assert checked >= 3
