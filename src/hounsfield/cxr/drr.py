"""Digitally reconstructed radiographs (DRR): a PA chest film from any chest CT.

Physics, step by step (all in :func:`drr`)
------------------------------------------
1. **HU -> linear attenuation** at the radiograph's effective energy
   (``mu_water_per_mm``, default 0.0206 /mm = water at ~60 keV, the effective
   energy of a filtered 110-125 kVp chest beam)::

       mu = mu_w * (1 + HU / 1000)                 HU <= 0  (air, fat, lung, water)
       mu = mu_w * (1 + bone_factor * HU / 1000)   HU >  0  (soft tissue, bone, calcium)

   ``bone_factor`` (default 1.1) accounts for calcium attenuating relatively
   more at 60 keV than at the ~70 keV effective energy of the CT that measured
   the HU (cortical bone / water: 2.94 at 60 keV vs 2.75 at 70 keV, NIST XCOM).
2. **Line integrals** along the anterior-posterior axis (parallel beam; the
   ~10 % cone-beam magnification of a 180 cm PA film is ignored) on the CT's
   own (R-L, S-I) grid, then resampled to square detector pixels of
   ``pixel_mm`` and padded with air to a square field.
3. **Primary transmission** ``exp(-integral)`` plus **scatter** modelled as a
   fraction of the transmitted image blurred by a wide Gaussian
   (``scatter_fraction``, ``scatter_sigma_mm``; an anti-scatter grid keeps the
   fraction low).
4. **Quantum noise** (Poisson, Gaussian approximation) for ``photons_per_mm2``
   incident photons per mm^2, then **detector blur** (Gaussian, ``detector_blur_mm``)
   that also correlates the noise, as a phosphor plate does.
5. **Log and display**: ``-log`` of the detected signal (bright = attenuating)
   windowed between two percentiles of the image, like a CR's automatic
   exposure recognition.

Coronary calcium is small on a radiograph: a 5 mm, 1000 HU plaque changes the
line integral by about ``0.0206 * 1.1 * 1.0 * 5 = 0.11`` (a ~11 % change in
transmission) over a ~10-pixel-wide spot at 0.5 mm pixels, against a heart
shadow whose transmission is below 1 %. The defaults (0.5 mm pixels, 0.35 mm
detector blur, scatter fraction 0.15, 3e6 photons/mm^2) keep such plaques
faintly visible (contrast-to-noise ratio above 1 per pixel at full
resolution, measured in ``tests/cxr/test_drr.py``); small or soft plaques
(< 3 mm, < 300 HU) are below the noise, as on real films. Downsampling to
224 px (about 2 mm pixels) averages the noise down but also the plaque.

Image orientation: PA convention, rows from superior (row 0) to inferior,
the patient's right on the viewer's left.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..volume import Volume
from .io import Radiograph

__all__ = ["DRRSettings", "drr", "attenuation", "line_integrals", "radiograph_from_integrals"]


@dataclass(frozen=True)
class DRRSettings:
    """Settings of the DRR (see the module docstring for the physics).

    Parameters
    ----------
    pixel_mm
        Detector pixel size (mm).
    mu_water_per_mm
        Linear attenuation of water at the effective energy (1/mm).
    bone_factor
        Extra slope of attenuation above 0 HU at the radiograph energy.
    scatter_fraction
        Scatter as a fraction of the blurred transmitted signal (0 = none).
    scatter_sigma_mm
        Width (Gaussian sigma) of the scatter blur.
    detector_blur_mm
        Gaussian sigma of the detector's point spread.
    photons_per_mm2
        Incident photons per mm^2 (``0`` or ``None``: no noise).
    window_percentiles
        Display window as percentiles of the log image.
    field_margin_mm
        Air added around the CT's field of view before squaring the image.
    """

    pixel_mm: float = 0.5
    mu_water_per_mm: float = 0.0206
    bone_factor: float = 1.1
    scatter_fraction: float = 0.15
    scatter_sigma_mm: float = 40.0
    detector_blur_mm: float = 0.35
    photons_per_mm2: float | None = 3e6
    window_percentiles: tuple[float, float] = (0.5, 99.8)
    field_margin_mm: float = 20.0

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["window_percentiles"] = list(self.window_percentiles)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DRRSettings":
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        if "window_percentiles" in kw:
            kw["window_percentiles"] = tuple(kw["window_percentiles"])
        return cls(**kw)


def attenuation(hu: np.ndarray, mu_water_per_mm: float = 0.0206, bone_factor: float = 1.1) -> np.ndarray:
    """Linear attenuation (1/mm) from Hounsfield units (bilinear model, >= 0).

    >>> [round(float(v), 4) for v in attenuation(np.array([-1000.0, 0.0, 1000.0]), 0.02, 1.0)]
    [0.0, 0.02, 0.04]
    """
    hu = np.asarray(hu, dtype=np.float32)
    rel = np.where(hu > 0, bone_factor * hu, hu) / np.float32(1000.0)
    return (np.float32(mu_water_per_mm) * np.maximum(np.float32(1.0) + rel, np.float32(0.0))).astype(np.float32)


def line_integrals(volume: Volume, settings: DRRSettings = DRRSettings()) -> tuple[np.ndarray, tuple[float, float]]:
    """Attenuation integrated along anterior-posterior, as a PA image.

    Returns the image ``[row, column]`` (row 0 superior, column 0 the
    patient's right) on the CT's (S-I, R-L) grid and its ``(row, col)``
    spacing in mm. The volume is first reoriented to RAS (flips and axis
    permutations only); an oblique CT is projected along its nearest axis.
    """
    ras = volume.to_ras()
    si, sj, sk = ras.spacing
    mu = attenuation(ras.array, settings.mu_water_per_mm, settings.bone_factor)
    proj = mu.sum(axis=1, dtype=np.float64) * sj  # [i (towards patient's right), k (superior)]
    # PA display: rows superior -> inferior, columns patient's right -> left
    image = proj[::-1, ::-1].T
    return np.ascontiguousarray(image), (sk, si)


def drr(volume: Volume, settings: DRRSettings = DRRSettings(), rng: np.random.Generator | int | None = 0) -> Radiograph:
    """A simulated PA chest radiograph of a CT ``volume`` in HU.

    Parameters
    ----------
    volume
        Chest CT (HU); any orientation whose axes are close to R-L, A-P, S-I.
    settings
        :class:`DRRSettings`.
    rng
        Generator or seed for the quantum noise (``None``: fresh entropy).

    Returns
    -------
    Radiograph
        Pixels in ``[0, 1]`` (bright = attenuating), spacing ``pixel_mm``;
        ``meta["drr"]`` holds the settings, ``meta["line_integral_max"]`` the
        largest attenuation integral.
    """
    from scipy import ndimage

    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    proj, (srow, scol) = line_integrals(volume, settings)
    px = float(settings.pixel_mm)
    zoom = (srow / px, scol / px)
    proj = ndimage.zoom(proj, zoom, order=1, mode="nearest", grid_mode=True)
    proj = np.maximum(proj, 0.0)
    # square field with an air margin
    margin = int(round(settings.field_margin_mm / px))
    side = max(proj.shape) + 2 * margin
    field = np.zeros((side, side), dtype=np.float64)
    top, left = (side - proj.shape[0]) // 2, (side - proj.shape[1]) // 2
    field[top:top + proj.shape[0], left:left + proj.shape[1]] = proj
    meta = {
        "source": volume.meta.source, "format": "drr", "photometric": "MONOCHROME2",
        "patient_id": volume.meta.patient_id, "view": "PA",
        "decisions": [f"DRR (parallel-beam PA) of a CT {volume.shape} at {px:g} mm pixels"],
    }
    return radiograph_from_integrals(field, settings, rng, meta)


def radiograph_from_integrals(field: np.ndarray, settings: DRRSettings, rng: np.random.Generator | int | None,
                              meta: dict[str, Any] | None = None) -> Radiograph:
    """Steps 3-5 of the DRR: attenuation line integrals on the detector (pixels of
    ``settings.pixel_mm``, PA orientation) -> primary + scatter -> quantum noise ->
    detector blur -> ``-log`` -> percentile window (a :class:`Radiograph` in ``[0, 1]``).
    """
    from scipy import ndimage

    px = float(settings.pixel_mm)
    field = np.asarray(field, dtype=np.float64)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    primary = np.exp(-field)
    signal = primary
    if settings.scatter_fraction and settings.scatter_fraction > 0:
        # scatter is smooth: blur a 4x-downsampled copy (exact enough for sigma >> 4 pixels), upsample back
        f = 4 if settings.scatter_sigma_mm / px >= 16 else 1
        h, w = primary.shape
        small = primary[: h - h % f, : w - w % f].reshape(h // f, f, w // f, f).mean(axis=(1, 3))
        small = ndimage.gaussian_filter(small, settings.scatter_sigma_mm / px / f, mode="nearest", truncate=3.0)
        scatter = np.pad(ndimage.zoom(small, f, order=1, grid_mode=True, mode="nearest"),
                         ((0, h % f), (0, w % f)), mode="edge")
        signal = primary + settings.scatter_fraction * scatter
    if settings.photons_per_mm2:
        n0 = float(settings.photons_per_mm2) * px * px
        signal = signal + np.sqrt(np.maximum(signal, 0.0) / n0) * rng.standard_normal(signal.shape)
    if settings.detector_blur_mm and settings.detector_blur_mm > 0:
        signal = ndimage.gaussian_filter(signal, settings.detector_blur_mm / px, mode="nearest")
    floor = 0.5 / (float(settings.photons_per_mm2) * px * px) if settings.photons_per_mm2 else 1e-12
    log_image = -np.log(np.maximum(signal, floor))
    lo, hi = np.percentile(log_image, settings.window_percentiles)
    pixels = np.clip((log_image - lo) / max(hi - lo, 1e-9), 0.0, 1.0).astype(np.float32)
    meta = dict(meta or {})
    meta.setdefault("format", "drr")
    meta.setdefault("photometric", "MONOCHROME2")
    meta.setdefault("view", "PA")
    meta.update({"drr": settings.to_dict(), "line_integral_max": float(field.max()), "window": [float(lo), float(hi)]})
    return Radiograph(pixels, (px, px), meta)
