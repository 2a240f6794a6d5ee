"""Check of ``hounsfield phantom cxr --truth-from``: recompute the Agatston truth of patients whose earlier value
was reused and compare (synthetic; seed 2026 arch-link cohort).

PYTHONPATH=src python benchmarks/cxr_truth_reuse_check.py OLD_LABELS.csv [N]
"""

import csv
import dataclasses
import json
import sys

from hounsfield.cxr.cohort import aorta_near_truth_box
from hounsfield.cxr.phantom_drr import coronary_truth
from hounsfield.phantoms import build_patient, sample_params

old = {r["patient_id"]: float(r["cac"]) for r in csv.DictReader(open(sys.argv[1]))}
n_want = int(sys.argv[2]) if len(sys.argv) > 2 else 8
rows, i = [], 0
while len(rows) < n_want and i < 1000:
    p = sample_params(2026, i, arch_link=0.8)
    ph = build_patient(p)
    if ph.plaques and p.arch_calcium_mm3 > 0:
        default = build_patient(sample_params(2026, i))
        unshifted = build_patient(dataclasses.replace(p, knob_mm=0.0))
        if not aorta_near_truth_box(ph, default, margin_mm=4.0) and not aorta_near_truth_box(unshifted, default, margin_mm=4.0):
            new = coronary_truth(ph, 2026, i)["agatston"]
            rows.append({"patient": i, "reused": old[f"patient_{i:04d}"], "recomputed": round(new, 4)})
    i += 1
# labels.csv keeps 6 significant digits
print(json.dumps({"checked": rows, "all_equal_to_6_digits": all(abs(r["reused"] - r["recomputed"]) <= 5e-6 * max(abs(r["recomputed"]), 1.0) for r in rows)}))
