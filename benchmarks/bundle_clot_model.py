"""Copy a trained clot checkpoint into the package and register it in the manifest.

Usage::

    PYTHONPATH=src python3 benchmarks/bundle_clot_model.py --checkpoint OUT/best.pt --benchmark RESULT.json \
        --trained-on "synthetic: ..."

The training command is read from the checkpoint's config (``command``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
from pathlib import Path

from hounsfield.clot.predict import DEFAULT_MODEL
from hounsfield.models.registry import BUNDLED_DIR, register_model


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--benchmark", type=Path, required=True)
    ap.add_argument("--trained-on", required=True)
    ap.add_argument("--command", default=None, help="Exact command(s) that made the data and the model.")
    a = ap.parse_args()
    import torch

    cfg = torch.load(str(a.checkpoint), map_location="cpu", weights_only=True)["config"]
    bench = json.loads(a.benchmark.read_text())
    dest = BUNDLED_DIR / "clot_unet2d_synthetic.pt"
    shutil.copyfile(a.checkpoint, dest)
    keep = ("n_patients", "n_with_clot", "dice_with_clot", "hd95_mm", "surface_dice", "surface_dice_tolerance_mm",
            "sensitivity", "specificity", "missed_clot_rate", "volume_agreement", "length_agreement")
    metrics = {"held_out_synthetic": {k: bench["cta_ncct"][k] for k in keep},
               "seconds_per_patient": bench["seconds_per_patient"], "location": bench["location"],
               "benchmark_data": bench["data"], "benchmark_split": bench["split"], "synthetic": True}
    if "ncct_only" in bench:
        metrics["held_out_synthetic_ncct_only"] = {k: bench["ncct_only"][k] for k in keep}
    entry = register_model(BUNDLED_DIR, dest, name=DEFAULT_MODEL, task="clot", trained_on=a.trained_on,
                           command=a.command or cfg.get("command") or "", input={"channels": ["CTA", "NCCT"], **cfg["preprocess"]},
                           config=cfg, metrics=metrics, created=datetime.date.today().isoformat())
    print(entry.name, entry.sha256, dest.stat().st_size)


if __name__ == "__main__":
    main()
