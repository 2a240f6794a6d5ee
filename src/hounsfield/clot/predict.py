"""Clot segmentation of one patient: CTA + NCCT in, mask and measurements out."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..volume import Volume
from .measure import clean_mask, components, measure_clot
from .preprocess import PreparedCase, prepare, restore

__all__ = ["DEFAULT_MODEL", "ClotResult", "load_model", "predict_slices", "segment_clot", "model_channels"]

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


def predict_slices(model: Any, channels: np.ndarray, batch_size: int = 16) -> np.ndarray:
    """Clot probability per pixel for ``(n, 2, S, S)`` uint8 slices."""
    import torch

    out = np.zeros((channels.shape[0],) + channels.shape[2:], dtype=np.float32)
    model.eval()
    with torch.inference_mode():
        for i in range(0, len(channels), batch_size):
            x = torch.from_numpy(channels[i:i + batch_size].astype(np.float32) / 255.0)
            p = torch.softmax(model(x), dim=1)[:, 1]
            out[i:i + batch_size] = p.numpy()
    return out


def segment_clot(cta: Volume | None, ncct: Volume | None, model: Any = None, config: dict[str, Any] | None = None,
                 model_summary: dict[str, Any] | None = None, register: bool = False, threshold: float = 0.5,
                 largest_only: bool = True) -> ClotResult:
    """Segment the clot; ``cta`` or ``ncct`` may be ``None`` (not both).

    Without a model the bundled default is loaded. Components smaller than the
    model's ``min_volume_mm3`` are removed; the patient is "detected" when
    anything remains. With ``largest_only`` (the default, chosen on the
    validation split of the bundled model: mean Dice 0.30 -> 0.38) only the
    largest connected component is kept: one clot per patient.
    """
    t0 = time.perf_counter()
    if model is None:
        model, config, model_summary = load_model()
    assert config is not None
    pre = config.get("preprocess", {})
    prep = prepare(cta, ncct, spacing=tuple(pre.get("spacing", (0.75, 0.75, 1.5))), size=int(pre.get("size", 256)),
                   register=register)
    probs = predict_slices(model, model_channels(prep))
    pred = (probs >= threshold).astype(np.uint8)
    target = (cta if cta is not None else ncct)
    assert target is not None
    mask = restore(pred, prep, target)
    min_vol = float(config.get("min_volume_mm3", 5.0))
    mask = clean_mask(mask, min_vol)
    if largest_only and mask.array.any():
        lab, counts = components(mask.array)
        mask = mask.with_array((lab == int(np.argmax(counts[1:]) + 1)).astype(np.uint8))
    cow = np.asarray(prep.roi.centre_mm) if prep.has_cta and prep.roi.method.startswith("vessels") else None
    meas = measure_clot(mask, midline_x_mm=prep.roi.centre_mm[0], cow_centre_mm=cow)
    meas["min_volume_mm3"] = min_vol
    meas["largest_component_only"] = largest_only
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
