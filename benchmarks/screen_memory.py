"""Peak memory and time of ``hounsfield screen`` on a 512x512x800 CT (target: under 4 GB).

Usage: python benchmarks/screen_memory.py [--slices 800]
The CT is a synthetic chest/abdomen patient (512 matrix, 0.8 mm slices), extended
to exactly N slices by mirroring its lowest slices. ``screen`` runs in a child
process; its peak resident memory comes from ``getrusage(RUSAGE_CHILDREN)``.
Writes benchmarks/results/screen_memory.md.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--slices", type=int, default=800)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "screen_memory.md")
    args = ap.parse_args()
    from hounsfield import Volume
    from hounsfield.io import write_nifti
    from hounsfield.phantoms import generate_patient

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        r = generate_patient(seed=5, index=0, matrix=512, gated_matrix=64, coverage="chest_abdomen", thickness=0.8,
                             max_slices=args.slices)
        v = r.non_gated.ct
        extra = args.slices - v.shape[2]
        if extra > 0:
            a = np.concatenate([v.array[:, :, :extra][:, :, ::-1], v.array], axis=2)
            aff = v.affine.copy()
            aff[:3, 3] -= extra * aff[:3, 2]
            v = Volume(a, aff, v.meta)
        write_nifti(v, tmp / "ct.nii.gz")
        del r, v
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "hounsfield", "screen", str(tmp / "ct.nii.gz"), "-o", str(tmp / "out")],
                       check=True, capture_output=True)
        seconds = time.perf_counter() - t
        peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    text = (f"# `hounsfield screen` on a 512x512x{args.slices} CT\n\n- peak resident memory of the screen process: "
            f"**{peak_gb:.2f} GB** (target < 4 GB)\n- wall time: {seconds:.1f} s (reading, calcium, levels + body "
            "composition, vertebrae, report)\n")
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
