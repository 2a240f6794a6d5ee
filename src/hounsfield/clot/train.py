"""Training of the 2-D clot U-Net (slice by slice, 2 channels), as published, on CPU or GPU.

One call, :func:`train_clot`, does: patient splits (``splits.json``, reused),
preprocessing of the training and validation patients (ROI, common spacing,
256 x 256 padding), sampling of 2-D slices (``pos_fraction`` of them with
clot) cropped to ``crop x crop``, the published augmentation (p = 0.8), a
``cta_dropout`` share of samples whose CTA channel is replaced by the NCCT (so
the network also works when no CTA is given), Dice + cross-entropy, Adam with
cosine decay, validation per epoch by per-patient 3-D Dice on the ROI, and
checkpoints ``last.pt`` and ``best.pt`` (best validation Dice) beside
``config.json`` and ``history.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import InputError
from .augment import apply_2d, augment_2d
from .data import find_cases, load_case, load_or_make_splits
from .model import DEFAULT_NET, build_model, loss_function, save_checkpoint
from .preprocess import PreparedCase, prepare

__all__ = ["TrainConfig", "train_clot", "prepare_cases", "dice_3d"]


@dataclass
class TrainConfig:
    """Everything a training run depends on (saved as ``config.json`` beside the weights)."""

    data: str
    out: str
    epochs: int = 20
    steps_per_epoch: int = 100
    batch_size: int = 16
    crop: int = 128
    lr: float = 2e-3
    seed: int = 0
    spacing: tuple[float, float, float] = (0.75, 0.75, 1.5)
    size: int = 256
    pos_fraction: float = 0.5
    cta_dropout: float = 0.15
    aug_p: float = 0.8
    train_frac: float = 0.6
    val_frac: float = 0.2
    splits: str | None = None
    register: bool = False
    min_volume_mm3: float = 5.0
    npy_spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    threads: int | None = None
    net: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_NET))
    trained_on: str = ""
    command: str = ""


def dice_3d(pred: np.ndarray, truth: np.ndarray) -> float:
    """Dice of two binary arrays; 1.0 when both are empty (see ``docs/clot.md``).

    >>> dice_3d(np.array([1, 1, 0]), np.array([1, 0, 0]))
    0.6666666666666666
    """
    p, t = pred > 0, truth > 0
    s = int(p.sum()) + int(t.sum())
    return 1.0 if s == 0 else 2.0 * float(np.logical_and(p, t).sum()) / s


def prepare_cases(data: str | Path, ids: list[str], cfg: TrainConfig, need_mask: bool = True) -> dict[str, PreparedCase]:
    """Load and prepare the named cases of a data set."""
    refs = {r.case_id: r for r in find_cases(data)}
    out = {}
    for cid in ids:
        case = load_case(refs[cid], spacing=tuple(cfg.npy_spacing))
        if need_mask and case.mask is None:
            raise InputError(f"{cid}: no clot mask; training needs one for every training/validation patient")
        out[cid] = prepare(case.cta, case.ncct, case.mask, spacing=tuple(cfg.spacing), size=cfg.size,
                           register=cfg.register)
    return out


class _Sampler:
    """Draws augmented 2-channel crops (seeded)."""

    def __init__(self, cases: list[PreparedCase], cfg: TrainConfig) -> None:
        self.cases = cases
        self.cfg = cfg
        self.rng = np.random.default_rng(cfg.seed + 1)
        self.aug = augment_2d(seed=cfg.seed + 2, p=cfg.aug_p)
        self.all = [(c, k) for c, p in enumerate(cases) for k in range(p.channels.shape[0])]
        self.pos = [(c, k) for c, p in enumerate(cases) for k in np.nonzero(p.mask.reshape(p.mask.shape[0], -1).any(1))[0]]  # type: ignore[union-attr]

    def _crop_origin(self, prep: PreparedCase, mask: np.ndarray, positive: bool) -> tuple[int, int]:
        S, C = self.cfg.size, self.cfg.crop
        if positive:
            ys, xs = np.nonzero(mask)
            j = int(self.rng.integers(len(ys)))
            cy = ys[j] + int(self.rng.integers(-C // 4, C // 4 + 1))
            cx = xs[j] + int(self.rng.integers(-C // 4, C // 4 + 1))
        else:
            oi, oj = prep.offset
            cy = oi + int(self.rng.integers(prep.roi_shape[0]))
            cx = oj + int(self.rng.integers(prep.roi_shape[1]))
        return int(np.clip(cy - C // 2, 0, S - C)), int(np.clip(cx - C // 2, 0, S - C))

    def batch(self) -> tuple[np.ndarray, np.ndarray]:
        C, B = self.cfg.crop, self.cfg.batch_size
        xs = np.zeros((B, 2, C, C), np.float32)
        ys = np.zeros((B, 1, C, C), np.float32)
        for b in range(B):
            positive = bool(self.pos) and self.rng.random() < self.cfg.pos_fraction
            c, k = (self.pos if positive else self.all)[int(self.rng.integers(len(self.pos if positive else self.all)))]
            prep = self.cases[c]
            m = prep.mask[k]  # type: ignore[index]
            a, bb = self._crop_origin(prep, m, positive and m.any())
            ch = prep.channels[k, :, a:a + C, bb:bb + C]
            first = ch[2] if self.rng.random() < self.cfg.cta_dropout else ch[0]
            img, mm, _ = apply_2d(self.aug, np.stack([first, ch[1]]), m[a:a + C, bb:bb + C])
            xs[b] = img.astype(np.float32) / 255.0
            ys[b, 0] = mm
        return xs, ys


def _tight(prep: PreparedCase, multiple: int = 16) -> tuple[slice, slice]:
    """The ROI part of the padded slice, widened to a multiple of ``multiple`` (for fast validation)."""
    out = []
    for o, n in zip(prep.offset, prep.roi_shape[:2]):
        w = int(np.ceil(n / multiple) * multiple)
        a = max(0, o - (w - n) // 2)
        a = min(a, prep.channels.shape[-1] - w)
        out.append(slice(a, a + w))
    return out[0], out[1]


def validate(model: Any, cases: dict[str, PreparedCase]) -> dict[str, float]:
    """Per-patient Dice on the ROI grid (CTA + NCCT channels)."""
    from .predict import model_channels, predict_slices

    out = {}
    for cid, prep in cases.items():
        si, sj = _tight(prep)
        x = model_channels(prep)[:, :, si, sj]
        pred = predict_slices(model, np.ascontiguousarray(x)) >= 0.5
        out[cid] = dice_3d(pred, prep.mask[:, si, sj])  # type: ignore[index]
    return out


def train_clot(cfg: TrainConfig, progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Train; returns a summary (paths, best epoch, validation Dice, timings)."""
    import torch

    from ..training.seeds import seed_everything

    t0 = time.perf_counter()
    seed_everything(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    refs = find_cases(cfg.data)
    split_path = Path(cfg.splits) if cfg.splits else Path(cfg.data) / "splits.json"
    if not cfg.splits and not os.access(Path(cfg.data), os.W_OK):
        split_path = out / "splits.json"
    splits, reused = load_or_make_splits(split_path, [r.case_id for r in refs], seed=cfg.seed,
                                         train=cfg.train_frac, val=cfg.val_frac)
    if split_path.parent != out:
        shutil.copyfile(split_path, out / "splits.json")
    if not splits["train"]:
        raise InputError("no training patients in the split")
    train_cases = prepare_cases(cfg.data, splits["train"], cfg)
    val_cases = prepare_cases(cfg.data, splits["val"], cfg) if splits["val"] else {}
    t_prep = time.perf_counter() - t0

    config = asdict(cfg)
    config.update({"preprocess": {"spacing": list(cfg.spacing), "size": cfg.size, "windows": {"cta": [-100, 700], "ncct": [-10, 110]}},
                   "splits_file": str(split_path), "splits_reused": reused, "device": str(device),
                   "torch": str(torch.__version__)})
    config = json.loads(json.dumps(config, default=str))
    (out / "config.json").write_text(json.dumps(config, indent=2, default=str))

    model = build_model(**cfg.net).to(device)
    loss_fn = loss_function()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    total = max(1, cfg.epochs * cfg.steps_per_epoch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total, pct_start=0.1)
    sampler = _Sampler(list(train_cases.values()), cfg)
    history = []
    best, best_epoch = -1.0, 0
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        losses = []
        for step in range(cfg.steps_per_epoch):
            x, y = sampler.batch()
            x_t, y_t = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x_t), y_t)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            if progress:
                progress(f"epoch {epoch}/{cfg.epochs}", step + 1, cfg.steps_per_epoch)
        model.eval()
        val = validate(model, val_cases) if val_cases else {}
        mean_val = float(np.mean(list(val.values()))) if val else float("nan")
        history.append({"epoch": epoch, "loss": float(np.mean(losses)), "val_dice": mean_val,
                        "seconds": round(time.perf_counter() - t0, 1)})
        save_checkpoint(model, config, out / "last.pt")
        score = mean_val if val else -float(np.mean(losses))
        if score > best:
            best, best_epoch = score, epoch
            shutil.copyfile(out / "last.pt", out / "best.pt")
        (out / "history.json").write_text(json.dumps(history, indent=2))
    summary = {"out": str(out), "best": str(out / "best.pt"), "best_epoch": best_epoch,
               "best_val_dice": best if val_cases else None, "splits": {k: len(splits[k]) for k in ("train", "val", "test")},
               "splits_file": str(split_path), "splits_reused": reused, "seconds": round(time.perf_counter() - t0, 1),
               "seconds_preprocessing": round(t_prep, 1), "device": str(device)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
