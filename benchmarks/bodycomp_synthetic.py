"""Rule-based body composition at L3 against the exact areas of synthetic patients.

    PYTHONPATH=src python3 benchmarks/bodycomp_synthetic.py [N] [SEED]

Each patient's L3 slice is rendered (512 matrix, 3 mm thick, routine noise) and measured by
hounsfield.levels.bodycomp.compartments; the reference is hounsfield.phantoms.truth.body_composition,
the analytic tissue areas of the same plane. Synthetic anatomy: a check of the rule, not of real-scan accuracy.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from hounsfield.levels.bodycomp import body_composition
from hounsfield.phantoms.chest import build_patient
from hounsfield.phantoms.patient import sample_params
from hounsfield.phantoms.scanner import Acquisition, acquire
from hounsfield.phantoms.truth import body_composition as truth_bc


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    rows = []
    for i in range(n):
        ph = build_patient(sample_params(seed, i))
        z = ph.spine.z_of("L3")
        acq = Acquisition(name="l3", matrix=512, fov_mm=460, centre_xy=(float(ph.body.xc), float(0.5 * ph.landmarks["table_y"] + 30)),
                          z_first=float(z), n_slices=1, thickness_mm=3.0, increment_mm=3.0, noise_sd=15.0)
        ct = acquire(ph, acq, seed_seq=np.random.SeedSequence([seed, i, 5]), calcium=False).ct
        got, _, _ = body_composition(ct, 0)
        ref = truth_bc(ph, z)
        rows.append({"patient": i, **{f"{k}_rule": round(getattr(got, f"{k}_area_cm2"), 1) for k in ("muscle", "sat", "vat", "imat")},
                     **{f"{k}_truth": ref[f"{k}_area_cm2"] for k in ("muscle", "sat", "vat", "imat")}})
    summary = {}
    for k in ("muscle", "sat", "vat", "imat"):
        a = np.array([r[f"{k}_rule"] for r in rows])
        b = np.array([r[f"{k}_truth"] for r in rows])
        rel = (a - b) / np.maximum(b, 1e-6)
        summary[k] = {"mean_truth_cm2": round(float(b.mean()), 1), "mean_rule_cm2": round(float(a.mean()), 1),
                      "median_rel_error": round(float(np.median(rel)), 3),
                      "median_abs_rel_error": round(float(np.median(np.abs(rel))), 3),
                      "pearson_r": round(float(np.corrcoef(a, b)[0, 1]), 3) if n > 2 else None}
    print(json.dumps({"n": n, "seed": seed, "summary": summary, "patients": rows}, indent=1))


if __name__ == "__main__":
    main()
