"""Is the phantom's anatomy over the heart as busy as a real chest's? (real CTA vs phantom CTAs, same box)

The oracle (``cxr_oracle.py``) found coronary calcium lost in the anatomical clutter of the phantom radiographs
before any detector step. That conclusion is only as good as the clutter: a phantom busier than a real chest
would hide calcium that real films show. This compares the clutter with a real scan: the real arterial-phase
CTA crop around the heart in ``../shared/fixtures/ct_heart_cta`` (1.5 mm; TotalSegmentator heart mask) and
phantom patients (``hounsfield.phantoms``, with and without contrast) painted on the same 1.5 mm grid in a box
of the same size placed the same way round the heart's centroid. Each volume is turned into attenuation (the
DRR's HU -> mu at ~60 keV) and summed A-P (line integrals; only what lies in the box). Clutter: over the heart's
projected silhouette (eroded 5 mm), 21 mm boxes at half-box steps, in each the SD of the 3 mm high-pass
(image minus its Gaussian blur), median over the boxes: the measure of ``cxr_oracle.py``. The real CTA is one
patient, with its own CT noise (which adds a little to its number) and contrast in the chambers.

python benchmarks/cxr_clutter_real_vs_phantom.py --n 20 --out benchmarks/results/cxr_clutter_real_vs_phantom.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

from hounsfield.cxr.drr import attenuation
from hounsfield.cxr.phantom_drr import PHANTOM_DRR_SETTINGS
from hounsfield.io import read
from hounsfield.phantoms import build_patient, sample_params
from hounsfield.phantoms.shapes import Canvas
from hounsfield.phantoms.tissues import O

FIXTURE = Path(__file__).resolve().parents[1] / ".." / "shared" / "fixtures" / "ct_heart_cta"


def clutter(proj: np.ndarray, silhouette: np.ndarray, px: float, hp_mm: float = 3.0, box_mm: float = 21.0,
            erode_mm: float = 5.0) -> tuple[float, int]:
    """Median over ``box_mm`` boxes inside the eroded silhouette of the SD of the ``hp_mm`` high-pass."""
    hp = proj - ndimage.gaussian_filter(proj, hp_mm / px, mode="nearest")
    b = int(round(box_mm / px))
    inner = ndimage.binary_erosion(silhouette, iterations=max(1, int(round(erode_mm / px))))
    sds = [hp[r:r + b, c:c + b].std() for r in range(0, proj.shape[0] - b, b // 2)
           for c in range(0, proj.shape[1] - b, b // 2) if inner[r:r + b, c:c + b].mean() > 0.9]
    return float(np.median(sds)), len(sds)


def mask_on_grid(ct, mask) -> np.ndarray:
    """``mask`` (another grid of the same patient) sampled at ``ct``'s voxel centres (nearest, world space)."""
    idx = np.indices(ct.array.shape).reshape(3, -1)
    world = ct.affine[:3, :3] @ idx + ct.affine[:3, 3:4]
    j = np.round(np.linalg.inv(mask.affine[:3, :3]) @ (world - mask.affine[:3, 3:4])).astype(int)
    ok = np.all((j >= 0) & (j < np.array(mask.array.shape)[:, None]), axis=0)
    out = np.zeros(idx.shape[1], bool)
    out[ok] = mask.array[j[0, ok], j[1, ok], j[2, ok]] > 0
    return out.reshape(ct.array.shape)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20, help="phantom patients per setting")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--fixture", default=str(FIXTURE))
    ap.add_argument("--out", default="benchmarks/results/cxr_clutter_real_vs_phantom.json")
    a = ap.parse_args(argv)
    st = PHANTOM_DRR_SETTINGS
    t0 = time.time()
    ct = read(Path(a.fixture) / "ct.nii.gz")
    heart = mask_on_grid(ct, read(Path(a.fixture) / "heart_totalseg.nii.gz"))
    A = ct.affine
    if not np.allclose(A[:3, :3], np.diag(np.diag(A[:3, :3]))) or np.ptp(np.abs(np.diag(A[:3, :3]))) > 1e-6:
        raise SystemExit("the CTA grid must be axis-aligned and isotropic")
    px = float(abs(A[0, 0]))
    mu = attenuation(np.clip(ct.array.astype(np.float32), -1000, 3000), st.mu_water_per_mm, st.bone_factor)
    real = clutter(mu.sum(axis=1) * px, heart.any(axis=1), px)  # RAS axis 1 = y: summed A-P
    # the box round the heart's centroid, in world mm (RAS)
    centroid = A[:3, :3] @ np.array(np.nonzero(heart)).mean(axis=1) + A[:3, 3]
    corners = A[:3, :3] @ np.array([[0, 0, 0], np.array(ct.array.shape) - 1]).T + A[:3, 3:4]
    lo, hi = corners.min(axis=1) - centroid, corners.max(axis=1) - centroid
    rows = []
    for contrast in (True, False):
        for i in range(a.n):
            ph = build_patient(sample_params(a.seed, i, contrast=contrast))
            c = ph.heart.centre
            cv = Canvas(*[np.arange(c[k] + lo[k], c[k] + hi[k] + 1e-6, px) for k in range(3)])
            ph.paint(cv)
            mu_l = attenuation(np.asarray(ph.hu, np.float32), st.mu_water_per_mm, st.bone_factor)
            mu_l[0] = 0.0
            value, n_boxes = clutter(mu_l[cv.tissue].sum(axis=1) * px, (cv.organ == O.HEART).any(axis=1), px)
            rows.append({"index": i, "contrast": contrast, "clutter": value, "boxes": n_boxes})
    summary = {}
    for contrast in (True, False):
        v = np.array([r["clutter"] for r in rows if r["contrast"] == contrast])
        summary["phantom_contrast" if contrast else "phantom_plain"] = {
            "median": float(np.median(v)), "q10_q90": [float(np.quantile(v, 0.1)), float(np.quantile(v, 0.9))],
            "n": int(v.size), "real_percentile": float((v < real[0]).mean() * 100)}
    out = {"what": "SD of the 3 mm high-pass of A-P attenuation line integrals over the heart's silhouette, "
                   "median over 21 mm boxes; same box round the heart for the real CTA and the phantoms",
           "real_cta": {"clutter": real[0], "boxes": real[1], "box_mm_from_heart_centroid": [lo.tolist(), hi.tolist()],
                        "source": "shared/fixtures/ct_heart_cta (real arterial-phase CTA; heart mask TotalSegmentator)"},
           "phantoms": summary, "rows": rows, "seed": a.seed, "seconds": round(time.time() - t0, 1),
           "command": f"python benchmarks/cxr_clutter_real_vs_phantom.py --n {a.n} --seed {a.seed}"}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({"real_cta": real[0], **{k: v["median"] for k, v in summary.items()}}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
