"""Clot segmentation of one patient: CTA + NCCT in, mask and measurements out."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..volume import Volume
from .measure import measure_clot
from .preprocess import WINDOW_CTA, PreparedCase, prepare, restore, window

__all__ = ["DEFAULT_MODEL", "DEFAULT_POSTPROCESS", "ClotResult", "load_model", "predict_slices", "segment_clot",
           "model_channels", "stack_context", "network_input", "roi_box", "predict_case", "postprocess", "vessel_zone"]

#: post-processing of models whose config has none (threshold 0.5, largest component, no vessel rule)
DEFAULT_POSTPROCESS: dict[str, Any] = {"threshold": 0.5, "select": "largest", "vessel_mm": None, "keep_frac": 1.0,
                                       "tta": False}

#: name of the bundled model in the registry
DEFAULT_MODEL = "clot-unet2d-synthetic"


@dataclass(frozen=True)
class ClotResult:
    """Mask (on the CTA grid, or the NCCT grid without a CTA) and what was measured."""

    mask: Volume
    measurements: dict[str, Any]
    inputs: dict[str, Any]
    roi: dict[str, Any]
    registration: dict[str, Any] | None
    notes: tuple[str, ...]
    model: dict[str, Any]
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"clot": self.measurements, "inputs": self.inputs, "roi": self.roi, "registration": self.registration,
                "notes": list(self.notes), "model": self.model, "seconds": round(self.seconds, 3)}


def load_model(weights: str | Path | None = None, models_dir: str | Path | None = None) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Load a checkpoint (a path), or the bundled/registered default model.

    Returns the network, its config and a summary for reports.
    """
    from ..models.registry import load_entry
    from .model import load_checkpoint

    if weights is not None:
        p = Path(weights)
        if not p.exists():
            raise InputError(f"{p}: no such model file")
        model, cfg = load_checkpoint(p)
        return model, cfg, {"file": str(p), "trained_on": cfg.get("trained_on", "see config.json beside the weights")}
    entry = load_entry(DEFAULT_MODEL, models_dir)
    model, cfg = load_checkpoint(entry.path)
    return model, cfg, entry.summary()


def model_channels(prep: PreparedCase) -> np.ndarray:
    """The two network channels (CTA, NCCT) of a prepared case, uint8 ``(n, 2, S, S)``.

    Without a CTA the CTA channel is the NCCT in the CTA window (the network
    saw that substitution during training, ``cta_dropout``).
    """
    c = prep.channels
    first = c[:, 0] if prep.has_cta else c[:, 2]
    return np.stack([first, c[:, 1]], axis=1)


def stack_context(channels: np.ndarray, context: int) -> np.ndarray:
    """2.5-D input: each slice with its ``context`` neighbours on either side as extra channels.

    ``(n, 2, H, W)`` -> ``(n, 2 * (2 * context + 1), H, W)``, ordered by slice
    offset 0, -1, +1, -2, +2, ... (CTA, NCCT for each); slices beyond the
    ends repeat the end slice.

    >>> stack_context(np.arange(3)[:, None, None, None] * np.ones((3, 2, 1, 1)), 1)[0, :, 0, 0].tolist()
    [0.0, 0.0, 0.0, 0.0, 1.0, 1.0]
    """
    if context <= 0:
        return channels
    n = channels.shape[0]
    parts = [channels]
    for d in range(1, context + 1):
        parts.append(channels[np.clip(np.arange(n) - d, 0, n - 1)])
        parts.append(channels[np.clip(np.arange(n) + d, 0, n - 1)])
    return np.ascontiguousarray(np.concatenate(parts, axis=1))


def roi_box(prep: PreparedCase, multiple: int = 16) -> tuple[slice, slice]:
    """The ROI part of the padded slice, widened to a multiple of ``multiple`` (the network needs no more)."""
    out = []
    for o, n in zip(prep.offset, prep.roi_shape[:2]):
        w = int(np.ceil(n / multiple) * multiple)
        a = max(0, o - (w - n) // 2)
        a = min(a, prep.channels.shape[-1] - w)
        out.append(slice(a, a + w))
    return out[0], out[1]


def network_input(prep: PreparedCase, config: dict[str, Any], box: tuple[slice, slice] | None = None) -> np.ndarray:
    """The network's input slices (uint8) of a prepared case, 2-D or 2.5-D as the model was trained."""
    x = model_channels(prep)
    if box is not None:
        x = x[:, :, box[0], box[1]]
    return stack_context(x, int(config.get("context", 0)))


def predict_case(model: Any, prep: PreparedCase, config: dict[str, Any], tta: bool | None = None) -> np.ndarray:
    """Clot probabilities ``(n_slices, size, size)`` of a prepared case; only the ROI box is run through the network.

    ``tta`` (default: the model's ``postprocess["tta"]``, else off): the mean of
    the probabilities of the slices as they are, flipped left-right and flipped
    up-down (the training augmentation has both flips), 3 passes instead of 1.
    """
    if tta is None:
        tta = bool(config.get("postprocess", {}).get("tta", False))
    box = roi_box(prep)
    x = network_input(prep, config, box)
    p = predict_slices(model, x)
    if tta:
        for ax in (-1, -2):
            p += np.flip(predict_slices(model, np.ascontiguousarray(np.flip(x, ax))), ax)
        p /= 3.0
    probs = np.zeros((prep.channels.shape[0],) + prep.channels.shape[2:], dtype=np.float32)
    probs[:, box[0], box[1]] = p
    return probs


def vessel_zone(prep: PreparedCase, vessel_mm: float) -> np.ndarray:
    """Voxels of the prepared grid within ``vessel_mm`` of contrast-filled lumen (CTA 180-650 HU, > 3 mm from bone)."""
    from scipy import ndimage

    sp = np.abs(np.diag(np.asarray(prep.roi_affine)[:3, :3]))
    zyx = np.array([sp[2], sp[0], sp[1]])  # the prepared arrays are (slice, i, j)
    cta = prep.channels[:, 0]
    lo, hi = window(np.array([180.0, 650.0]), *WINDOW_CTA)
    bone = cta >= window(np.array([700.0]), *WINDOW_CTA)[0]
    r3 = np.maximum(1, np.round(3.0 / zyx)).astype(int)
    lumen = (cta >= lo) & (cta <= hi) & ~ndimage.binary_dilation(bone, structure=np.ones(2 * r3 + 1, bool))
    r = np.maximum(1, np.round(vessel_mm / zyx)).astype(int)
    g = np.ogrid[tuple(slice(-x, x + 1) for x in r)]
    ball = sum((gi * s / vessel_mm) ** 2 for gi, s in zip(g, zyx)) <= 1.0 + 1e-9
    return ndimage.binary_dilation(lumen, structure=ball)


def postprocess(probs: np.ndarray, prep: PreparedCase, threshold: float = 0.5, min_volume_mm3: float = 5.0,
                select: str = "largest", vessel_mm: float | None = None,
                near_vessels: np.ndarray | None = None, keep_frac: float = 1.0) -> np.ndarray:
    """Probabilities -> binary clot mask on the prepared grid.

    Threshold; drop 26-connected components smaller than ``min_volume_mm3``;
    with ``vessel_mm`` (and a CTA) drop components farther than that from the
    contrast-filled vessel tree (CTA 180-650 HU, > 3 mm from bone): a clot is a filling defect
    of an artery, so it touches enhanced lumen at least at its proximal end;
    then keep one component (``select``: ``"largest"`` by volume, ``"mass"``
    by summed probability; with ``keep_frac`` < 1 every component whose
    summed probability is at least ``keep_frac`` times the highest is kept, so
    a clot broken into pieces keeps its pieces) or ``"all"``. ``near_vessels``: the
    :func:`vessel_zone` of ``prep``, when already computed.
    """
    from scipy import ndimage

    b = probs >= threshold
    if not b.any():
        return b.astype(np.uint8)
    lab, n = ndimage.label(b, structure=np.ones((3, 3, 3), bool))
    sp = np.abs(np.diag(np.asarray(prep.roi_affine)[:3, :3]))
    vox = float(sp[0] * sp[1] * sp[2])
    idx = np.arange(1, n + 1)
    counts = ndimage.sum_labels(np.ones_like(probs), lab, idx)
    keep = counts * vox >= min_volume_mm3
    if vessel_mm is not None and prep.has_cta:
        near = vessel_zone(prep, vessel_mm) if near_vessels is None else near_vessels
        keep &= ndimage.maximum(near, lab, idx).astype(bool)
    if not keep.any():
        return np.zeros(probs.shape, np.uint8)
    if select == "mass" and keep_frac < 1.0:
        mass = np.where(keep, ndimage.sum_labels(probs, lab, idx), -1.0)
        keep &= mass >= keep_frac * mass.max()
    elif select in ("largest", "mass"):
        score = counts if select == "largest" else ndimage.sum_labels(probs, lab, idx)
        best = int(np.argmax(np.where(keep, score, -1.0)))
        keep = np.zeros_like(keep)
        keep[best] = True
    elif select != "all":
        raise ValueError(f"unknown component selection {select!r}")
    table = np.concatenate([[False], keep])
    return table[lab].astype(np.uint8)


def predict_slices(model: Any, channels: np.ndarray, batch_size: int = 16) -> np.ndarray:
    """Clot probability per pixel for ``(n, 2, S, S)`` uint8 slices."""
    import torch

    out = np.zeros((channels.shape[0],) + channels.shape[2:], dtype=np.float32)
    model.eval()
    dev = next(model.parameters()).device  # the training device during validation (a GPU), else the CPU
    with torch.inference_mode():
        for i in range(0, len(channels), batch_size):
            x = torch.from_numpy(channels[i:i + batch_size].astype(np.float32) / 255.0).to(dev)
            p = torch.softmax(model(x), dim=1)[:, 1]
            out[i:i + batch_size] = p.float().cpu().numpy()
    return out


def segment_clot(cta: Volume | None, ncct: Volume | None, model: Any = None, config: dict[str, Any] | None = None,
                 model_summary: dict[str, Any] | None = None, register: bool = False, threshold: float | None = None,
                 largest_only: bool = True) -> ClotResult:
    """Segment the clot; ``cta`` or ``ncct`` may be ``None`` (not both).

    Without a model the bundled default is loaded. The probability threshold
    and the component rules (see :func:`postprocess`) are the model's
    ``postprocess`` settings, chosen on its validation split (defaults for
    older models: 0.5, largest component); ``threshold`` overrides the
    threshold; ``largest_only=False`` keeps every component (one clot per
    patient is the default). The patient is "detected" when anything remains.
    A model trained on rigidly registered pairs (its config's ``register``)
    registers the NCCT to the CTA here too, whatever ``register`` says.
    """
    t0 = time.perf_counter()
    if model is None:
        model, config, model_summary = load_model()
    assert config is not None
    pre = config.get("preprocess", {})
    register = bool(register or config.get("register", False))
    prep = prepare(cta, ncct, spacing=tuple(pre.get("spacing", (0.75, 0.75, 1.5))), size=int(pre.get("size", 256)),
                   register=register)
    post = {**DEFAULT_POSTPROCESS, **config.get("postprocess", {})}
    if threshold is not None:
        post["threshold"] = threshold
    if not largest_only:
        post["select"] = "all"
    min_vol = float(config.get("min_volume_mm3", 5.0))
    probs = predict_case(model, prep, config, tta=bool(post["tta"]))
    pred = postprocess(probs, prep, float(post["threshold"]), min_vol, str(post["select"]), post["vessel_mm"],
                       keep_frac=float(post["keep_frac"]))
    target = (cta if cta is not None else ncct)
    assert target is not None
    mask = restore(pred, prep, target)
    cow = np.asarray(prep.roi.centre_mm) if prep.has_cta and prep.roi.method.startswith("vessels") else None
    meas = measure_clot(mask, midline_x_mm=prep.roi.centre_mm[0], cow_centre_mm=cow)
    meas["min_volume_mm3"] = min_vol
    meas["largest_component_only"] = post["select"] != "all"
    meas["postprocess"] = post
    inputs = {"cta": (cta.meta.source if cta is not None else None), "ncct": (ncct.meta.source if ncct is not None else None),
              "cta_given": cta is not None, "ncct_given": ncct is not None,
              "grid": {"shape": list(target.shape), "spacing_mm": [round(s, 4) for s in target.spacing]}}
    return ClotResult(mask, meas, inputs, prep.roi.to_dict(), prep.registration.to_dict() if prep.registration else None,
                      prep.notes, model_summary or {}, time.perf_counter() - t0)


def predict_dataset(data: str | Path, out: str | Path, ids: list[str] | None = None, model: Any = None,
                    config: dict[str, Any] | None = None, model_summary: dict[str, Any] | None = None,
                    register: bool = False, npy_spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
                    progress: Any = None) -> dict[str, dict[str, Any]]:
    """Segment every case (or ``ids``) of a data set; write ``<out>/<case>.nii.gz`` and ``<case>.json``."""
    from ..io import write_json, write_nifti
    from .data import find_cases, load_case

    if model is None:
        model, config, model_summary = load_model()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    refs = [r for r in find_cases(data) if ids is None or r.case_id in set(ids)]
    results = {}
    for i, ref in enumerate(refs):
        case = load_case(ref, spacing=npy_spacing)
        res = segment_clot(case.cta, case.ncct, model, config, model_summary, register=register)
        mask = res.mask
        if case.mask is not None and mask.shape == case.mask.shape and ref.layout == "published":
            mask = Volume(mask.array, case.mask.affine, mask.meta)
        write_nifti(mask, out / f"{ref.case_id}.nii.gz")
        write_json(res.to_dict(), out / f"{ref.case_id}.json")
        results[ref.case_id] = res.to_dict()
        if progress:
            progress(i + 1, len(refs))
    return results
