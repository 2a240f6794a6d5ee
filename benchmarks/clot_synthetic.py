"""Held-out synthetic benchmark of a clot model (CTA+NCCT and NCCT-only), with timings.

Usage::

    PYTHONPATH=src python3 benchmarks/clot_synthetic.py --data DIR [--split test] [--model best.pt] \
        [--ncct-only] -o benchmarks/results/clot_synthetic.json

``DIR`` holds ``hounsfield phantom head`` folders (truth.json beside each);
``--split test`` restricts to the test split of ``DIR/splits.json``. Numbers
are on SYNTHETIC heads only.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from hounsfield.clot.data import find_cases, load_case
from hounsfield.clot.evaluate import case_metrics, summarise
from hounsfield.clot.predict import load_model, segment_clot

_SEGMENT = {"M2s": "M2", "M2i": "M2", "A1": "ACA", "A2": "ACA", "P1": "PCA", "P2": "PCA"}


def run(data: Path, split: str | None, model_path: str | None, ncct_only: bool, threads: int = 1) -> dict:
    import torch

    torch.set_num_threads(threads)
    net, cfg, summ = load_model(model_path)
    ids = json.loads((data / "splits.json").read_text())[split] if split else None
    rows, rows_ncct, times, cpu, times_ncct, loc = {}, {}, [], [], [], []
    for ref in find_cases(data):
        if ids is not None and ref.case_id not in ids:
            continue
        case = load_case(ref)
        truth = json.loads((data / ref.case_id / "truth.json").read_text())
        t, c = time.perf_counter(), time.process_time()
        res = segment_clot(case.cta, case.ncct, net, cfg, summ)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        rows[ref.case_id] = case_metrics(res.mask, case.mask)
        if truth["occluded"] and res.measurements["detected"]:
            loc.append({"truth": _SEGMENT.get(truth["segment"], truth["segment"]), "pred": res.measurements["segment"],
                        "side_truth": truth["side"], "side_pred": res.measurements["side"]})
        if ncct_only:
            t = time.perf_counter()
            res_n = segment_clot(None, case.ncct, net, cfg, summ)
            times_ncct.append(time.perf_counter() - t)
            rows_ncct[ref.case_id] = case_metrics(res_n.mask.resample_like(case.mask, order=0), case.mask)
    out = {"data": str(data), "split": split, "model": summ, "synthetic": True, "n": len(rows),
           "cta_ncct": summarise(rows), "cases": rows,
           "seconds_per_patient": {"median": float(np.median(times)), "max": float(np.max(times)),
                                   "cpu_median": float(np.median(cpu)), "cpu_max": float(np.max(cpu)), "torch_threads": threads,
                                   "note": "wall time on a shared, loaded 2-core machine; CPU time is the load-independent figure"},
           "location": {"n": len(loc), "segment_accuracy": float(np.mean([x["truth"] == x["pred"] for x in loc])) if loc else None,
                        "side_accuracy": float(np.mean([x["side_truth"] == x["side_pred"] for x in loc])) if loc else None}}
    if ncct_only:
        out["ncct_only"] = summarise(rows_ncct)
        out["ncct_only_seconds_per_patient"] = {"median": float(np.median(times_ncct))}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--split", default=None)
    ap.add_argument("--model", default=None)
    ap.add_argument("--ncct-only", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("-o", "--out", type=Path, required=True)
    a = ap.parse_args()
    res = run(a.data, a.split, a.model, a.ncct_only, a.threads)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=1, default=str))
    print(json.dumps({k: res[k] for k in ("n", "seconds_per_patient", "location")}, indent=1))
    s = res["cta_ncct"]
    print("dice", s["dice_with_clot"], "sens", s["sensitivity"], "spec", s["specificity"])
    if "ncct_only" in res:
        print("ncct-only dice", res["ncct_only"]["dice_with_clot"], "sens", res["ncct_only"]["sensitivity"])


if __name__ == "__main__":
    main()
