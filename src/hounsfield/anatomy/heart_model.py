"""Built-in heart and bone segmenter: a small 2-D U-Net on 3 mm axial slices (MONAI), CPU-fast.

Input: the scan block-averaged to about 3 mm (RAS, :func:`coarse_grid`), HU
clipped to [-1000, 1500] and scaled by 1/1000, three neighbouring slices as
channels (2.5-D). Output per voxel: 0 background, 1 heart (pericardial sac
with its chambers and myocardium), 2 bone (ribs, vertebrae, sternum, costal
cartilage). The heart is the largest connected component of class 1.

The bundled weights (``heart-bones`` in the model manifest) were trained on
synthetic patients only (``hounsfield phantom chest``, gated and non-gated
exams, with and without contrast), from their exact heart and bone label
maps; see the manifest for the command, data and validation Dice. On a scan
where the model finds no heart the caller falls back to the anatomical
heuristic (:mod:`hounsfield.anatomy.heuristic`), and says so.

Training: ``hounsfield train heart --data COHORT -o OUT`` (:func:`train_heart_model`).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .._optional import import_optional
from ..volume import Volume

__all__ = ["MODEL_NAME", "HeartModel", "coarse_grid", "load_heart_model", "train_heart_model"]

MODEL_NAME = "heart-bones"
COARSE_MM = 3.0
CLASSES = {0: "background", 1: "heart", 2: "bone"}
ARCH = {"spatial_dims": 2, "in_channels": 3, "out_channels": 3, "channels": (8, 16, 32, 64),
        "strides": (2, 2, 2), "num_res_units": 1}


def coarse_grid(volume: Volume, mm: float = COARSE_MM) -> Volume:
    """Block means over whole voxels to about ``mm`` (RAS-reoriented), with the exact block-centre affine."""
    ras = volume.to_ras()
    sp = np.asarray(ras.spacing)
    f = np.maximum(np.round(mm / sp), 1).astype(int)
    shape = tuple(int(s // k) for s, k in zip(ras.shape, f))
    arr = ras.array[: shape[0] * f[0], : shape[1] * f[1], : shape[2] * f[2]].astype(np.float32)
    arr = arr.reshape(shape[0], f[0], shape[1], f[1], shape[2], f[2]).mean(axis=(1, 3, 5))
    aff = ras.affine.copy()
    aff[:3, :3] = ras.affine[:3, :3] * f[None, :]
    aff[:3, 3] = ras.world((f - 1) / 2.0)
    return Volume(arr, aff, ras.meta)


def _channels(a: np.ndarray) -> np.ndarray:
    """(Z, 3, X, Y) float32: slice k-1, k, k+1 (edges repeated), HU scaled."""
    x = np.clip(a, -1000.0, 1500.0) / 1000.0
    x = np.moveaxis(x, 2, 0).astype(np.float32)  # (Z, X, Y)
    up = np.concatenate([x[:1], x[:-1]], axis=0)
    down = np.concatenate([x[1:], x[-1:]], axis=0)
    return np.stack([up, x, down], axis=1)


def _pad8(x: np.ndarray, value: float) -> tuple[np.ndarray, tuple[int, int]]:
    X, Y = x.shape[-2:]
    px, py = (-X) % 8, (-Y) % 8
    if px or py:
        x = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(0, px), (0, py)], constant_values=value)
    return x, (X, Y)


@dataclass
class HeartModel:
    net: Any
    info: dict[str, Any]

    def predict(self, coarse: Volume, batch: int = 32) -> np.ndarray:
        """Class map (uint8, 0/1/2) on ``coarse``'s grid (from :func:`coarse_grid`)."""
        import torch

        x, (X, Y) = _pad8(_channels(coarse.array), -1.0)
        out = np.zeros((x.shape[0], X, Y), np.uint8)
        self.net.eval()
        dev = next(self.net.parameters()).device
        with torch.no_grad():
            for s in range(0, x.shape[0], batch):
                logits = self.net(torch.from_numpy(x[s:s + batch]).to(dev))
                out[s:s + batch] = logits.argmax(1).cpu().numpy()[:, :X, :Y].astype(np.uint8)
        return np.moveaxis(out, 0, 2)


def _build_net():
    import_optional("monai", "ml", "the built-in heart segmenter")
    from monai.networks.nets import UNet

    return UNet(**ARCH)


def load_heart_model(name: str = "default", models_dir: str | os.PathLike | None = None) -> HeartModel | None:
    """The registered heart/bone segmenter, or None when none is registered (or torch/MONAI are missing)."""
    from ..models.registry import list_models, load_entry

    wanted = MODEL_NAME if name == "default" else name
    if wanted not in {e.name for e in list_models(models_dir)}:
        return None
    try:
        import torch
    except ImportError:
        return None
    entry = load_entry(wanted, models_dir)
    return _load(str(entry.path), entry.sha256, json.dumps(entry.summary(), sort_keys=True, default=str))


@lru_cache(maxsize=4)
def _load(path: str, sha256: str, info: str) -> HeartModel:
    import torch

    net = _build_net()
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    net.eval()
    return HeartModel(net=net, info=json.loads(info))


# ----------------------------------------------------------------------------------------------- training


def _labels_on(coarse: Volume, mask: Volume) -> np.ndarray:
    """Fraction of each coarse voxel covered by ``mask`` > 0 (block mean on the same RAS grid), >= 0.5."""
    m = coarse_grid(Volume((mask.array > 0).astype(np.float32), mask.affine), COARSE_MM)
    if m.shape != coarse.shape:
        m = m.resample_like(coarse, order=1)
    return m.array >= 0.5


def _load_case(img: Path, heart: Path, bones: Path) -> tuple[np.ndarray, np.ndarray]:
    from ..io import read

    vol = read(img)
    c = coarse_grid(vol)
    y = np.zeros(c.shape, np.uint8)
    y[_labels_on(c, read(heart))] = 1
    y[_labels_on(c, read(bones))] = 2  # bone wins where both (sternum over the pericardium)
    return _channels(c.array), np.moveaxis(y, 2, 0)


def _cases(folders: list[Path]) -> list[tuple[Path, Path, Path, str]]:
    out = []
    for root in folders:
        for t in sorted(root.glob("*/truth.json")):
            d = t.parent
            for exam in ("gated", "non_gated"):
                paths = [d / f"{exam}.nii.gz", d / f"{exam}_heart.nii.gz", d / f"{exam}_bones.nii.gz"]
                if all(p.exists() for p in paths):
                    out.append((*paths, f"{root.name}/{d.name}"))
    return out


def _dice(pred: np.ndarray, ref: np.ndarray) -> float:
    s = pred.sum() + ref.sum()
    return float(2 * (pred & ref).sum() / s) if s else 1.0


def train_heart_model(data: list[str | os.PathLike], out_dir: str | os.PathLike, *, epochs: int = 20,
                      slices_per_epoch: int = 3000, batch_size: int = 16, lr: float = 2e-3, seed: int = 0,
                      val_fraction: float = 0.15, command: str = "", trained_on: str = "",
                      progress: Callable[[str], None] | None = None, device: str = "auto") -> dict[str, Any]:
    """Train the 2.5-D U-Net on phantom cohorts (folders of ``*/truth.json`` patients) and register it.

    Under ``torchrun`` (``training.distributed``) every process draws the same global batches and trains on its
    share (DDP averages the gradients); rank 0 alone validates, writes and registers; the others return
    ``{"rank": r}``.
    """
    from ..training.distributed import distributed

    with distributed(device) as dist:
        return _train_heart_model(data, out_dir, dist, epochs=epochs, slices_per_epoch=slices_per_epoch,
                                  batch_size=batch_size, lr=lr, seed=seed, val_fraction=val_fraction,
                                  command=command, trained_on=trained_on, progress=progress if dist.main else None)


def _train_heart_model(data: list[str | os.PathLike], out_dir: str | os.PathLike, dist: Any, *, epochs: int,
                       slices_per_epoch: int, batch_size: int, lr: float, seed: int, val_fraction: float,
                       command: str, trained_on: str, progress: Callable[[str], None] | None) -> dict[str, Any]:
    import torch
    from monai.losses import DiceCELoss

    from ..errors import InputError
    from ..models.registry import register_model
    from ..training.distributed import all_reduce_sum, shard, wrap_ddp
    from ..training.seeds import seed_everything

    seed_everything(seed)
    rng = np.random.default_rng(seed)
    cases = _cases([Path(d) for d in data])
    if len(cases) < 2:
        raise InputError("need at least two exams with heart and bone label maps (hounsfield phantom chest)")
    groups = sorted({c[3] for c in cases})
    val_groups = set(rng.permutation(groups)[: max(1, int(round(val_fraction * len(groups))))].tolist())
    t0 = time.time()
    train_x, train_y, val = [], [], []
    for img, heart, bones, g in cases:
        x, y = _load_case(img, heart, bones)
        if g in val_groups:
            val.append((x, y))
        else:
            train_x.append(x)
            train_y.append(y)
    # one padded array of all training slices (the coarse grids differ between gated and non-gated exams)
    size = max(max(x.shape[-2], x.shape[-1]) for x in train_x)
    size += (-size) % 8
    n = sum(x.shape[0] for x in train_x)
    X = np.full((n, 3, size, size), -1.0, np.float32)
    Y = np.zeros((n, size, size), np.int64)
    i = 0
    for x, y in zip(train_x, train_y):
        k, a, b = x.shape[0], x.shape[-2], x.shape[-1]
        X[i:i + k, :, :a, :b] = x
        Y[i:i + k, :a, :b] = y
        i += k
    load_s = time.time() - t0
    net = _build_net().to(dist.device)
    ddp = wrap_ddp(net, dist)  # the same module; its backward averages the gradients over the processes
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * (slices_per_epoch // batch_size))
    loss_fn = DiceCELoss(to_onehot_y=True, softmax=True)
    history = []
    for ep in range(epochs):
        net.train()
        order = rng.choice(n, size=min(slices_per_epoch, n), replace=False)
        losses = []
        for s in range(0, len(order) - batch_size + 1, batch_size):
            idx = np.sort(order[s:s + batch_size])
            jitter = rng.normal(0, 0.01, size=(len(idx), 1, 1, 1)).astype(np.float32)  # HU calibration jitter
            # every process draws the same global batch (same generator) and trains on its share of it
            idx, jitter = shard(idx, dist), shard(jitter, dist)
            if not len(idx):
                continue
            xb = torch.from_numpy(X[idx] + jitter).to(dist.device)
            yb = torch.from_numpy(Y[idx][:, None]).to(dist.device)
            opt.zero_grad()
            loss = loss_fn(ddp(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
        total, count = all_reduce_sum([float(np.sum(losses)), float(len(losses))], dist)
        history.append({"epoch": ep + 1, "loss": round(total / max(count, 1.0), 4)})
        if progress:
            progress(f"epoch {ep + 1}/{epochs} loss {history[-1]['loss']:.4f}")
    if not dist.main:
        return {"rank": dist.rank}
    net = net.cpu()
    model = HeartModel(net=net, info={})
    dice_heart, dice_bone = [], []
    for x, y in val:
        a = _from_channels(x)
        pred = model.predict(Volume(a, np.eye(4)))
        ref = np.moveaxis(y, 0, 2)
        dice_heart.append(_dice(_largest_heart(pred), ref == 1))
        dice_bone.append(_dice(pred == 2, ref == 2))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / "heart_bones.pt"
    torch.save(net.state_dict(), weights)
    metrics = {"n_exams": len(cases), "n_val_exams": len(val), "n_train_slices": int(n),
               "val_dice_heart_mean": round(float(np.mean(dice_heart)), 4) if val else None,
               "val_dice_heart_min": round(float(np.min(dice_heart)), 4) if val else None,
               "val_dice_bone_mean": round(float(np.mean(dice_bone)), 4) if val else None,
               "history": history, "seconds": round(time.time() - t0, 1), "load_seconds": round(load_s, 1)}
    config = {"seed": seed, "epochs": epochs, "slices_per_epoch": slices_per_epoch, "batch_size": batch_size, "lr": lr,
              "arch": {k: list(v) if isinstance(v, tuple) else v for k, v in ARCH.items()}, "coarse_mm": COARSE_MM,
              "input": "HU clip [-1000, 1500] / 1000, slices k-1, k, k+1", "classes": CLASSES,
              "data": [str(d) for d in data], "val_patients": sorted(val_groups), "distributed": dist.to_dict()}
    (out / f"{MODEL_NAME}.config.json").write_text(json.dumps(config, indent=1) + "\n")
    entry = register_model(out, weights, name=MODEL_NAME, task="heart-bones", trained_on=trained_on, command=command,
                           input={"coarse_mm": COARSE_MM, "channels": 3}, config=config, metrics=metrics,
                           created=time.strftime("%Y-%m-%d"))
    return {"entry": entry, "metrics": metrics, "config": config}


def _from_channels(x: np.ndarray) -> np.ndarray:
    """Back from (Z, 3, X, Y) scaled channels to an (X, Y, Z) HU array (the middle channel)."""
    return np.moveaxis(x[:, 1] * 1000.0, 0, 2)


def _largest_heart(pred: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    lab, n = ndimage.label(pred == 1)
    if n == 0:
        return np.zeros(pred.shape, bool)
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return lab == sizes.argmax()
