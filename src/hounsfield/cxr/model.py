"""CXR calcium networks (MONAI encoders) and the saved-model format.

Architectures: ``densenet121`` (MONAI ``DenseNet121``), ``resnet18``
(MONAI ``resnet18``) and ``efficientnet-b0`` (MONAI ``EfficientNetBN``), all
2-D with one input channel. No torchvision, and nothing is downloaded:
ImageNet weights are not available offline, so ``pretrained=True`` needs a
local state-dict file (``init``) and fails with a clear message otherwise.

Outputs
-------
* ``classify``: 3 logits, cumulative (ordinal) thresholds
  ``P(CAC > 0)``, ``P(CAC >= 100)``, ``P(CAC >= 400)``; the category is the
  number of thresholds passed after making the probabilities monotone.
* ``regress``: 1 value, standardised ``log(clip(CAC, 0, 2000) + 1)``;
  ``P(CAC > 0)`` comes from a logistic (Platt) fit of the prediction on the
  inner validation split, stored with the model.

With clinical inputs (``hounsfield train cxr --clinical age,sex``) the
network is :func:`~.clinical.fusion_network` (image logits plus a linear term
of the encoded clinical values) and the saved config carries the
:class:`~.clinical.ClinicalEncoder`.

A saved model is one ``.pt`` file (``torch.save`` of a dict, weights in
float16) and a readable ``.json`` beside it with the same config.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import HounsfieldError, InputError
from .clinical import ClinicalEncoder, fusion_network
from .data import CATEGORY_NAMES, Standardiser
from .preprocess import Preprocess

__all__ = ["ARCHS", "TASKS", "build_network", "check_network_options", "CXRModel", "load_model", "FORMAT"]

ARCHS = ("densenet121", "resnet18", "efficientnet-b0")
TASKS = ("classify", "regress")
FORMAT = "hounsfield-cxr-1"


def check_network_options(arch: str, width: float = 1.0, stem_stride: int = 1) -> None:
    """:class:`InputError` unless ``width`` / ``stem_stride`` suit ``arch`` (resnet18 only; width in (0, 4],
    stride 1 or 2)."""
    if (width != 1.0 or stem_stride != 1) and arch != "resnet18":
        raise InputError(f"--width and --stem-stride apply to resnet18 only, not {arch}")
    if not 0 < width <= 4 or stem_stride not in (1, 2):
        raise InputError(f"--width must be in (0, 4] and --stem-stride 1 or 2 (got {width}, {stem_stride})")


def build_network(arch: str, n_outputs: int, pretrained: bool = False, init: str | os.PathLike | None = None,
                  width: float = 1.0, stem_stride: int = 1) -> Any:
    """A 2-D, 1-channel MONAI encoder with ``n_outputs`` outputs.

    Parameters
    ----------
    arch
        One of :data:`ARCHS`.
    width, stem_stride
        ``resnet18`` only: MONAI's ``widen_factor`` (channels 64-512 times ``width``; 0.25 gives 16-128) and the
        stride of its 7x7 stem convolution (MONAI's default 1; 2 as in the original ResNet, 4x fewer operations).
    pretrained
        Ask for pretrained weights; only possible from a local file ``init``.
    init
        A state-dict file to start from (layers whose shapes differ, e.g. the
        head, are left at their random initialisation).
    """
    import torch
    from monai.networks import nets

    check_network_options(arch, width, stem_stride)
    if arch == "densenet121":
        net = nets.DenseNet121(spatial_dims=2, in_channels=1, out_channels=n_outputs)
    elif arch == "resnet18":
        net = nets.resnet18(spatial_dims=2, n_input_channels=1, num_classes=n_outputs, widen_factor=float(width),
                            conv1_t_stride=int(stem_stride))
    elif arch in ("efficientnet-b0", "efficientnet"):
        net = nets.EfficientNetBN("efficientnet-b0", pretrained=False, spatial_dims=2, in_channels=1,
                                  num_classes=n_outputs)
    else:
        raise InputError(f"unknown architecture '{arch}'; choose one of {', '.join(ARCHS)}")
    if pretrained and not init:
        raise HounsfieldError(
            f"pretrained {arch} weights cannot be downloaded (hounsfield works offline); "
            "pass a local state-dict file with --init PATH, or train from scratch without --pretrained")
    if init:
        p = Path(init)
        if not p.is_file():
            raise InputError(f"{p}: initial weights file not found")
        state = torch.load(p, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state) if isinstance(state, dict) else state
        own = net.state_dict()
        usable = {k: v for k, v in state.items() if k in own and tuple(v.shape) == tuple(own[k].shape)}
        if not usable:
            raise InputError(f"{p}: no tensor matches the {arch} network (wrong architecture?)")
        own.update({k: v.float() for k, v in usable.items()})
        net.load_state_dict(own)
    return net


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


@dataclass
class CXRModel:
    """A trained CXR calcium network with everything inference needs.

    Attributes
    ----------
    arch, task
        Architecture and task (``classify`` or ``regress``).
    net
        The torch module.
    preprocess
        :class:`Preprocess` used in training (applied again at inference).
    standardiser
        Regression target scaling (``regress`` only).
    platt
        ``(a, b)`` with ``P(CAC > 0) = sigmoid(a * z + b)`` (``regress`` only).
    threshold
        Decision threshold on ``P(CAC > 0)`` chosen on the inner validation split.
    trained_on
        Plain statement of the training data.
    info
        Training config, fold, metrics.
    clinical
        Encoder of the clinical inputs (``None``: image only); ``net`` then takes ``(image, clinical)``.
    aux
        Encoder of the auxiliary targets (``train cxr --aux``): the network has one more output per encoded
        feature after the calcium ones; :meth:`interpret` returns them as ``aux_<feature>`` (numbers in their
        own unit, categories as probabilities).
    """

    arch: str
    task: str
    net: Any
    preprocess: Preprocess
    standardiser: Standardiser | None = None
    platt: tuple[float, float] | None = None
    threshold: float = 0.5
    trained_on: str = "unknown"
    info: dict[str, Any] = field(default_factory=dict)
    network: dict[str, Any] = field(default_factory=dict)  # build_network options (width, stem_stride)
    clinical: ClinicalEncoder | None = None
    aux: ClinicalEncoder | None = None

    @property
    def n_outputs(self) -> int:
        return (3 if self.task == "classify" else 1) + (self.aux.n_features if self.aux else 0)

    def config(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "arch": self.arch, "task": self.task, "network": dict(self.network),
            "preprocess": self.preprocess.to_dict(),
            "standardiser": self.standardiser.to_dict() if self.standardiser else None,
            "platt": list(self.platt) if self.platt else None, "threshold": self.threshold,
            "trained_on": self.trained_on, "categories": list(CATEGORY_NAMES), "info": self.info,
            "clinical": self.clinical.to_dict() if self.clinical else None,
            "aux": self.aux.to_dict() if self.aux else None,
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``path`` (.pt, float16 weights where they fit) and ``path.with_suffix('.json')`` (atomic)."""
        import torch

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        from ..training.weights import half_state

        state = half_state(self.net.state_dict())
        tmp = path.with_name(path.name + ".part")
        torch.save({"config": self.config(), "state_dict": state}, tmp)
        os.replace(tmp, path)
        jtmp = path.with_suffix(".json.part")
        jtmp.write_text(json.dumps(self.config(), indent=2, default=float) + "\n")
        os.replace(jtmp, path.with_suffix(".json"))
        return path

    def outputs(self, batch: np.ndarray, batch_size: int = 16, clinical: np.ndarray | None = None) -> np.ndarray:
        """Raw network outputs for preprocessed inputs ``(n, 1, s, s)`` (and, for a model with clinical inputs,
        their encoded values ``(n, k)``: :meth:`ClinicalEncoder.transform`)."""
        import torch

        if (self.clinical is None) != (clinical is None):
            raise HounsfieldError("this model takes clinical inputs (" + ", ".join(self.clinical.names) + ")"
                                  if self.clinical else "this model takes no clinical inputs")
        self.net.eval()
        dev = next(self.net.parameters()).device
        outs = []
        with torch.inference_mode():
            for s in range(0, len(batch), batch_size):
                x = torch.from_numpy(np.array(batch[s:s + batch_size], dtype=np.float32)).to(dev)
                if clinical is None:
                    outs.append(self.net(x).float().cpu().numpy())
                else:
                    c = torch.from_numpy(np.asarray(clinical[s:s + batch_size], np.float32)).to(dev)
                    outs.append(self.net(x, c).float().cpu().numpy())
        return np.concatenate(outs, axis=0) if outs else np.zeros((0, self.n_outputs), np.float32)

    def interpret(self, out: np.ndarray) -> dict[str, np.ndarray]:
        """Network outputs -> ``p_cac_gt0`` (+ ``p_cac_ge100``, ``p_cac_ge400``), ``category``, ``score``."""
        out = np.asarray(out, dtype=float)
        aux = self._interpret_aux(out)
        if self.task == "classify":
            p = _sigmoid(out[:, :3])
            p = np.minimum.accumulate(p, axis=1)  # P(>0) >= P(>=100) >= P(>=400)
            category = (p >= 0.5).sum(axis=1)
            category = np.where(p[:, 0] >= self.threshold, np.maximum(category, 1), 0)
            return {"p_cac_gt0": p[:, 0], "p_cac_ge100": p[:, 1], "p_cac_ge400": p[:, 2], "category": category, **aux}
        z = out[:, 0]
        if self.standardiser is None:
            raise HounsfieldError("regression model without its target standardiser (broken model file)")
        a, b = self.platt if self.platt else (1.0, 0.0)
        score = self.standardiser.inverse(z)
        from .data import cac_category

        return {"p_cac_gt0": _sigmoid(a * z + b), "score": score, "log_cac": self.standardiser.to_log(z),
                "category": cac_category(score), "z": z, **aux}

    def _interpret_aux(self, out: np.ndarray) -> dict[str, np.ndarray]:
        """The auxiliary outputs (after the calcium ones): numeric features back in their unit, indicators as
        probabilities."""
        if self.aux is None:
            return {}
        j0 = 3 if self.task == "classify" else 1
        return {f"aux_{name}": (out[:, j0 + j] * c["sd"] + c["mean"] if c["kind"] == "numeric"
                                else _sigmoid(out[:, j0 + j]))
                for j, (name, c) in enumerate(self.aux.features())}


def load_model(path: str | os.PathLike) -> CXRModel:
    """Load a model saved by :meth:`CXRModel.save` (or ``hounsfield train cxr --save``)."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: model file not found")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise InputError(f"{path}: not a hounsfield CXR model ({exc})") from None
    cfg = blob.get("config", {}) if isinstance(blob, dict) else {}
    if cfg.get("format") != FORMAT:
        raise InputError(f"{path}: not a hounsfield CXR model (format {cfg.get('format')!r}, expected {FORMAT!r})")
    task = cfg["task"]
    aux = ClinicalEncoder.from_dict(cfg["aux"]) if cfg.get("aux") else None
    n_out = (3 if task == "classify" else 1) + (aux.n_features if aux else 0)
    net = build_network(cfg["arch"], n_out, **(cfg.get("network") or {}))
    clinical = ClinicalEncoder.from_dict(cfg["clinical"]) if cfg.get("clinical") else None
    if clinical is not None:
        net = fusion_network(net, clinical.n_features, n_out)
    net.load_state_dict({k: (v.float() if v.is_floating_point() else v) for k, v in blob["state_dict"].items()})
    net.eval()
    std = cfg.get("standardiser")
    return CXRModel(
        arch=cfg["arch"], task=task, net=net, preprocess=Preprocess.from_dict(cfg["preprocess"]),
        standardiser=Standardiser(**std) if std else None,
        platt=tuple(cfg["platt"]) if cfg.get("platt") else None,  # type: ignore[arg-type]
        threshold=float(cfg.get("threshold", 0.5)), trained_on=cfg.get("trained_on", "unknown"),
        info=cfg.get("info", {}), network=dict(cfg.get("network") or {}), clinical=clinical,
        aux=aux,
    )
