"""A simple hand-built chest CT (torso) with coronary calcium of known score.

A stand-in for the full synthetic patients of :mod:`hounsfield.phantoms`,
used to test the DRR and to exercise CXR training end-to-end: an elliptical
body with a fat layer, two lungs, a heart displaced to the patient's left, a
spine, ribs, a descending aorta, and 0-8 calcified coronary plaques (spheres
with partial volume) on the heart's surface along LAD / LCX / RCA-like paths.
Body size, heart size and position, lung size and CT noise vary from patient
to patient so a model has to find the calcium, not a size cue.

The Agatston score is computed from the voxels like a clinical scorer: on
each axial slice, every connected region >= 130 HU inside the plaque
spheres contributes its area (mm^2) times the density weight of its peak HU
(1: 130-199, 2: 200-299, 3: 300-399, 4: >= 400), rescaled to 3 mm slices.

Examples
--------
>>> vol, truth = simple_torso(np.random.default_rng(0), n_plaques=0, shape=(64, 48, 40), spacing=(6.0, 6.0, 8.0))
>>> vol.shape, truth["agatston"]
((64, 48, 40), 0.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..volume import Volume, VolumeMeta

__all__ = ["simple_torso", "agatston_from_volume", "sample_plaque_count"]


def _ellipsoid(x: np.ndarray, y: np.ndarray, z: np.ndarray, c: tuple[float, float, float],
               r: tuple[float, float, float]) -> np.ndarray:
    return ((x - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((z - c[2]) / r[2]) ** 2 <= 1.0


def agatston_from_volume(hu: np.ndarray, candidate: np.ndarray, spacing: tuple[float, float, float]) -> float:
    """Agatston score of the >= 130 HU voxels inside ``candidate`` (per-slice 2-D lesions).

    Parameters
    ----------
    hu
        HU array ``[i, j, k]`` (k axial slices).
    candidate
        Boolean mask of where coronary calcium may be (the plaques).
    spacing
        Voxel size (mm) along i, j, k; areas are rescaled by ``k / 3 mm``.

    >>> hu = np.zeros((4, 4, 1)); hu[1:3, 1:3, 0] = 450
    >>> agatston_from_volume(hu, hu > 0, (1.0, 1.0, 3.0))
    16.0
    """
    from scipy import ndimage

    mask = (hu >= 130) & candidate
    if not mask.any():
        return 0.0
    # work on the bounding box of the candidates (the scorer only looks there)
    box = tuple(slice(int(ix.min()), int(ix.max()) + 1) for ix in np.nonzero(mask))
    mask, hu = mask[box], hu[box]
    # 2-D connectivity within each slice: label with a structure that does not link slices
    structure = np.zeros((3, 3, 3), bool)
    structure[:, :, 1] = ndimage.generate_binary_structure(2, 2)
    labels, n = ndimage.label(mask, structure)
    idx = labels.ravel()
    area = np.bincount(idx, minlength=n + 1)[1:] * spacing[0] * spacing[1]
    peak = ndimage.maximum(hu, labels, np.arange(1, n + 1))
    weight = np.select([peak >= 400, peak >= 300, peak >= 200, peak >= 130], [4, 3, 2, 1], 0)
    return float(np.sum(area * weight) * spacing[2] / 3.0)


def sample_plaque_count(rng: np.random.Generator, p_zero: float = 0.5) -> int:
    """0 with probability ``p_zero``, else 1-8 plaques (more plaques less likely)."""
    if rng.random() < p_zero:
        return 0
    return int(min(8, 1 + rng.geometric(0.35) - 1))


def simple_torso(
    rng: np.random.Generator, n_plaques: int | None = None, *, shape: tuple[int, int, int] = (240, 176, 100),
    spacing: tuple[float, float, float] = (1.5, 1.5, 3.0), noise_hu: float = 12.0, patient_id: str = "torso",
) -> tuple[Volume, dict[str, Any]]:
    """Build one torso CT (int16 HU, RAS) and its truth (``agatston``, plaques).

    Parameters
    ----------
    rng
        Random generator (all variation comes from it).
    n_plaques
        Number of calcified plaques; ``None`` draws it with :func:`sample_plaque_count`.
    shape, spacing
        Grid (i: R-L, j: A-P, k: S-I; RAS) and voxel size in mm.
    noise_hu
        Gaussian CT noise (HU).
    """
    ni, nj, nk = shape
    si, sj, sk = spacing
    x = ((np.arange(ni) - (ni - 1) / 2) * si).astype(np.float32)[:, None, None]   # + = patient's right
    y = ((np.arange(nj) - (nj - 1) / 2) * sj).astype(np.float32)[None, :, None]   # + = anterior
    z = ((np.arange(nk) - (nk - 1) / 2) * sk).astype(np.float32)[None, None, :]   # + = superior
    u = lambda lo, hi: float(rng.uniform(lo, hi))  # noqa: E731
    hu = np.full(shape, -1000.0, dtype=np.float32)
    zero_z = np.zeros_like(z)
    # body: elliptic cylinder, fat layer then soft tissue
    a, b = u(140, 170), u(95, 120)
    body = ((x / a) ** 2 + (y / b) ** 2 + zero_z) <= 1.0
    inner = ((x / (a - u(8, 25))) ** 2 + (y / (b - u(8, 25))) ** 2 + zero_z) <= 1.0
    hu[body] = -100.0
    hu[inner] = 40.0
    # ribs: elliptic annuli in thin slabs
    rib_r = 0.86
    ring = (((x / (a * rib_r)) ** 2 + (y / (b * rib_r)) ** 2) <= 1.0) & (((x / (a * rib_r - 9)) ** 2 + (y / (b * rib_r - 9)) ** 2) > 1.0)
    z0 = u(-12, 12)
    slab = (np.mod(z - z0, 26.0) < 9.0) & (z > -110)
    hu[ring & slab & (y > -b * 0.5)] = 650.0
    # lungs
    lz, lr = u(10, 30), (u(50, 62), u(65, 80), u(105, 125))
    for side in (1.0, -1.0):
        hu[_ellipsoid(x, y, z, (side * u(62, 75), u(-15, 0), lz), lr)] = -850.0 + rng.normal(0, 20)
    # heart (patient's left = -x), aorta
    hc = (u(-35, -15), u(15, 35), u(-70, -45))
    hr = (u(55, 70), u(45, 55), u(45, 60))
    heart = _ellipsoid(x, y, z, hc, hr)
    hu[heart] = 40.0
    ao = ((x + 20) ** 2 + (y + b * 0.45) ** 2 <= u(10, 14) ** 2) & (z < 90)
    hu[ao] = 40.0
    # spine: cancellous cylinder with cortical rim, posterior midline
    sy, sr = -b * 0.62, u(15, 20)
    d = np.sqrt(x ** 2 + (y - sy) ** 2) + zero_z
    hu[d <= sr] = 750.0
    hu[d <= sr - 3] = 250.0
    # coronary plaques on the heart surface (anterior-superior half, around the AV groove)
    n = sample_plaque_count(rng) if n_plaques is None else int(n_plaques)
    plaques = []
    cand = np.zeros(shape, dtype=bool)
    for p in range(n):
        theta = rng.uniform(0, 2 * np.pi)
        phi = rng.uniform(0.1, 0.9) * np.pi / 2  # upper half of the heart
        direction = np.array([np.cos(theta) * np.cos(phi), abs(np.sin(theta)) * np.cos(phi) + 0.2, np.sin(phi)])
        direction /= np.linalg.norm(direction)
        centre = np.array(hc) + direction * np.array(hr) * 0.95
        radius = float(rng.uniform(1.5, 4.5))
        peak = float(rng.uniform(250, 1300))
        # partial volume: fraction of the voxel inside the sphere (linear ramp over one voxel)
        lo = np.maximum(((centre - radius - 3 * np.array(spacing)) / spacing + (np.array(shape) - 1) / 2).astype(int), 0)
        hi = np.minimum(((centre + radius + 3 * np.array(spacing)) / spacing + (np.array(shape) - 1) / 2).astype(int) + 1,
                        np.array(shape))
        if np.any(hi <= lo):
            continue
        sl = tuple(slice(int(lo[t]), int(hi[t])) for t in range(3))
        dist = np.sqrt((x[sl[0]] - centre[0]) ** 2 + (y[:, sl[1]] - centre[1]) ** 2 + (z[:, :, sl[2]] - centre[2]) ** 2)
        frac = np.clip((radius - dist) / float(np.mean(spacing)) + 0.5, 0.0, 1.0)
        hu[sl] = frac * peak + (1 - frac) * hu[sl]
        cand[sl] |= frac > 0
        plaques.append({"centre_mm": [round(float(c), 2) for c in centre], "radius_mm": round(radius, 2),
                        "peak_hu": round(peak, 1)})
    if noise_hu:
        hu += rng.normal(0.0, noise_hu, size=shape).astype(np.float32)
    hu = np.clip(np.rint(hu), -1024, 3071).astype(np.int16)
    agatston = agatston_from_volume(hu, cand, spacing)
    affine = np.diag([si, sj, sk, 1.0])
    affine[:3, 3] = [-(ni - 1) / 2 * si, -(nj - 1) / 2 * sj, -(nk - 1) / 2 * sk]
    vol = Volume(hu, affine, VolumeMeta(modality="CT", kvp=120.0, patient_id=patient_id,
                                        description="hounsfield simple torso (synthetic)", gated=False))
    return vol, {"agatston": round(agatston, 2), "n_plaques": len(plaques), "plaques": plaques,
                 "synthetic": "hounsfield.cxr.torso.simple_torso"}
