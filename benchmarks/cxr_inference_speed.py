"""Inference time per radiograph on CPU (read + preprocess + network) for each architecture.

Usage: PYTHONPATH=src python3 benchmarks/cxr_inference_speed.py [--size 224] [--threads 2] [--repeat 5]
       PYTHONPATH=src python3 benchmarks/cxr_inference_speed.py --model cxr-cac --threads 1   # the bundled model

Uses randomly initialised networks (speed does not depend on the weights) and
the real radiographs in ../shared/fixtures/cxr. Prints one JSON line per arch.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import torch

from hounsfield.cxr.model import ARCHS, CXRModel, build_network
from hounsfield.cxr.predict import predict_files
from hounsfield.cxr.preprocess import preset

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "cxr"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--model", default=None, help="time this model (file or registry name) instead of random networks")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    files = sorted(FIXTURES.glob("*"))
    if args.model:
        from hounsfield.cxr.predict import resolve_model

        model, label = resolve_model(args.model)
        predict_files(files[:1], model)  # warm-up
        t0 = time.perf_counter()
        rows = []
        for _ in range(args.repeat):
            rows += predict_files(files, model, label)
        per = (time.perf_counter() - t0) / len(rows)
        print(json.dumps({"model": label, "arch": model.arch, "preprocess": model.preprocess.to_dict(),
                          "threads": args.threads, "images": len(rows), "seconds_per_image": round(per, 4),
                          "max_seconds": max(r["seconds"] for r in rows),
                          "p_cac_gt0": {Path(r["image"]).name: r["p_cac_gt0"] for r in rows[:len(files)]},
                          "load_average": os.getloadavg()[0]}))
        return
    for arch in ARCHS:
        model = CXRModel(arch, "classify", build_network(arch, 3).eval(), preset(args.size), trained_on="random weights")
        with tempfile.TemporaryDirectory() as tmp:  # through the saved file, as the CLI does
            from hounsfield.cxr.model import load_model

            model = load_model(model.save(Path(tmp) / "m.pt"))
        predict_files(files[:1], model)  # warm-up
        t0 = time.perf_counter()
        rows = []
        for _ in range(args.repeat):
            rows += predict_files(files, model)
        per = (time.perf_counter() - t0) / len(rows)
        print(json.dumps({"arch": arch, "size": args.size, "threads": args.threads, "images": len(rows),
                          "seconds_per_image": round(per, 4), "load_average": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
