"""Recompute the BatchNorm statistics of a clot checkpoint over training crops, then re-choose its post-processing.

Why: checkpoints saved before ``training.weights.half_state`` cast every tensor to float16; a BatchNorm
``running_var`` above 65504 became ``inf`` and its channel a constant at inference (the session-3 bundled
model: 14 of 32 channels of one layer). The weights themselves were stored fine. This re-estimates the
statistics exactly ("precise BN") with the training sampler of the checkpoint's own config (same data,
crops, augmentation), then chooses threshold / components / flip averaging on the validation split as
training does, and saves the repaired checkpoint.

Usage::

    python benchmarks/repair_clot_bn.py CHECKPOINT DATA OUT.pt [--batches 200] [--json report.json]

DATA: the training data set of the checkpoint (its ``splits.json`` is reused). The test split is not read.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import fields
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("data", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--batches", type=int, default=200)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    import torch

    from hounsfield.clot.model import load_checkpoint, save_checkpoint
    from hounsfield.clot.train import POSTPROCESS_KEYS, TrainConfig, _Sampler, choose_postprocess, prepare_cases, validate
    from hounsfield.training.weights import recalibrate_batchnorm

    t0 = time.perf_counter()
    model, config = load_checkpoint(args.checkpoint)
    names = {f.name for f in fields(TrainConfig)}
    cfg = TrainConfig(**{k: (tuple(v) if isinstance(v, list) and k in ("spacing", "npy_spacing") else v)
                         for k, v in config.items() if k in names} | {"data": str(args.data), "out": str(args.out.parent)})
    splits = json.loads((args.data / "splits.json").read_text())
    bad = {k: int((~torch.isfinite(v)).sum()) for k, v in model.state_dict().items()
           if v.is_floating_point() and not torch.isfinite(v).all()}
    train_cases = prepare_cases(args.data, splits["train"], cfg)
    val_cases = prepare_cases(args.data, splits["val"], cfg)
    t_prep = time.perf_counter() - t0
    before = validate(model, val_cases, cfg.context, cfg.min_volume_mm3)
    sampler = _Sampler(list(train_cases.values()), cfg)
    x = np.concatenate([sampler.batch()[0] for _ in range(args.batches)])
    recalibrate_batchnorm(model, x, cfg.batch_size)
    after = validate(model, val_cases, cfg.context, cfg.min_volume_mm3)
    post, rows = choose_postprocess(model, val_cases, cfg.context, cfg.min_volume_mm3)
    config = dict(config)
    config["postprocess"] = {k: post[k] for k in POSTPROCESS_KEYS}
    config["batchnorm_recalibrated"] = {"crops": int(len(x)), "sampler_seed": cfg.seed + 1,
                                        "reason": f"non-finite BatchNorm statistics in the stored checkpoint: {bad}",
                                        "command": f"python benchmarks/repair_clot_bn.py {args.checkpoint.name} DATA "
                                                   f"{args.out.name} --batches {args.batches}"}
    save_checkpoint(model, config, args.out)
    report = {"checkpoint": str(args.checkpoint), "non_finite_before": bad, "crops": int(len(x)),
              "val_dice_default_before": float(np.mean(list(before.values()))),
              "val_dice_default_after": float(np.mean(list(after.values()))),
              "postprocess_chosen": post, "postprocess_tried": rows,
              "seconds": round(time.perf_counter() - t0, 1), "seconds_preparing": round(t_prep, 1)}
    print(json.dumps({k: v for k, v in report.items() if k != "postprocess_tried"}, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
