"""Render docs/phantom.png: a synthetic patient next to real CTs from ../shared/fixtures.

Top row: phantom (non-gated chest + abdomen CT): axial at L3, coronal through
the spine, frontal bone MIP, and its gated calcium-score slice with the most
coronary calcium. Bottom row: the real ``ct_abdomen`` scan (axial at its L3
reference slice, coronal, MIP) and an axial slice of the real ``ct_heart_cta``.
All images in radiological display (patient's right on the image left,
anterior / superior at the top).

Run: ``PYTHONPATH=src python3 docs/make_phantom_figure.py``
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
FIX = ROOT.parent / "shared" / "fixtures"


def axial(v, k):
    return v.array[:, :, k].T[::-1, ::-1]


def coronal(v, j):
    return v.array[:, j, :].T[::-1, ::-1]


def main() -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hounsfield.imaging import mip
    from hounsfield.io import read
    from hounsfield.phantoms import generate_patient, sample_params

    seed = 0
    idx = next(i for i in range(200) if sample_params(seed, i).cac_burden > 150)
    r = generate_patient(seed, idx, matrix=512, gated_matrix=512, coverage="chest_abdomen", thickness=2.0,
                         max_slices=400)
    ng, g = r.non_gated.ct.to_ras(), r.gated.ct
    t = r.truth
    real = read(FIX / "ct_abdomen" / "ct.nii.gz").to_ras()
    cta = read(FIX / "ct_heart_cta" / "ct.nii.gz").to_ras()

    fig, ax = plt.subplots(2, 4, figsize=(20, 10.5), gridspec_kw={"width_ratios": [1, 1, 1, 1]})
    soft = dict(cmap="gray", vmin=-160, vmax=240)
    k_l3 = t["levels"]["L3_slice"]["non_gated"]
    ax[0, 0].imshow(axial(ng, k_l3), **soft)
    ax[0, 0].set_title(f"phantom: axial at L3 (slice {k_l3})")
    spine_y = ng.voxel(next(v["centroid_mm"] for v in t["vertebrae"] if v["label"] == "L1"))[1]
    dx, dz = ng.spacing[0], ng.spacing[2]
    ax[0, 1].imshow(coronal(ng, int(round(spine_y))), aspect=dz / dx, **soft)
    ax[0, 1].set_title("phantom: coronal through the vertebral bodies")
    ax[0, 2].imshow(mip(ng, "frontal", window=(-200, 1200)), cmap="gray", vmin=0, vmax=1200)
    ax[0, 2].set_title("phantom: frontal MIP (1 mm grid)")
    les = r.gated.calcium
    kg = int(np.argmax((les > 0).sum(axis=(0, 1)))) if les.any() else g.shape[2] // 2
    ax[0, 3].imshow(axial(g, kg), cmap="gray", vmin=-200, vmax=600)
    ax[0, 3].set_title(f"phantom: gated 3 mm, Agatston {t['agatston']:.0f} (slice {kg})")

    k_real = 73  # L3 reference slice of the fixture (SOURCES.md)
    ax[1, 0].imshow(axial(real, k_real), **soft)
    ax[1, 0].set_title("real ct_abdomen: axial at L3 (slice 73)")
    ts = read(FIX / "ct_abdomen" / "vertebrae_totalseg.nii.gz").to_ras()
    j_real = int(round(np.argwhere(ts.array == 29)[:, 1].mean()))  # through the L3 body (TotalSegmentator 29)
    ax[1, 1].imshow(coronal(real, j_real), aspect=1.0, **soft)
    ax[1, 1].set_title("real ct_abdomen: coronal (3 mm)")
    ax[1, 2].imshow(mip(real, "frontal", window=(-200, 1200)), cmap="gray", vmin=0, vmax=1200)
    ax[1, 2].set_title("real ct_abdomen: frontal MIP")
    ax[1, 3].imshow(axial(cta, cta.shape[2] // 2), cmap="gray", vmin=-200, vmax=600)
    ax[1, 3].set_title("real ct_heart_cta (contrast): axial")
    for a in ax.ravel():
        a.set_xticks([])
        a.set_yticks([])
    fig.suptitle(f"hounsfield synthetic patient (seed {seed}, {r.patient_id}, {r.params.sex}, {r.params.age:.0f} y, "
                 f"{r.non_gated.acquisition.thickness_mm:g} mm non-gated) vs real CT fixtures", fontsize=14)
    fig.tight_layout()
    out = ROOT / "docs" / "phantom.png"
    fig.savefig(out, dpi=62)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
