"""A synthetic QRM cardiac calcification insert, rendered like a CT scanner would.

The insert (QRM GmbH; the phantom of Dijkstra 2009, Groen 2008 and the FQM
software) holds nine hydroxyapatite (HA) cylinders, diameter = length = 1, 3
and 5 mm, at 200, 400 and 800 mg HA/cm^3 (physical masses 0.2/4.2/19.6,
0.3/8.5/39.3, 0.6/17.0/78.5 mg), a 200 mg HA/cm^3 calibration rod and a water
rod, all with their axes along z.

Rendering starts from the exact geometric description, not from a voxel
mask: every cylinder is separable into an in-plane disc and a z interval, so

* in plane: the disc is drawn on a grid 9x finer than the 0.49 mm pixels
  (partial volume), blurred by the scanner's in-plane PSF (Gaussian, FWHM 1 mm
  by default, a standard soft-tissue kernel) and integrated over each pixel;
* along z: the interval is convolved with the slice sensitivity profile (a
  3 mm rectangle smoothed by a 1 mm FWHM Gaussian) and sampled at the slice
  centres (3 mm increment by default);
* noise: white Gaussian noise smoothed by a small in-plane kernel (CT noise is
  correlated) and rescaled to ``noise_sd`` HU.

HU are linear in HA density (``hu_per_mg_cm3`` = 1.39 HU per mg/cm^3 gives
278 HU for the 200 mg rod and c ~ 0.00072 mg/(HU mm^3), the value reported for
one real scanner). Mass is recovered with the clinical scoring
(:func:`~hounsfield.calcium.scoring.score_volume`) on one region per insert and
the calibration factor measured on the rods
(:func:`calibrate_from_rods`), exactly as on a real phantom scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from ..volume import Volume, VolumeMeta
from .mass import integral_mass
from .scoring import ScoringOptions, mass_calibration_factor, score_volume

__all__ = ["QRM_INSERTS", "QRMPhantom", "QRMInsert", "calibrate_from_rods", "measure_qrm", "render_qrm"]


@dataclass(frozen=True)
class QRMInsert:
    """One HA cylinder: label in the ROI map, size, density, in-plane centre (mm, RAS)."""

    label: int
    diameter_mm: float
    density_mg_cm3: float
    x_mm: float
    y_mm: float

    @property
    def name(self) -> str:
        return f"{self.diameter_mm:g}mm_{self.density_mg_cm3:g}"

    @property
    def volume_mm3(self) -> float:
        r = self.diameter_mm / 2.0
        return float(np.pi * r * r * self.diameter_mm)

    @property
    def mass_mg(self) -> float:
        return self.density_mg_cm3 / 1000.0 * self.volume_mm3


#: rows = density 200/400/800 mg HA/cm^3, columns = 1/3/5 mm; 15 mm apart around the centre
QRM_INSERTS: tuple[QRMInsert, ...] = tuple(
    QRMInsert(label=3 * r + c + 1, diameter_mm=d, density_mg_cm3=rho, x_mm=-15.0 + 15.0 * c, y_mm=15.0 - 15.0 * r)
    for r, rho in enumerate((200.0, 400.0, 800.0))
    for c, d in enumerate((1.0, 3.0, 5.0))
)
ROD_LABEL, WATER_LABEL = 10, 11
ROD_DIAMETER_MM = 10.0
ROD_CENTRES = {ROD_LABEL: (-30.0, -32.0), WATER_LABEL: (30.0, -32.0)}


@dataclass(frozen=True)
class QRMPhantom:
    """The rendered CT, its label map (1-9 inserts, 10 HA rod, 11 water rod) and the truth."""

    ct: Volume
    labels: Volume
    inserts: tuple[QRMInsert, ...]
    z_centre_mm: float
    hu_per_mg_cm3: float
    settings: dict[str, Any]


def _fwhm_to_sigma(fwhm: float) -> float:
    return fwhm / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def _disc_image(cx: float, cy: float, radius: float, n: int, pixel: float, fwhm: float, sub: int = 9) -> np.ndarray:
    """Pixel-integrated, PSF-blurred occupancy (0-1) of a disc on an ``n x n`` grid (pixel centres at i*pixel)."""
    fine = pixel / sub
    # fine sample centres inside each coarse pixel
    off = (np.arange(sub) + 0.5) / sub - 0.5
    xs = (np.arange(n)[:, None] + off[None, :]).ravel() * pixel
    # restrict the fine work to a box around the disc (blur margin 4 sigma)
    margin = radius + 4.0 * _fwhm_to_sigma(fwhm) + 2 * pixel
    i0 = max(int(np.floor((cx - margin) / pixel)), 0)
    i1 = min(int(np.ceil((cx + margin) / pixel)) + 1, n)
    j0 = max(int(np.floor((cy - margin) / pixel)), 0)
    j1 = min(int(np.ceil((cy + margin) / pixel)) + 1, n)
    x = xs[i0 * sub:i1 * sub]
    y = xs[j0 * sub:j1 * sub]
    occ = ((x[:, None] - cx) ** 2 + (y[None, :] - cy) ** 2 <= radius * radius).astype(np.float64)
    if fwhm > 0:
        occ = ndimage.gaussian_filter(occ, _fwhm_to_sigma(fwhm) / fine, mode="constant")
    coarse = occ.reshape(i1 - i0, sub, j1 - j0, sub).mean(axis=(1, 3))
    out = np.zeros((n, n))
    out[i0:i1, j0:j1] = coarse
    return out


def _z_profile(z0: float, z1: float, slice_z: np.ndarray, thickness: float, fwhm_z: float) -> np.ndarray:
    """Fraction of the interval [z0, z1] seen by each slice through the slice sensitivity profile."""
    step = 0.01
    lo = min(z0, slice_z.min()) - thickness - 4 * fwhm_z
    hi = max(z1, slice_z.max()) + thickness + 4 * fwhm_z
    z = np.arange(lo, hi, step)
    obj = ((z >= z0) & (z < z1)).astype(np.float64)
    # slice sensitivity profile: rect(thickness) smoothed by a Gaussian of FWHM fwhm_z, normalised to unit area
    t = np.arange(-thickness - 4 * fwhm_z, thickness + 4 * fwhm_z + step, step)
    ssp = (np.abs(t) <= thickness / 2).astype(np.float64)
    if fwhm_z > 0:
        ssp = ndimage.gaussian_filter1d(ssp, _fwhm_to_sigma(fwhm_z) / step)
    ssp /= ssp.sum()
    seen = np.convolve(obj, ssp[::-1], mode="same")
    return np.interp(slice_z, z, seen)


def render_qrm(
    seed: int = 0,
    *,
    pixel_mm: float = 0.49,
    thickness_mm: float = 3.0,
    increment_mm: float = 3.0,
    n_pixels: int = 160,
    n_slices: int = 10,
    fwhm_inplane_mm: float = 1.0,
    fwhm_z_mm: float = 1.0,
    noise_sd: float = 20.0,
    noise_corr_px: float = 0.7,
    hu_per_mg_cm3: float = 1.39,
    background_hu: float = 0.0,
    inserts: tuple[QRMInsert, ...] = QRM_INSERTS,
) -> QRMPhantom:
    """Render the insert as a CT volume (int16 HU) with its label map.

    ``seed`` draws the noise and the sub-voxel position of the insert (in-plane
    shift up to half a pixel, z phase up to half an increment), so repeated
    seeds sample partial-volume effects as repeated real scans do.
    """
    rng = np.random.default_rng(seed)
    half = (n_pixels - 1) * pixel_mm / 2.0
    shift = rng.uniform(-0.5, 0.5, size=2) * pixel_mm
    z_slices = (np.arange(n_slices) - (n_slices - 1) / 2.0) * increment_mm
    z_c = float(rng.uniform(-0.5, 0.5) * increment_mm)
    img = np.full((n_pixels, n_pixels, n_slices), background_hu, np.float64)
    for ins in inserts:
        r = ins.diameter_mm / 2.0
        disc = _disc_image(ins.x_mm + half + shift[0], ins.y_mm + half + shift[1], r, n_pixels, pixel_mm,
                           fwhm_inplane_mm)
        zf = _z_profile(z_c - r, z_c + r, z_slices, thickness_mm, fwhm_z_mm)
        img += (hu_per_mg_cm3 * ins.density_mg_cm3 - 0.0) * disc[:, :, None] * zf[None, None, :]
    for lab, (x, y) in ROD_CENTRES.items():
        rho = 200.0 if lab == ROD_LABEL else 0.0
        disc = _disc_image(x + half + shift[0], y + half + shift[1], ROD_DIAMETER_MM / 2, n_pixels, pixel_mm,
                           fwhm_inplane_mm)
        img += hu_per_mg_cm3 * rho * disc[:, :, None]
    if noise_sd > 0:
        noise = rng.standard_normal(img.shape)
        if noise_corr_px > 0:
            noise = ndimage.gaussian_filter(noise, (noise_corr_px, noise_corr_px, 0))
        noise *= noise_sd / noise.std()
        img += noise
    aff = np.diag([pixel_mm, pixel_mm, increment_mm, 1.0])
    aff[:3, 3] = (-half, -half, z_slices[0])
    meta = VolumeMeta(modality="CT", kvp=120.0, increment_mm=increment_mm, thickness_mm=thickness_mm,
                      description="synthetic QRM cardiac calcification insert")
    ct = Volume(np.clip(np.rint(img), -1024, 3071).astype(np.int16), aff, meta)
    labels = _label_map(ct, inserts, shift, z_c)
    settings = dict(seed=seed, pixel_mm=pixel_mm, thickness_mm=thickness_mm, increment_mm=increment_mm,
                    fwhm_inplane_mm=fwhm_inplane_mm, fwhm_z_mm=fwhm_z_mm, noise_sd=noise_sd,
                    noise_corr_px=noise_corr_px, hu_per_mg_cm3=hu_per_mg_cm3, background_hu=background_hu)
    return QRMPhantom(ct, labels, inserts, z_c, hu_per_mg_cm3, settings)


def _label_map(ct: Volume, inserts: tuple[QRMInsert, ...], shift: np.ndarray, z_c: float,
               margin_mm: float = 2.5) -> Volume:
    """Search regions: each insert grown by ``margin_mm`` in plane and one slab in z; the rods' cores."""
    ni, nj, nk = ct.shape
    ijk = np.indices((ni, nj, 1)).reshape(3, -1).T.astype(np.float64)
    xyz = ct.world(ijk)
    x = xyz[:, 0].reshape(ni, nj) - shift[0]
    y = xyz[:, 1].reshape(ni, nj) - shift[1]
    z = np.asarray(ct.slice_z_mm(np.arange(nk)))
    lab = np.zeros(ct.shape, np.uint8)
    inc = ct.spacing[2]
    for ins in inserts:
        r = ins.diameter_mm / 2.0
        disc = (x - ins.x_mm) ** 2 + (y - ins.y_mm) ** 2 <= (r + margin_mm) ** 2
        zin = np.abs(z - z_c) <= r + inc
        lab[disc[:, :, None] & zin[None, None, :]] = ins.label
    mid = np.abs(z - z_c) <= 1.5 * inc
    for l, (cx, cy) in ROD_CENTRES.items():  # rod cores (60 % of the radius) for calibration
        disc = (x - cx) ** 2 + (y - cy) ** 2 <= (0.6 * ROD_DIAMETER_MM / 2) ** 2
        lab[disc[:, :, None] & mid[None, None, :]] = l
    return Volume(lab, ct.affine.copy(), VolumeMeta(description="QRM insert regions"))


def calibrate_from_rods(ct: Volume, labels: Volume, rod_label: int = ROD_LABEL, water_label: int = WATER_LABEL,
                        density_mg_cm3: float = 200.0) -> tuple[float, float, float]:
    """``(c, HU_rod, HU_water)``: mean HU in the rods' cores and c = density / (HU_rod - HU_water)."""
    lab = labels.resample_like(ct, order=0).array
    hu_rod = float(ct.array[lab == rod_label].mean())
    hu_water = float(ct.array[lab == water_label].mean())
    return mass_calibration_factor(hu_rod, hu_water, density_mg_cm3), hu_rod, hu_water


def measure_qrm(phantom: QRMPhantom, options: ScoringOptions | None = None) -> list[dict[str, Any]]:
    """Score each insert in its own region; mass with c from the rods. One row per insert."""
    c, hu_rod, hu_water = calibrate_from_rods(phantom.ct, phantom.labels)
    base = options or ScoringOptions()
    opts = ScoringOptions(**{**base.__dict__, "mass_calibration": c})
    lab = phantom.labels.array.copy()
    lab[lab >= ROD_LABEL] = 0
    score = score_volume(phantom.ct, opts, roi=phantom.labels.with_array(lab))
    pv = integral_mass(score, phantom.ct, c) or []
    rows = []
    for ins in phantom.inserts:
        reg = score.regions.get(str(ins.label))
        mass = reg.mass_mg if reg is not None else 0.0
        mass_pv = float(sum(m for l, m in zip(score.lesions, pv) if l.region == str(ins.label)))
        rows.append({
            "insert": ins.name, "diameter_mm": ins.diameter_mm, "density_mg_cm3": ins.density_mg_cm3,
            "true_mass_mg": round(ins.mass_mg, 3), "mass_mg": float(mass or 0.0), "mass_pv_mg": mass_pv,
            "agatston": float(reg.agatston if reg else 0.0), "volume_mm3": float(reg.volume_mm3 if reg else 0.0),
            "true_volume_mm3": round(ins.volume_mm3, 3), "detected": bool(reg and reg.n_lesions > 0),
            "c": c, "hu_rod": hu_rod, "hu_water": hu_water,
        })
    return rows
