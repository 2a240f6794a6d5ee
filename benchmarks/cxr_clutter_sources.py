"""Which anatomy hides the coronary calcium on the phantom radiographs? (clutter with tissues taken away)

``cxr_oracle.py`` found the coronary calcium of the phantom PA films lost in anatomical clutter before any
detector step, and ``cxr_clutter_real_vs_phantom.py`` that the clutter over the heart is as large as a real
chest's. This asks where it comes from. For patients with coronary plaques (cohort ``--seed``, the generator of
``hounsfield phantom cxr --n``: arch link 0.8, the same positioning draw), the anatomy's A-P attenuation line
integrals (no calcium, no detector) are computed as they are and with tissue classes given another tissue's
HU: bone (cortical, cancellous, marrow, posterior elements, cartilage) as muscle; lung vessels and airway walls
as lung; all of the lung (parenchyma, vessels, airway walls) as muscle, i.e. no air-tissue edges. Clutter: the
SD of the 3 mm high-pass (image minus its Gaussian blur) over the pixels within 10 mm of where the coronary
plaques project. Signal: the largest high-passed coronary line integral (the plaques alone, same filter);
CNR = signal / clutter.

python benchmarks/cxr_clutter_sources.py --n 40 --out benchmarks/results/cxr_clutter_sources.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

from hounsfield.cxr.phantom_drr import PHANTOM_DRR_SETTINGS, anatomy_integrals, project_plaques
from hounsfield.phantoms import build_patient, sample_params
from hounsfield.phantoms.tissues import T

BONE = (T.CORTICAL, T.CANCELLOUS, T.MARROW, T.POSTERIOR, T.CARTILAGE)
VARIANTS = {
    "as_is": {},
    "bone_as_muscle": {t: T.MUSCLE for t in BONE},
    "lung_vessels_as_lung": {T.LUNG_VESSEL: T.LUNG, T.AIRWAY_WALL: T.LUNG},
    "lung_as_muscle": {T.LUNG: T.MUSCLE, T.LUNG_VESSEL: T.MUSCLE, T.AIRWAY_WALL: T.MUSCLE},
    "bone_and_lung_as_muscle": {**{t: T.MUSCLE for t in BONE},
                                T.LUNG: T.MUSCLE, T.LUNG_VESSEL: T.MUSCLE, T.AIRWAY_WALL: T.MUSCLE},
}


def highpass(img: np.ndarray, px: float, mm: float = 3.0) -> np.ndarray:
    return img - ndimage.gaussian_filter(img, mm / px, mode="nearest")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40, help="patients with coronary plaques")
    ap.add_argument("--seed", type=int, default=4242)
    ap.add_argument("--near-mm", type=float, default=10.0)
    ap.add_argument("--out", default="benchmarks/results/cxr_clutter_sources.json")
    a = ap.parse_args(argv)
    st = PHANTOM_DRR_SETTINGS
    px = float(st.pixel_mm)
    t0 = time.time()
    rows, i = [], 0
    while len(rows) < a.n:
        p = sample_params(a.seed, i, arch_link=0.8)
        ph = build_patient(p)
        if ph.plaques:
            base = ph.hu.copy()
            row: dict = {"index": i, "n_plaques": len(ph.plaques), "clutter": {}, "cnr": {}}
            for name, swap in VARIANTS.items():
                hu = base.copy()
                for src, dst in swap.items():
                    hu[src] = base[dst]
                ph.hu = hu
                field, x_right, z_top, _ = anatomy_integrals(ph, st, np.random.default_rng([a.seed, i, 77]))
                if name == "as_is":
                    cor = project_plaques(list(ph.plaques), x_right, z_top, field.shape, px, st.mu_water_per_mm,
                                          st.bone_factor)
                    near = ndimage.binary_dilation(cor > 0, iterations=int(round(a.near_mm / px)))
                    signal = float(highpass(cor, px).max())
                    row["signal"] = signal
                c = float(highpass(field, px)[near].std())
                row["clutter"][name], row["cnr"][name] = c, signal / c
            ph.hu = base
            rows.append(row)
        i += 1
    summary = {name: {"clutter_median": float(np.median([r["clutter"][name] for r in rows])),
                      "cnr_median": float(np.median([r["cnr"][name] for r in rows])),
                      "cnr_max": float(np.max([r["cnr"][name] for r in rows]))} for name in VARIANTS}
    out = {"what": "SD of the 3 mm high-pass of the anatomy's A-P line integrals within "
                   f"{a.near_mm:g} mm of the projected coronary plaques, with tissue classes re-assigned; "
                   "CNR = peak high-passed coronary line integral / that SD (synthetic phantoms only)",
           "variants": {k: {str(s): int(d) for s, d in v.items()} for k, v in VARIANTS.items()},
           "summary": summary, "rows": rows, "seed": a.seed, "patients_drawn": i,
           "seconds": round(time.time() - t0, 1),
           "command": f"python benchmarks/cxr_clutter_sources.py --n {a.n} --seed {a.seed}"}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
