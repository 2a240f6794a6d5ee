"""Evaluate a level model on held-out synthetic patients and on the real abdomen CT.

    PYTHONPATH=src python3 benchmarks/levels_eval.py WEIGHTS.pt [--synthetic-seed 2000 --n 40] [--json OUT.json]

Synthetic test patients (cohort seed 2000 by default) were never seen in training
(the bundled model trained on cohort seed 1000). The real scan is
../shared/fixtures/ct_abdomen/ct.nii.gz with the TotalSegmentator L3 centroid z = 314.6 mm,
checked as stored (RAS), reoriented to LPS, with k flipped, resampled to 1.5 mm slices,
and cut below L3 (both levels must then be reported absent).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from hounsfield.io import read
from hounsfield.levels.data import Example
from hounsfield.levels.mip import compute_mips
from hounsfield.levels.predict import LevelPredictor
from hounsfield.levels.train import evaluate_examples
from hounsfield.volume import Volume

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT.parent / "shared" / "fixtures" / "ct_abdomen" / "ct.nii.gz"
L3_Z = 314.6


def _kflip(v: Volume) -> Volume:
    aff = v.affine.copy()
    aff[:3, 2] *= -1
    aff[:3, 3] = v.affine[:3, :3] @ [0, 0, v.shape[2] - 1] + v.affine[:3, 3]
    return Volume(np.ascontiguousarray(v.array[:, :, ::-1]), aff, v.meta)


def _fine(v: Volume) -> Volume:
    aff = v.affine.copy()
    aff[:3, 2] /= 2
    return v.resample_to((v.shape[0], v.shape[1], 2 * v.shape[2] - 1), aff, order=1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("weights")
    ap.add_argument("--synthetic-seed", type=int, default=2000)
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--archive", help="cached test MIPs (.npz); written if missing")
    ap.add_argument("--json")
    a = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    pr = LevelPredictor(a.weights)
    out: dict = {"real": {}, "synthetic": {}}
    v = read(FIXTURE)
    variants = {"as_stored_RAS_3mm": v, "LPS": v.reorient("LPS"), "k_flipped": _kflip(v), "resampled_1.5mm": _fine(v),
                "cut_below_L3": Volume(v.array[:, :, :50].copy(), v.affine, v.meta)}
    for name, vol in variants.items():
        t0 = time.perf_counter()
        p = compute_mips(vol, name)
        t1 = time.perf_counter()
        r = pr.predict(p)
        t2 = time.perf_counter()
        out["real"][name] = {
            lv: {"slice": ans.slice, "z_mm": None if ans.z_mm is None else round(ans.z_mm, 2),
                 "error_mm": None if ans.z_mm is None or lv != "L3" else round(ans.z_mm - L3_Z, 2),
                 "confidence": round(ans.confidence, 3), "reason": ans.reason}
            for lv, ans in r.answers.items()}
        out["real"][name]["seconds_mips"] = round(t1 - t0, 3)
        out["real"][name]["seconds_model"] = round(t2 - t1, 3)
    if a.n:
        from hounsfield.levels.archive import load_mips, save_mips
        from hounsfield.levels.synth import synthetic_cohort_mips

        arch = Path(a.archive) if a.archive else None
        if arch and arch.exists():
            pairs, lv = load_mips(arch)
        else:
            pairs, lv = synthetic_cohort_mips(a.n, a.synthetic_seed)
            if arch:
                save_mips(pairs, arch, lv)
        ex = [Example(p, np.array([p.z_to_row(z) for z in zz])) for p, zz in zip(pairs, lv)]
        m = evaluate_examples(pr, ex)
        for lvn, d in m.items():
            d["median_slices_at_3mm"] = None if d["median_mm"] is None else d["median_mm"] / 3.0
        out["synthetic"] = {"cohort_seed": a.synthetic_seed, "n": len(ex), "full_coverage": m}
        # the same patients with a random shorter field of view (120-400 mm): levels may be absent
        rng = np.random.default_rng(0)
        short = []
        for e in ex:
            n = e.pair.rows
            length = int(rng.uniform(60, 200))
            start = int(rng.integers(0, max(1, n - length)))
            keep = np.zeros(n, bool)
            keep[start:start + length] = True
            air = np.float32(-1024)
            pair = e.pair.with_(valid=keep, frontal=np.where(keep[:, None], e.pair.frontal, air),
                                sagittal=np.where(keep[:, None], e.pair.sagittal, air))
            rows = np.array([r if keep[int(np.clip(np.rint(r), 0, n - 1))] else np.nan for r in e.rows])
            short.append(Example(pair, rows))
        out["synthetic"]["short_fov"] = evaluate_examples(pr, short)
    s = json.dumps(out, indent=1)
    print(s)
    if a.json:
        Path(a.json).write_text(s + "\n")


if __name__ == "__main__":
    main()
