"""Training of the 2-D clot U-Net (slice by slice, 2 channels), as published, on CPU or GPU.

One call, :func:`train_clot`, does: patient splits (``splits.json``, reused),
preprocessing of the training and validation patients (ROI, common spacing,
256 x 256 padding), sampling of 2-D slices cropped to ``crop x crop``
(``pos_fraction`` of them centred on the clot, ``vessel_fraction`` on
contrast-filled vessels as hard negatives, the rest anywhere in the ROI),
optionally with ``context`` neighbour slices on either side as extra channels
(2.5-D), the published augmentation (p = 0.8), a ``cta_dropout`` share of
samples whose CTA channel is replaced by the NCCT (so the network also works
when no CTA is given), Dice + cross-entropy, Adam with one-cycle decay
(optionally from the weights of an earlier run, ``init``), validation per
epoch by per-patient 3-D Dice on the ROI, checkpoints ``last.pt`` and
``best.pt`` (best validation Dice) beside ``config.json`` and
``history.json``; finally the probability threshold and component rules are
chosen on the validation split (:func:`select_postprocess`) and stored in
``best.pt``'s config (``postprocess_validation.json`` lists every setting
tried).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import InputError
from .augment import apply_2d, augment_2d
from .data import find_cases, load_case, load_or_make_splits
from .model import DEFAULT_NET, build_model, load_checkpoint, loss_function, save_checkpoint
from .preprocess import WINDOW_CTA, PreparedCase, prepare, window

__all__ = ["TrainConfig", "train_clot", "prepare_cases", "dice_3d", "validate", "validation_probs", "select_postprocess",
           "choose_postprocess"]


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
    #: share of crops centred on contrast-filled vessels (hard negatives: the network must tell a clot from a
    #: normal or poorly filled artery); the rest of the non-clot crops are anywhere in the ROI
    vessel_fraction: float = 0.0
    #: neighbour slices on either side given as extra channels (0: 2-D as published; 1: 2.5-D, 6 channels)
    context: int = 0
    #: positive crops drawn per clot with weight (median clot area per slice / this clot's) ** thin_weight, so thin
    #: clots (M2, A1: a dot of a few pixels per slice) get their share; 0: uniform over the clot slices (as before)
    thin_weight: float = 0.0
    #: "dice_ce": Dice over the batch + cross-entropy (large clots dominate the Dice); "crop_dice_ce": Dice per crop
    #: that contains clot, averaged over those crops (each clot crop counts the same, whatever its size) + cross-entropy
    loss: str = "dice_ce"
    #: warm start: a checkpoint of the same network (its weights are the starting point; recorded in the config)
    init: str | None = None
    aug_p: float = 0.8
    train_frac: float = 0.6
    val_frac: float = 0.2
    splits: str | None = None
    register: bool = False
    min_volume_mm3: float = 5.0
    npy_spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    threads: int | None = None
    device: str = "auto"  # auto (GPU when visible), cpu or cuda; several processes: torchrun (training.distributed)
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


def clot_weights(cases: list[PreparedCase], pos: list[tuple[int, int]], power: float) -> np.ndarray:
    """Sampling probability of each positive (case, slice) so that each clot gets a share ~ (median area / its area) ** power.

    A clot's area is its mean number of mask pixels per slice that contains it
    (a thin M2 clot crossing the slices: a few pixels; an M1 along the slice: many).
    Within a clot its slices are equally likely. ``power`` 0: every clot equal.

    >>> m = np.zeros((3, 4, 4), np.uint8); m[0, :2, :2] = 1; m[1, 0, 0] = 1; m[2, 0, 0] = 1
    >>> from types import SimpleNamespace as NS
    >>> clot_weights([NS(mask=m[:1]), NS(mask=m[1:])], [(0, 0), (1, 0), (1, 1)], 1.0).round(3).tolist()
    [0.2, 0.4, 0.4]
    """
    area = {c: float(cases[c].mask.sum()) / max(1, sum(1 for cc, _ in pos if cc == c)) for c in {c for c, _ in pos}}  # type: ignore[union-attr]
    med = float(np.median(list(area.values())))
    w_clot = {c: (med / a) ** power for c, a in area.items()}
    n_slices = {c: sum(1 for cc, _ in pos if cc == c) for c in area}
    w = np.array([w_clot[c] / n_slices[c] for c, _ in pos])
    return w / w.sum()


class _Sampler:
    """Draws augmented 2-channel crops (seeded)."""

    def __init__(self, cases: list[PreparedCase], cfg: TrainConfig, stream: int = 0) -> None:
        self.cases = cases
        self.cfg = cfg
        # stream > 0 (the process rank under torchrun): other crops from the same seed
        self.rng = np.random.default_rng(cfg.seed + 1 if not stream else [cfg.seed + 1, stream])
        self.aug = augment_2d(seed=cfg.seed + 2 + 7919 * stream, p=cfg.aug_p)
        self.all = [(c, k) for c, p in enumerate(cases) for k in range(p.channels.shape[0])]
        self.pos = [(c, k) for c, p in enumerate(cases) for k in np.nonzero(p.mask.reshape(p.mask.shape[0], -1).any(1))[0]]  # type: ignore[union-attr]
        self.pos_p = clot_weights(cases, self.pos, cfg.thin_weight) if cfg.thin_weight and self.pos else None
        lo, hi = window(np.array([180.0, 650.0]), *WINDOW_CTA)
        self.vessel: list[tuple[int, int, int, int]] = []
        for c, p in enumerate(cases if cfg.vessel_fraction > 0 else []):
            v = np.argwhere((p.channels[:, 0] >= lo) & (p.channels[:, 0] <= hi))
            if len(v) > 5000:
                v = v[self.rng.choice(len(v), 5000, replace=False)]
            self.vessel.extend((c, int(k), int(i), int(j)) for k, i, j in v)

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
        C, B, ctx = self.cfg.crop, self.cfg.batch_size, self.cfg.context
        xs = np.zeros((B, 2 * (2 * ctx + 1), C, C), np.float32)
        ys = np.zeros((B, 1, C, C), np.float32)
        for b in range(B):
            r = self.rng.random()
            positive = bool(self.pos) and r < self.cfg.pos_fraction
            on_vessel = not positive and bool(self.vessel) and r < self.cfg.pos_fraction + self.cfg.vessel_fraction
            if on_vessel:
                c, k, vi, vj = self.vessel[int(self.rng.integers(len(self.vessel)))]
                S, q = self.cfg.size, C // 4
                a = int(np.clip(vi + int(self.rng.integers(-q, q + 1)) - C // 2, 0, S - C))
                bb = int(np.clip(vj + int(self.rng.integers(-q, q + 1)) - C // 2, 0, S - C))
                prep = self.cases[c]
                m = prep.mask[k]  # type: ignore[index]
            else:
                if positive and self.pos_p is not None:
                    c, k = self.pos[int(self.rng.choice(len(self.pos), p=self.pos_p))]
                else:
                    c, k = (self.pos if positive else self.all)[int(self.rng.integers(len(self.pos if positive else self.all)))]
                prep = self.cases[c]
                m = prep.mask[k]  # type: ignore[index]
                a, bb = self._crop_origin(prep, m, positive and m.any())
            dropout = self.rng.random() < self.cfg.cta_dropout
            n = prep.channels.shape[0]
            chans = []
            for d in [0] + [s * i for i in range(1, ctx + 1) for s in (-1, 1)]:
                ch = prep.channels[int(np.clip(k + d, 0, n - 1)), :, a:a + C, bb:bb + C]
                chans += [ch[2] if dropout else ch[0], ch[1]]
            img, mm, _ = apply_2d(self.aug, np.stack(chans), m[a:a + C, bb:bb + C])
            xs[b] = img.astype(np.float32) / 255.0
            ys[b, 0] = mm
        return xs, ys


def validation_probs(model: Any, cases: dict[str, PreparedCase], context: int = 0, tta: bool = False) -> dict[str, np.ndarray]:
    """Clot probabilities of each validation case on its padded ROI grid (``tta``: flip averaging, see ``predict_case``)."""
    from .predict import predict_case

    return {cid: predict_case(model, prep, {"context": context}, tta=tta) for cid, prep in cases.items()}


def validate(model: Any, cases: dict[str, PreparedCase], context: int = 0, min_volume_mm3: float = 5.0) -> dict[str, float]:
    """Per-patient Dice on the ROI grid (CTA + NCCT channels) after the default post-processing.

    Threshold 0.5, components < ``min_volume_mm3`` removed, the largest kept:
    the way the model is used, so a network that scatters small false
    positives (the per-crop Dice loss does) is not ranked below one that
    does not for specks the post-processing removes anyway.
    """
    from .predict import postprocess

    probs = validation_probs(model, cases, context)
    return {cid: dice_3d(postprocess(probs[cid], prep, 0.5, min_volume_mm3, "largest"), prep.mask)  # type: ignore[arg-type]
            for cid, prep in cases.items()}


#: post-processing settings tried on the validation split (see :func:`select_postprocess`)
POSTPROCESS_GRID: dict[str, Any] = {"threshold": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
                                    "select": ["largest", "mass", "mass:0.5", "mass:0.25", "all"],
                                    "vessel_mm": [None, 2.0]}


def select_postprocess(probs: dict[str, np.ndarray], cases: dict[str, PreparedCase], min_volume_mm3: float = 5.0,
                       grid: dict[str, Any] | None = None,
                       probs_tta: dict[str, np.ndarray] | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Choose threshold and component rules by mean per-patient Dice on the validation split.

    Mean over all validation patients (a clot-free patient scores 1 only when
    nothing is predicted), so specificity counts. Ties go to the earlier
    (simpler) setting. ``select`` ``"mass:F"``: the components with at least F
    times the highest probability mass (``keep_frac``). With ``probs_tta``
    (flip-averaged probabilities) every setting is also tried on those.
    Returns the best setting and every row tried.
    """
    from itertools import product

    from .predict import postprocess, vessel_zone

    g = grid or POSTPROCESS_GRID
    zones = {(cid, vm): vessel_zone(prep, vm) for cid, prep in cases.items() for vm in g["vessel_mm"]
             if vm is not None and prep.has_cta}
    rows = []
    sources = [(False, probs)] + ([(True, probs_tta)] if probs_tta is not None else [])
    for (tta, pr), th, sel, vm in product(sources, g["threshold"], g["select"], g["vessel_mm"]):
        how, _, frac = sel.partition(":")
        kf = float(frac) if frac else 1.0
        d = [dice_3d(postprocess(pr[cid], prep, th, min_volume_mm3, how, vm, zones.get((cid, vm)), keep_frac=kf),  # type: ignore[arg-type]
                     prep.mask) for cid, prep in cases.items()]
        rows.append({"threshold": th, "select": how, "keep_frac": kf, "vessel_mm": vm, "tta": tta,
                     "val_dice": float(np.mean(d))})
    best = max(rows, key=lambda r: r["val_dice"])
    return {k: best[k] for k in POSTPROCESS_KEYS} | {"val_dice": best["val_dice"]}, rows


def choose_postprocess(model: Any, val_cases: dict[str, PreparedCase], context: int = 0,
                       min_volume_mm3: float = 5.0) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """:func:`select_postprocess` over the model's plain and flip-averaged validation probabilities."""
    return select_postprocess(validation_probs(model, val_cases, context), val_cases, min_volume_mm3,
                              probs_tta=validation_probs(model, val_cases, context, tta=True))


#: the post-processing settings stored in a checkpoint's config (see ``predict.DEFAULT_POSTPROCESS``)
POSTPROCESS_KEYS = ("threshold", "select", "keep_frac", "vessel_mm", "tta")


def train_clot(cfg: TrainConfig, progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Train; returns a summary (paths, best epoch, validation Dice, timings).

    Under ``torchrun`` (``training.distributed``) every process draws its own crops (``--batch-size`` is the global
    batch, split between the processes; DDP averages the gradients); rank 0 alone validates, writes the checkpoints,
    the splits and the history, and chooses the post-processing; the other processes return ``{"rank": r}``.
    """
    from ..training.distributed import distributed

    with distributed(cfg.device) as dist:
        return _train_clot(cfg, progress if dist.main else None, dist)


def _train_clot(cfg: TrainConfig, progress: Callable[[str, int, int], None] | None, dist: Any) -> dict[str, Any]:
    import torch

    from ..training.distributed import main_first, wrap_ddp
    from ..training.seeds import seed_everything

    t0 = time.perf_counter()
    seed_everything(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = torch.device(dist.device)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    refs = find_cases(cfg.data)
    split_path = Path(cfg.splits) if cfg.splits else Path(cfg.data) / "splits.json"
    if not cfg.splits and not os.access(Path(cfg.data), os.W_OK):
        split_path = out / "splits.json"
    with main_first(dist):  # rank 0 makes (or checks) the splits file, the others then read it
        splits, reused = load_or_make_splits(split_path, [r.case_id for r in refs], seed=cfg.seed,
                                             train=cfg.train_frac, val=cfg.val_frac)
    if split_path.parent != out and dist.main:
        shutil.copyfile(split_path, out / "splits.json")
    if not splits["train"]:
        raise InputError("no training patients in the split")
    loss_fn = loss_function(cfg.loss)  # an unknown loss fails here, before minutes of preprocessing
    train_cases = prepare_cases(cfg.data, splits["train"], cfg)
    val_cases = prepare_cases(cfg.data, splits["val"], cfg) if splits["val"] and dist.main else {}
    t_prep = time.perf_counter() - t0

    config = asdict(cfg)
    config.update({"preprocess": {"spacing": list(cfg.spacing), "size": cfg.size, "windows": {"cta": [-100, 700], "ncct": [-10, 110]}},
                   "splits_file": str(split_path), "splits_reused": reused, "device": str(device),
                   "torch": str(torch.__version__), "distributed": dist.to_dict()})
    config = json.loads(json.dumps(config, default=str))
    cfg.net["in_channels"] = 2 * (2 * cfg.context + 1)
    config["net"] = dict(cfg.net)
    if dist.main:
        (out / "config.json").write_text(json.dumps(config, indent=2, default=str))
    model = build_model(**cfg.net)
    if cfg.init:
        start, start_cfg = load_checkpoint(cfg.init)
        if start_cfg["net"] != cfg.net:
            raise InputError(f"{cfg.init}: its network {start_cfg['net']} differs from this run's {cfg.net}")
        model.load_state_dict(start.state_dict())
    model = model.to(device)
    ddp = wrap_ddp(model, dist)  # the same module; its backward averages the gradients over the processes
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    total = max(1, cfg.epochs * cfg.steps_per_epoch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total, pct_start=0.1)
    local = cfg if not dist.enabled else replace(cfg, batch_size=max(1, -(-cfg.batch_size // dist.world_size)))
    sampler = _Sampler(list(train_cases.values()), local, stream=dist.rank)
    history = []
    best, best_epoch = -1.0, 0
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        losses = []
        for step in range(cfg.steps_per_epoch):
            x, y = sampler.batch()
            x_t, y_t = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(ddp(x_t), y_t)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            if progress:
                progress(f"epoch {epoch}/{cfg.epochs}", step + 1, cfg.steps_per_epoch)
        if not dist.main:
            continue  # rank 0 validates and writes; the others wait for it at the next step's gradient exchange
        model.eval()
        val = validate(model, val_cases, cfg.context, cfg.min_volume_mm3) if val_cases else {}
        mean_val = float(np.mean(list(val.values()))) if val else float("nan")
        history.append({"epoch": epoch, "loss": float(np.mean(losses)), "val_dice": mean_val,
                        "seconds": round(time.perf_counter() - t0, 1)})
        save_checkpoint(model, config, out / "last.pt")
        score = mean_val if val else -float(np.mean(losses))
        if score > best:
            best, best_epoch = score, epoch
            shutil.copyfile(out / "last.pt", out / "best.pt")
        (out / "history.json").write_text(json.dumps(history, indent=2))
    if not dist.main:
        return {"rank": dist.rank, "device": str(device)}
    post = None
    if val_cases:  # threshold and component rules of the best model, chosen on the validation split
        best_model, best_cfg = load_checkpoint(out / "best.pt")
        post, rows = choose_postprocess(best_model, val_cases, cfg.context, cfg.min_volume_mm3)
        (out / "postprocess_validation.json").write_text(json.dumps({"chosen": post, "tried": rows}, indent=1))
        best_cfg["postprocess"] = {k: post[k] for k in POSTPROCESS_KEYS}
        save_checkpoint(best_model, best_cfg, out / "best.pt")
        config["postprocess"] = best_cfg["postprocess"]
        (out / "config.json").write_text(json.dumps(config, indent=2, default=str))
    summary = {"out": str(out), "best": str(out / "best.pt"), "best_epoch": best_epoch, "postprocess": post,
               "best_val_dice": best if val_cases else None, "splits": {k: len(splits[k]) for k in ("train", "val", "test")},
               "splits_file": str(split_path), "splits_reused": reused, "seconds": round(time.perf_counter() - t0, 1),
               "seconds_preprocessing": round(t_prep, 1), "device": str(device), "distributed": dist.to_dict()}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
