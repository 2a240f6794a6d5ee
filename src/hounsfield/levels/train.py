"""Training of the level model (``hounsfield train levels``).

Writes into ``out``:

* ``levels_mip.pt``: the best weights on the validation split (with the model
  configuration, grid and level names - everything :class:`LevelPredictor` needs);
* ``config.json``: the full training configuration, data sources, split and command;
* ``checkpoints/last.pt``: the last state (weights + optimiser + step);
* ``log.csv`` and ``metrics.json``: validation history and the best metrics.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..io import write_json
from ..training.seeds import seed_everything
from .archive import LEVEL_NAMES
from .data import Augment, Example, sample_crop
from .mip import MipGrid

__all__ = ["TrainConfig", "train", "evaluate_examples", "split_examples"]


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved to ``config.json``)."""

    seed: int = 0
    steps: int = 1500
    batch_size: int = 8
    crop_rows: int = 160             # training crop height (rows of ``grid.z_mm``)
    lr: float = 2e-3
    weight_decay: float = 1e-4
    sigma_mm: float = 3.0            # width of the target heat map
    val_fraction: float = 0.15
    val_every: int = 250
    threads: int = 1
    width: int = 8
    channels: int = 64
    grid: dict[str, Any] = field(default_factory=lambda: MipGrid().to_dict())
    augment: dict[str, Any] = field(default_factory=lambda: dataclasses.asdict(Augment()))
    levels: list[str] = field(default_factory=lambda: list(LEVEL_NAMES))
    max_minutes: float = 0.0         # stop early after this wall time (0 = no limit)
    init: str = ""                   # start from these weights (fine-tuning); "" = random initialisation
    device: str = "auto"             # auto (GPU when visible), cpu or cuda; several processes: torchrun

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def split_examples(examples: Sequence[Example], val_fraction: float, seed: int
                   ) -> tuple[list[Example], list[Example]]:
    """Split by exam (deterministic for a seed)."""
    rng = np.random.default_rng(seed + 7919)
    idx = rng.permutation(len(examples))
    n_val = int(round(len(examples) * val_fraction)) if len(examples) > 1 else 0
    if val_fraction > 0 and len(examples) > 1:
        n_val = max(1, n_val)
    val = [examples[i] for i in sorted(idx[:n_val])]
    tr = [examples[i] for i in sorted(idx[n_val:])]
    return tr, val


def evaluate_examples(predictor: Any, examples: Sequence[Example]) -> dict[str, Any]:
    """Whole-scan errors (mm) of a predictor on examples with known rows."""
    out: dict[str, Any] = {}
    per: dict[str, list[float]] = {lv: [] for lv in predictor.levels}
    missed = {lv: 0 for lv in predictor.levels}
    false = {lv: 0 for lv in predictor.levels}
    absent_ok = {lv: 0 for lv in predictor.levels}
    for ex in examples:
        p, hm = predictor.heatmaps(ex.pair)
        for j, lv in enumerate(predictor.levels):
            truth = ex.rows[j]
            present = np.isfinite(truth) and bool(p.valid[int(np.clip(np.rint(truth), 0, p.rows - 1))]) \
                and 0 <= truth <= p.rows - 1
            got = hm[j].row
            if present and got is None:
                missed[lv] += 1
            elif present:
                per[lv].append(abs(got - truth) * p.z_mm)
            elif got is not None:
                false[lv] += 1
            else:
                absent_ok[lv] += 1
    for lv in predictor.levels:
        e = np.asarray(per[lv])
        out[lv] = {
            "n_present": int(len(e) + missed[lv]), "n_found": int(len(e)), "missed": missed[lv],
            "false_positive": false[lv], "absent_correct": absent_ok[lv],
            "median_mm": float(np.median(e)) if len(e) else None, "mean_mm": float(np.mean(e)) if len(e) else None,
            "within_5mm": float(np.mean(e <= 5)) if len(e) else None,
            "within_10mm": float(np.sum(e <= 10) / max(1, len(e) + missed[lv])) if len(e) + missed[lv] else None,
        }
    return out


def _score(m: dict[str, Any]) -> float:
    """Lower is better: capped mean error plus 50 mm per miss or false detection."""
    s = 0.0
    for v in m.values():
        n = max(1, v["n_present"] + v["false_positive"] + v["absent_correct"])
        mean = v["mean_mm"] if v["mean_mm"] is not None else 0.0
        s += (min(mean, 50.0) * v["n_found"] + 50.0 * (v["missed"] + v["false_positive"])) / n
    return s


def _save_weights(net: Any, cfg: TrainConfig, path: Path) -> None:
    import torch

    blob = {"state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()}, "model_config": net.config, "grid": cfg.grid, "levels": cfg.levels,
            "format": "hounsfield-levels-1"}
    tmp = path.with_name(path.name + ".part")
    torch.save(blob, tmp)
    os.replace(tmp, path)


def train(examples: Sequence[Example], out: str | os.PathLike, cfg: TrainConfig, *, command: str = "",
          data: Sequence[str] = (), progress: Callable[[int, int, dict[str, Any]], None] | None = None
          ) -> dict[str, Any]:
    """Train on ``examples`` (already on ``cfg.grid``), write weights/config/log to ``out``; return metrics.

    Under ``torchrun`` (``training.distributed``) every process samples its own crops (seed and rank),
    ``batch_size`` is the global batch split between the processes, DDP averages the gradients, the processes
    agree on ``max_minutes``, and rank 0 alone validates and writes; the others return ``{"rank": r}``.
    """
    from ..training.distributed import distributed

    with distributed(cfg.device) as dist:
        return _train(examples, Path(out), cfg, dist, command=command, data=data,
                      progress=progress if dist.main else None)


def _train(examples: Sequence[Example], out: Path, cfg: TrainConfig, dist: Any, *, command: str,
           data: Sequence[str], progress: Callable[[int, int, dict[str, Any]], None] | None) -> dict[str, Any]:
    import torch

    from ..training.distributed import all_reduce_sum, wrap_ddp
    from .model import LevelNet, heatmap_loss, target_rows
    from .predict import LevelPredictor

    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    rng = seed_everything(cfg.seed)
    if dist.rank:
        rng = np.random.default_rng([cfg.seed, dist.rank])  # other crops; the same initial weights
    torch.set_num_threads(max(1, cfg.threads))
    dev = torch.device(dist.device)
    local_batch = max(1, -(-cfg.batch_size // dist.world_size))
    grid = MipGrid(**cfg.grid)
    aug = Augment(**cfg.augment)
    tr, val = split_examples(examples, cfg.val_fraction, cfg.seed)
    if not tr:
        raise ValueError("no training examples")
    if dist.main:
        write_json({"config": cfg.to_dict(), "command": command, "data": list(data),
                    "n_train": len(tr), "n_val": len(val), "val_ids": [e.pair.exam_id for e in val],
                    "train_ids": [e.pair.exam_id for e in tr], "distributed": dist.to_dict()}, out / "config.json")
    net = LevelNet(n_levels=len(cfg.levels), width=cfg.width, channels=cfg.channels)
    if cfg.init:
        blob = torch.load(cfg.init, map_location="cpu", weights_only=True)
        if blob.get("grid") != cfg.grid or list(blob.get("levels", [])) != list(cfg.levels):
            raise ValueError(f"{cfg.init}: its grid/levels differ from this training configuration")
        net = LevelNet.from_config(blob["model_config"])
        net.load_state_dict(blob["state_dict"])
    net = net.to(dev)
    ddp = wrap_ddp(net, dist)  # the same module; its backward averages the gradients over the processes
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=0.1)
    sigma = cfg.sigma_mm / grid.z_mm
    best = (np.inf, {}, 0)
    log_rows: list[dict[str, Any]] = []
    t0 = time.time()
    losses: list[float] = []
    step = 0
    for step in range(1, cfg.steps + 1):
        net.train()
        batch = [sample_crop(tr[int(rng.integers(len(tr)))], cfg.crop_rows, rng, aug, grid.z_mm)
                 for _ in range(local_batch)]
        f = torch.from_numpy(np.stack([b[0] for b in batch]))[:, None].to(dev)
        s = torch.from_numpy(np.stack([b[1] for b in batch]))[:, None].to(dev)
        v = torch.from_numpy(np.stack([b[2] for b in batch])).to(dev)
        t = torch.from_numpy(np.stack([target_rows(b[3], cfg.crop_rows, sigma, b[2]) for b in batch])).to(dev)
        rows, absent = ddp(f, s, v)
        loss = heatmap_loss(rows, absent, v, t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        over = cfg.max_minutes > 0 and (time.time() - t0) > cfg.max_minutes * 60
        if cfg.max_minutes > 0 and dist.enabled:  # every process stops at the same step
            over = all_reduce_sum([float(over)], dist)[0] > 0
        if not dist.main:
            if over:
                break
            continue  # rank 0 validates and writes; the others wait for it at the next gradient exchange
        if step % cfg.val_every == 0 or step == cfg.steps or over:
            _save_weights(net, cfg, out / "checkpoints" / "current.pt")
            torch.save({"step": step, "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                        "state_dict": net.state_dict()}, out / "checkpoints" / "last.pt")
            metrics: dict[str, Any] = {}
            score = float(np.mean(losses[-cfg.val_every:]))
            if val:
                pred = LevelPredictor(out / "checkpoints" / "current.pt")
                metrics = evaluate_examples(pred, val)
                score = _score(metrics)
            row = {"step": step, "seconds": round(time.time() - t0, 1), "train_loss": round(float(np.mean(losses[-cfg.val_every:])), 4),
                   "val_score": round(score, 3)}
            for lv, m in metrics.items():
                row[f"{lv}_median_mm"] = m["median_mm"]
                row[f"{lv}_within_10mm"] = m["within_10mm"]
            log_rows.append(row)
            if score < best[0]:
                best = (score, metrics, step)
                os.replace(out / "checkpoints" / "current.pt", out / "levels_mip.pt")
            if progress:
                progress(step, cfg.steps, row)
            with open(out / "log.csv", "w", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=list(log_rows[-1].keys()))
                w.writeheader()
                w.writerows(log_rows)
        if over:
            break
    if not dist.main:
        return {"rank": dist.rank}
    result = {"best_step": best[2], "best_val_score": best[0], "val": best[1], "steps_run": step,
              "train_seconds": round(time.time() - t0, 1), "n_train": len(tr), "n_val": len(val)}
    write_json(result, out / "metrics.json")
    return result
