"""k-fold cross-validated training of the CXR calcium networks.

For each outer fold (patient-grouped, stratified by CAC category): the
training patients are split again into inner-train and validation; the
network trains on inner-train, the epoch with the lowest validation loss is
kept (the test fold is never looked at for that choice, nor for the decision
threshold or the Platt scaling, both fitted on the validation split); then the
kept network predicts the test fold once. Out-of-fold predictions of all
folds are pooled for the overall metrics.

Outputs in ``out_dir``: ``config.json``, ``folds.json`` (patients per part),
``history.csv`` (losses per epoch), ``predictions.csv`` (out-of-fold),
``cv_metrics.json`` (per fold + pooled), figures with ``viz``, and the model
with ``save`` (the fold model with the lowest inner-validation loss).

With ``clinical`` columns (``--clinical age,sex``) the network also takes
those columns of the labels CSV (:mod:`.clinical`: encoder fitted on each
fold's inner-training part, late fusion of a linear term into the logits).
With ``aux`` columns (``--aux age,sex``) the network also learns to predict
those columns from the image (extra outputs; squared error for numbers,
binary cross-entropy for categories, weight ``aux_weight``, missing values
left out); they are not inputs, and the epoch is chosen on the calcium loss.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import InputError
from ..training.distributed import DEVICES, Dist, all_reduce_sum, distributed, main_first, shard, wrap_ddp
from ..training.folds import grouped_stratified_folds
from ..training.seeds import seed_everything
from ..training.weights import recalibrate_batchnorm
from .calcium_map import MapHead, map_loss, map_targets, read_map_file
from .clinical import ClinicalEncoder, fusion_network
from .data import Record, Standardiser, cac_category, cac_thresholds, load_inputs
from .evaluate import evaluate_predictions
from .model import ARCHS, TASKS, CXRModel, build_network, check_network_options
from .preprocess import Preprocess, preset

__all__ = ["TrainConfig", "cross_validate", "default_lr"]


def default_lr(task: str) -> float:
    """Published defaults: 3e-4 for classification, 1e-3 for regression."""
    return 3e-4 if task == "classify" else 1e-3


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (saved as ``config.json``)."""

    task: str = "classify"
    arch: str = "densenet121"
    kfold: int = 5
    epochs: int = 50
    lr: float | None = None
    wd: float = 1e-4
    batch_size: int = 8
    momentum: float = 0.9
    optimizer: str = "adamw"
    size: int = 224
    equalize: bool = True
    val_fraction: float = 0.2
    augment: bool = True
    patience: int = 0
    seed: int = 0
    n_boot: int = 1000
    pretrained: bool = False
    init: str | None = None
    threads: int | None = None
    region: tuple[float, float, float, float] | None = None  # heart/mediastinum cut-out (Preprocess.region)
    max_folds: int | None = None  # train only the first N outer folds (the rest are not evaluated)
    bn_images: int = 0  # precise-BN over this many inner-training images (0: all)
    width: float = 1.0  # resnet18 channel multiplier (MONAI widen_factor)
    stem_stride: int = 1  # resnet18 stem convolution stride
    cache: str | None = None  # .npz of the preprocessed inputs (written once, reused when it matches)
    device: str = "auto"  # auto (GPU when visible), cpu or cuda; several processes: torchrun (training.distributed)
    clinical: tuple[str, ...] = ()  # labels-CSV columns given to the network with the image (clinical.py)
    aux: tuple[str, ...] = ()  # labels-CSV columns the network learns to predict besides the calcium
    aux_weight: float = 0.5  # weight of the auxiliary losses
    aux_map: str | None = None  # .npz of where the calcium projects on each film (calcium_map.py): a dense auxiliary target
    aux_map_weight: float = 1.0  # weight of the calcium-map loss

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise InputError(f"--task must be one of {', '.join(TASKS)}, got '{self.task}'")
        if self.arch not in ARCHS:
            raise InputError(f"--arch must be one of {', '.join(ARCHS)}, got '{self.arch}'")
        if self.kfold < 2:
            raise InputError("--kfold must be at least 2")
        if self.optimizer not in ("adamw", "sgd"):
            raise InputError("--optimizer must be adamw or sgd")
        if self.epochs < 1 or self.batch_size < 1:
            raise InputError("--epochs and --batch-size must be positive")
        if self.max_folds is not None and not 1 <= self.max_folds <= self.kfold:
            raise InputError(f"--max-folds must be between 1 and --kfold ({self.kfold})")
        check_network_options(self.arch, self.width, self.stem_stride)
        both = set(self.aux) & set(self.clinical)
        if both:
            raise InputError(f"--aux and --clinical both name {', '.join(sorted(both))}: a column cannot be an "
                             "input and a target")
        if self.aux_weight < 0 or self.aux_map_weight < 0:
            raise InputError("--aux-weight and --aux-map-weight must be >= 0")
        if self.aux_map and self.arch not in MapHead.LAYERS:
            raise InputError(f"--aux-map is available for {', '.join(MapHead.LAYERS)} only, not {self.arch}")
        if self.aux_map and self.size % 16:  # the head's grid is 1/16 or 1/8 of the input; the maps are kept at 1/4
            raise InputError(f"--aux-map needs --size a multiple of 16, got {self.size}")
        if self.device not in DEVICES:
            raise InputError(f"--device must be one of {', '.join(DEVICES)}, got '{self.device}'")
        if self.region is not None:
            try:
                Preprocess(region=tuple(self.region))
            except (TypeError, ValueError) as exc:
                raise InputError(f"--region: {exc}") from None

    @property
    def learning_rate(self) -> float:
        return float(self.lr) if self.lr else default_lr(self.task)

    @property
    def network(self) -> dict[str, Any]:
        """Non-default :func:`build_network` options (saved with the model)."""
        d: dict[str, Any] = {}
        if self.width != 1.0:
            d["width"] = float(self.width)
        if self.stem_stride != 1:
            d["stem_stride"] = int(self.stem_stride)
        return d

    @property
    def preprocess(self) -> Preprocess:
        return preset(self.size, self.equalize, self.region)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["region"] = list(self.region) if self.region is not None else None
        d["clinical"] = list(self.clinical)
        d["aux"] = list(self.aux)
        d["learning_rate"] = self.learning_rate
        d["preprocess"] = self.preprocess.to_dict()
        return d


def _augmenter(seed: int) -> Callable[..., Any]:
    """Small affine + brightness/contrast changes (no horizontal flip: the heart has a side).

    ``apply(x)`` returns the augmented batch; ``apply(x, maps)`` also moves per-image maps (``n x s x s``, the
    input's size) with the same affine transform and returns ``(x, maps)``."""
    import albumentations as A

    aug = A.Compose([
        A.Affine(scale=(0.93, 1.07), translate_percent=(-0.04, 0.04), rotate=(-6, 6), p=0.8, border_mode=0, fill=0),
        A.RandomBrightnessContrast(brightness_limit=0.08, contrast_limit=0.08, p=0.5),
    ], seed=seed)

    def apply(x: np.ndarray, maps: np.ndarray | None = None) -> Any:
        if maps is None:
            return np.stack([aug(image=np.asarray(im[0], np.float32))["image"][None] for im in x])
        done = [aug(image=np.asarray(im[0], np.float32), mask=np.asarray(m, np.float32)) for im, m in zip(x, maps)]
        return np.stack([d["image"][None] for d in done]), np.stack([d["mask"] for d in done])

    return apply


def _targets(task: str, cac: np.ndarray, std: Standardiser | None) -> np.ndarray:
    if task == "classify":
        return cac_thresholds(cac).astype(np.float32)
    assert std is not None
    return std.transform(cac).reshape(-1, 1).astype(np.float32)


def _loss_fn(task: str) -> Any:
    import torch

    return torch.nn.BCEWithLogitsLoss() if task == "classify" else torch.nn.MSELoss()


def _mean_loss(net: Any, x: np.ndarray, t: np.ndarray, task: str, batch_size: int,
               c: np.ndarray | None = None, head: MapHead | None = None,
               maps: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[float, np.ndarray, float | None]:
    """Mean calcium loss of ``net`` (evaluation mode) over ``x``, its calcium outputs, and, with a map ``head``
    and the images' ``(maps, known)``, the mean calcium-map loss over the images with a map (same forward pass)."""
    import torch

    loss_fn = _loss_fn(task)
    net.eval()
    dev = next(net.parameters()).device
    total, outs, map_total, n_map = 0.0, [], 0.0, 0
    with torch.inference_mode():
        for s in range(0, len(x), batch_size):
            xb = torch.as_tensor(np.asarray(x[s:s + batch_size], np.float32)).to(dev)
            tb = torch.as_tensor(t[s:s + batch_size]).to(dev)
            o = net(xb) if c is None else net(xb, torch.as_tensor(c[s:s + batch_size]).to(dev))
            o = o[:, :t.shape[1]]  # the calcium outputs (auxiliary ones follow)
            total += float(loss_fn(o, tb)) * len(xb)
            outs.append(o.float().cpu().numpy())
            if head is not None and maps is not None:
                k = maps[1][s:s + batch_size]
                map_total += float(map_loss(head.logits(), map_targets(maps[0][s:s + batch_size], head.grid), k)) \
                    * int(k.sum())
                n_map += int(k.sum())
    return (total / max(len(x), 1), np.concatenate(outs) if outs else np.zeros((0, t.shape[1])),
            map_total / max(n_map, 1) if head is not None and maps is not None else None)


def _aux_loss(out: Any, target: np.ndarray, mask: np.ndarray, binary: Any) -> Any:
    """Mean over the known values: squared error for numeric features, BCE with logits for indicators."""
    import torch

    t = torch.as_tensor(target, device=out.device)
    m = torch.as_tensor(mask, device=out.device)
    per = torch.where(binary, torch.nn.functional.binary_cross_entropy_with_logits(out, t, reduction="none"),
                      (out - t) ** 2)
    return (per * m).sum() / m.sum().clamp_min(1.0)


def _fit_platt(z: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    if np.unique(y).size < 2:
        return (1.0, 0.0)
    lr = LogisticRegression(C=100.0, max_iter=1000).fit(z.reshape(-1, 1), y.astype(int))
    return (float(lr.coef_[0, 0]), float(lr.intercept_[0]))


def _train_fold(
    cfg: TrainConfig, fold: Any, x: np.ndarray, cac: np.ndarray, log: Callable[[str], None], dist: Dist = Dist(),
    rows: list[dict[str, Any]] | None = None, maps: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[CXRModel, list[dict[str, Any]], float]:
    import torch

    from ..metrics.classification import youden_threshold

    seed_everything(cfg.seed + 1000 * (fold.index + 1))
    std = Standardiser.fit(cac[fold.inner_train]) if cfg.task == "regress" else None
    n_main = 3 if cfg.task == "classify" else 1
    aux_enc, a_train, m_train, a_bin = None, None, None, None
    if cfg.aux:  # targets encoded with the inner-training patients' statistics; missing values masked out
        train_rows = [(rows or [])[i] for i in fold.inner_train]
        aux_enc = ClinicalEncoder.fit(train_rows, cfg.aux)
        a_train, imputed = aux_enc.transform(train_rows)
        feats = aux_enc.features()
        a_bin = torch.as_tensor([c["kind"] != "numeric" for _, c in feats], device=dist.device)
        m_train = np.array([[c["name"] not in imp for _, c in feats] for imp in imputed], np.float32)
    n_out = n_main + (aux_enc.n_features if aux_enc else 0)
    net = build_network(cfg.arch, n_out, cfg.pretrained, cfg.init, cfg.width, cfg.stem_stride)
    head = MapHead(net, cfg.arch, cfg.size) if maps is not None else None  # calcium-map head (training only)
    image_net, enc, c_all = net, None, None
    if cfg.clinical:  # encoder from the inner-training patients only
        enc = ClinicalEncoder.fit([(rows or [])[i] for i in fold.inner_train], cfg.clinical)
        c_all = enc.transform(rows or [])[0]
        net = fusion_network(net, enc.n_features, n_out)
    net = net.to(dist.device)
    ddp = wrap_ddp(net, dist)  # the same module; its backward averages gradients over the processes
    params = net.parameters()
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=cfg.learning_rate, momentum=cfg.momentum, weight_decay=cfg.wd)
    else:
        opt = torch.optim.AdamW(params, lr=cfg.learning_rate, betas=(cfg.momentum, 0.999), weight_decay=cfg.wd)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    loss_fn = _loss_fn(cfg.task)
    t_train = _targets(cfg.task, cac[fold.inner_train], std)
    t_val = _targets(cfg.task, cac[fold.validation], std)
    x_train, x_val = x[fold.inner_train], x[fold.validation]
    c_train = c_all[fold.inner_train] if c_all is not None else None
    c_val = c_all[fold.validation] if c_all is not None else None
    map_train, known_train = (maps[0][fold.inner_train], maps[1][fold.inner_train]) if maps is not None else (None, None)
    augment = _augmenter(cfg.seed + fold.index) if cfg.augment else None
    rng = np.random.default_rng(cfg.seed + fold.index)
    history: list[dict[str, Any]] = []
    best: tuple[float, dict[str, Any], int] | None = None
    stale = 0
    for epoch in range(1, cfg.epochs + 1):
        net.train()
        order = rng.permutation(len(x_train))
        total, seen, map_total, t0 = 0.0, 0, 0.0, time.perf_counter()
        for s in range(0, len(order), cfg.batch_size):
            # every process holds the same global batch and trains on its share of it
            glob = order[s:s + cfg.batch_size]
            if len(glob) < 2 * dist.world_size and len(order) > 1:  # batch norm needs 2 samples per process
                continue
            idx = shard(glob, dist)
            xb = np.asarray(x_train[idx], np.float32)
            mb = None
            if head is not None:  # maps up-sampled to the input (sums kept) so that they move with the image
                f = cfg.size // map_train.shape[-1]
                mb = np.repeat(np.repeat(map_train[idx], f, axis=1), f, axis=2) / float(f * f)
            if augment is not None:
                if mb is None:
                    xb = augment(xb)
                else:
                    xb, mb = augment(xb, mb)
            xb_t, tb = torch.as_tensor(xb).to(dist.device), torch.as_tensor(t_train[idx]).to(dist.device)
            opt.zero_grad(set_to_none=True)
            out = ddp(xb_t) if c_train is None else ddp(xb_t, torch.as_tensor(c_train[idx]).to(dist.device))
            loss = loss_fn(out[:, :n_main], tb)
            if aux_enc is not None:
                loss = loss + cfg.aux_weight * _aux_loss(out[:, n_main:], a_train[idx], m_train[idx], a_bin)
            if head is not None:
                m_loss = map_loss(head.logits(), map_targets(mb, head.grid), known_train[idx])
                loss = loss + cfg.aux_map_weight * m_loss
                map_total += float(m_loss.detach()) * len(idx)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            seen += len(idx)
        total, seen, map_total = all_reduce_sum([total, seen, map_total], dist)
        sched.step()
        bn_x = x_train
        if cfg.bn_images and len(x_train) > cfg.bn_images:
            bn_x = x_train[np.sort(rng.choice(len(x_train), cfg.bn_images, replace=False))]
        recalibrate_batchnorm(image_net, bn_x, max(cfg.batch_size, 16))  # all batch norms are in the image part
        val_maps = (maps[0][fold.validation], maps[1][fold.validation]) if maps is not None else None
        val_loss, _, val_map_loss = _mean_loss(net, x_val, t_val, cfg.task, max(cfg.batch_size, 16), c_val, head,
                                               val_maps)
        # the same number on every process (GPU sums may differ in the last bits), so that all of them keep the
        # same epoch and stop together
        val_loss = all_reduce_sum([val_loss], dist)[0] / dist.world_size
        row = {"fold": fold.index, "epoch": epoch, "train_loss": total / max(seen, 1), "val_loss": val_loss,
               "seconds": round(time.perf_counter() - t0, 2), "selected": False}
        if head is not None:  # the calcium-map loss alone, on the training batches and on the validation images
            row["train_map_loss"] = map_total / max(seen, 1)
            row["val_map_loss"] = val_map_loss
        history.append(row)
        log(f"fold {fold.index} epoch {epoch}: train {row['train_loss']:.4f} validation {val_loss:.4f}"
            + (f" (calcium map: train {row['train_map_loss']:.4f} validation {row['val_map_loss']:.4f})"
               if head is not None else ""))
        if best is None or val_loss < best[0]:
            best = (val_loss, {k: v.detach().clone() for k, v in net.state_dict().items()}, epoch)
            stale = 0
        else:
            stale += 1
            if cfg.patience and stale >= cfg.patience:
                log(f"fold {fold.index}: early stop after {epoch} epochs")
                break
    assert best is not None
    net.load_state_dict(best[1])
    if head is not None:
        head.remove()  # the saved model is the image network alone
    # the threshold and the test predictions on the training device (a published-size network on a GPU would
    # wait minutes for the CPU); _cross_validate moves the model to the CPU after its test fold
    for h in history:
        h["selected"] = h["epoch"] == best[2]
    model = CXRModel(cfg.arch, cfg.task, net, cfg.preprocess, std, network=cfg.network, clinical=enc, aux=aux_enc)
    # decision threshold / Platt scaling on the validation split only
    val_pred = model.interpret(model.outputs(x_val, clinical=c_val))
    y_val = cac[fold.validation] > 0
    if cfg.task == "regress":
        model.platt = _fit_platt(val_pred["z"], y_val)
        val_pred = model.interpret(model.outputs(x_val, clinical=c_val))
    model.threshold = youden_threshold(y_val, val_pred["p_cac_gt0"])
    model.info = {"fold": fold.index, "selected_epoch": best[2], "validation_loss": best[0]}
    return model, history, best[0]


def cached_inputs(paths: list[str], settings: Preprocess, cache: str | os.PathLike | None,
                  log: Callable[[str], None] = lambda s: None) -> np.ndarray:
    """:func:`load_inputs`, kept in ``cache`` (``.npz``: float16 inputs, image paths, preprocess settings).

    The cache is used only when its image list and preprocessing equal the requested ones; otherwise it is
    rebuilt and overwritten.
    """
    if not cache:
        return load_inputs(paths, settings)
    cache = Path(cache)
    key = json.dumps({"images": [str(p) for p in paths], "preprocess": settings.to_dict()}, sort_keys=True)
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as z:
            if str(z["key"]) == key:
                log(f"inputs from the cache {cache}")
                return z["x"]
        log(f"cache {cache} is for other images or preprocessing: rebuilding it")
    x = load_inputs(paths, settings)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(cache.name + ".part.npz")
    np.savez(tmp, x=x, key=np.array(key))
    os.replace(tmp, cache)
    return x


def _json_safe(o: Any) -> Any:
    if isinstance(o, dict):
        return {k: _json_safe(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_json_safe(v) for v in o]
    if isinstance(o, (np.floating, float)):
        return None if not np.isfinite(o) else float(o)
    if isinstance(o, np.integer):
        return int(o)
    return o


def cross_validate(
    records: list[Record], cfg: TrainConfig, out_dir: str | Path, *, viz: bool = False,
    save: str | Path | None = None, trained_on: str = "", log: Callable[[str], None] = lambda s: None,
    command: str = "",
) -> dict[str, Any]:
    """Run the k-fold cross-validation and write the outputs (see the module docstring).

    Returns the ``cv_metrics.json`` content (``folds`` and ``pooled``).
    """
    import torch

    if cfg.threads:
        torch.set_num_threads(int(cfg.threads))
    with distributed(cfg.device) as dist:
        return _cross_validate(records, cfg, Path(out_dir), dist, viz=viz, save=save, trained_on=trained_on,
                               log=log if dist.main else (lambda s: None), command=command)


def _cross_validate(
    records: list[Record], cfg: TrainConfig, out: Path, dist: Dist, *, viz: bool, save: str | Path | None,
    trained_on: str, log: Callable[[str], None], command: str,
) -> dict[str, Any]:
    """:func:`cross_validate` in this process; with several processes (``torchrun``) every one trains its share
    of each batch, computes the same predictions and metrics, and only rank 0 writes."""
    rows = [dict(r.extra) for r in records]
    for opt, cols in (("--clinical", cfg.clinical), ("--aux", cfg.aux)):
        absent = [c for c in cols if not any(c in r for r in rows)]
        if absent:
            raise InputError(f"{opt}: the labels CSV has no column {', '.join(absent)} "
                             f"(its extra columns: {', '.join(sorted({k for r in rows for k in r})) or 'none'})")
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    cac = np.array([r.cac for r in records], float)
    groups = np.array([r.patient_id for r in records])
    log(f"reading and preprocessing {len(records)} images at {cfg.size} px"
        + (f"; {dist.world_size} processes ({dist.to_dict()['backend']}) on {dist.device.split(':')[0]}"
           if dist.enabled else f" on {dist.device}"))
    with main_first(dist, when=bool(cfg.cache)):  # rank 0 writes the cache, the others then read it
        x = cached_inputs([r.image for r in records], cfg.preprocess, cfg.cache, log)
    t_read = time.perf_counter() - t_start
    folds = grouped_stratified_folds(cac_category(cac), groups, cfg.kfold, cfg.seed, cfg.val_fraction)
    if dist.main:
        (out / "config.json").write_text(json.dumps({**cfg.to_dict(), "n_images": len(records),
                                                     "n_patients": int(np.unique(groups).size),
                                                     "trained_on": trained_on, "command": command,
                                                     "distributed": dist.to_dict()}, indent=2) + "\n")
        (out / "folds.json").write_text(json.dumps([f.to_dict(groups) for f in folds], indent=2) + "\n")
    history: list[dict[str, Any]] = []
    fold_metrics = []
    oof: dict[str, np.ndarray] = {}
    oof_fold = np.full(len(records), -1)
    best_model: tuple[float, CXRModel] | None = None
    trained = folds[: cfg.max_folds] if cfg.max_folds else folds
    if len(trained) < len(folds):
        log(f"training {len(trained)} of {len(folds)} outer folds (--max-folds); pooled metrics cover those folds")
    maps = None
    if cfg.aux_map:
        maps = read_map_file(cfg.aux_map, [r.patient_id for r in records], cfg.preprocess, cfg.size // 4)
        log(f"calcium maps for {int(maps[1].sum())} of {len(records)} images ({cfg.size // 4} x {cfg.size // 4} cells)")
    for fold in trained:
        model, hist, val_loss = _train_fold(cfg, fold, x, cac, log, dist, rows, maps)
        history += hist
        c_test = model.clinical.transform([rows[i] for i in fold.test])[0] if model.clinical else None
        pred = model.interpret(model.outputs(x[fold.test], clinical=c_test))
        model.net.to("cpu")  # kept and saved on the CPU
        for k, v in pred.items():
            oof.setdefault(k, np.zeros(len(records), dtype=float))[fold.test] = v
        oof_fold[fold.test] = fold.index
        m = evaluate_predictions(cac[fold.test], pred, model.threshold, groups[fold.test], cfg.n_boot, cfg.seed)
        m.update({"fold": fold.index, "threshold": model.threshold, "selected_epoch": model.info["selected_epoch"],
                  "validation_loss": val_loss, "platt": model.platt})
        fold_metrics.append(m)
        log(f"fold {fold.index}: test AUROC CAC>0 {m['auroc_cac_gt0']['value']:.3f}")
        if best_model is None or val_loss < best_model[0]:
            best_model = (val_loss, model)
    # pooled out-of-fold predictions; each fold's own threshold decided its category
    done = oof_fold >= 0  # all images unless --max-folds
    thr_of = {fm["fold"]: fm["threshold"] for fm in fold_metrics}
    thresholds = np.array([thr_of.get(int(f), 0.5) for f in oof_fold])[done]
    oof["category"] = oof["category"].astype(int)
    oof_done = {k: v[done] for k, v in oof.items()}
    pooled = evaluate_predictions(cac[done], oof_done, 0.5, groups[done], cfg.n_boot, cfg.seed)
    pooled["cac_gt0_at_threshold"] = _pooled_binary(cac[done], oof_done["p_cac_gt0"], thresholds)
    pooled["n_images"] = int(done.sum())
    elapsed = time.perf_counter() - t_start
    result = {"task": cfg.task, "arch": cfg.arch, "kfold": cfg.kfold, "n_images": len(records),
              "n_patients": int(np.unique(groups).size), "trained_on": trained_on,
              "seconds": {"total": round(elapsed, 1), "read_preprocess": round(t_read, 1)},
              "folds": fold_metrics, "pooled": pooled, "distributed": dist.to_dict()}
    if not dist.main:
        return {**result, "rank": dist.rank}  # another process of a torchrun job: rank 0 writes and reports
    _write_history(history, out / "history.csv")
    _write_predictions(records, oof, oof_fold, out / "predictions.csv")
    if save and best_model is not None:
        model = best_model[1]
        model.trained_on = trained_on or "unknown data"
        model.info = {**model.info, "train_config": cfg.to_dict(), "command": command,
                      "cv_pooled": {"auroc_cac_gt0": pooled["auroc_cac_gt0"],
                                    "kappa_linear": pooled["kappa_linear"]},
                      "selection": "fold model with the lowest inner-validation loss"}
        model.save(save)
        result["saved_model"] = str(save)
    (out / "cv_metrics.json").write_text(json.dumps(_json_safe(result), indent=2) + "\n")
    if viz:
        from .figures import plot_confusion, plot_losses, plot_roc

        plot_losses(history, out / "loss_curves.png")
        curves = {f"fold {f.index}": (cac[f.test] > 0, oof["p_cac_gt0"][f.test]) for f in trained}
        curves["pooled"] = (cac[done] > 0, oof["p_cac_gt0"][done])
        plot_roc(curves, out / "roc_cac_gt0.png")
        plot_confusion(pooled["confusion_categories"], out / "confusion_categories.png",
                       title="CAC category (pooled out-of-fold)")
        b = pooled["cac_gt0_at_threshold"]
        plot_confusion([[b["tn"], b["fp"]], [b["fn"], b["tp"]]], out / "confusion_cac_gt0.png",
                       labels=("CAC 0", "CAC > 0"), title="CAC > 0 (pooled, per-fold thresholds)")
    return result


def _pooled_binary(cac: np.ndarray, p: np.ndarray, thresholds: np.ndarray) -> dict[str, Any]:
    from ..metrics.classification import binary_metrics

    # p >= own threshold  <=>  p - threshold + 0.5 >= 0.5
    m = binary_metrics(cac > 0, p - thresholds + 0.5, 0.5)
    m["threshold"] = "per fold (chosen on each fold's validation split)"
    return m


def _write_history(history: list[dict[str, Any]], path: Path) -> None:
    with open(path, "w", newline="") as fh:
        names = ["fold", "epoch", "train_loss", "val_loss", "seconds", "selected"]
        names += [k for k in ("train_map_loss", "val_map_loss") if any(k in h for h in history)]  # --aux-map
        w = csv.DictWriter(fh, fieldnames=names)
        w.writeheader()
        w.writerows(history)


def _write_predictions(records: list[Record], oof: dict[str, np.ndarray], fold: np.ndarray, path: Path) -> None:
    keys = [k for k in ("p_cac_gt0", "p_cac_ge100", "p_cac_ge400", "score", "log_cac", "category") if k in oof]
    keys += sorted(k for k in oof if k.startswith("aux_"))  # out-of-fold predictions of the auxiliary targets
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "patient_id", "cac", "fold", *keys])
        for i, r in enumerate(records):
            w.writerow([r.image, r.patient_id, f"{r.cac:g}", int(fold[i]),
                        *[(int(oof[k][i]) if k == "category" else f"{oof[k][i]:.6g}") for k in keys]])
