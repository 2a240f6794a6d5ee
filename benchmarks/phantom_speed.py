"""Speed and memory of the phantom generator (one process, one core).

Measures (a) rendering one 512 x 512 x 300 non-gated volume (1.25 mm slices)
with its label maps, and (b) a whole patient: gated 512 x 512 + non-gated
512 x 512 chest CT + truth (clinical Agatston on the gated volume, vertebrae,
levels, L3 body composition). Peak memory is the process's maximum RSS.

Run: ``OMP_NUM_THREADS=1 PYTHONPATH=src python3 benchmarks/phantom_speed.py``
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402


def main() -> int:
    from hounsfield.phantoms import acquire, build_patient, generate_patient, sample_params
    from hounsfield.phantoms.scanner import non_gated_acquisition

    ph = build_patient(sample_params(0, 1))
    acq = non_gated_acquisition(ph, np.random.default_rng(1), matrix=512, coverage="chest", thickness=1.25)
    acq = acq.replace(n_slices=300)
    times = []
    for rep in range(3):
        t = time.perf_counter()
        r = acquire(ph, acq, seed_seq=np.random.SeedSequence(rep))
        times.append(time.perf_counter() - t)
    print(f"non-gated 512x512x300 render: {', '.join(f'{x:.2f}' for x in times)} s (stages of the last: {r.timings})")
    t = time.perf_counter()
    res = generate_patient(0, 1, matrix=512, gated_matrix=512, coverage="chest", thickness=1.25)
    dt = time.perf_counter() - t
    print(f"whole patient (gated {res.gated.ct.shape} + non-gated {res.non_gated.ct.shape} + truth): {dt:.2f} s")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
