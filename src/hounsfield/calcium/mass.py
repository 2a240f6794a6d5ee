"""Partial-volume-corrected ("integral") calcium mass.

The clinical mass score (:mod:`hounsfield.calcium.scoring`) is
``c x sum(voxel volume x HU)`` over the voxels at or above the threshold. A
scanner's blur spreads a small lesion's calcium over a larger, fainter spot,
so part of its mass falls below the threshold and is lost: on the synthetic
QRM insert at 3 mm the threshold mass of the 5 mm / 200 mg HA cylinder comes
out about 30 % low and the 3 mm / 200 mg one about 55 % low, the same
under-estimation phantom studies report for small, faint inserts.

Blur moves attenuation around but does not destroy it, so the mass can be
recovered by integrating *above the local background* over a neighbourhood
that holds the spread-out lesion (Hoffmann et al. 2006, "integral mass";
the same idea as the partial-volume correction of Šprem et al. 2018)::

    mass_pv = c x voxel volume x sum over N of (HU - background)

``N`` is the lesion's counted voxels grown by ``margin_mm`` in-plane (about
twice the in-plane blur) and by one slice above and below (the slice
sensitivity profile spreads a lesion into its neighbours); a voxel claimed by
two lesions goes to the nearer one. ``background`` is the median HU of a
ring ``ring_mm`` wide around ``N`` in the same slices, voxels at or above the
threshold left out. The result is ``None`` without a calibration factor ``c``
(never guessed), and is reported beside, never instead of, the clinical mass.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage

from ..volume import Volume
from .scoring import CalciumScore, _bbox

__all__ = ["integral_mass", "with_integral_mass"]


def integral_mass(score: CalciumScore, scored: Volume, c: float | None, *, margin_mm: float = 1.5,
                  ring_mm: float = 2.0) -> list[float] | None:
    """Partial-volume-corrected mass (mg) of each lesion of ``score`` (same order), or None without ``c``.

    ``score`` must come from :func:`~hounsfield.calcium.scoring.score_volume` on ``scored``
    (its lesion map lies on ``scored``'s RAS-reoriented grid).
    """
    if c is None:
        return None
    n = len(score.lesions)
    if n == 0:
        return []
    lm = score.lesion_map
    ras = scored.to_ras()
    if lm is None or lm.shape != ras.shape:
        raise ValueError("score must come from score_volume on the scored volume")
    dx, dy, dz = (float(s) for s in ras.spacing)
    voxel_volume = dx * dy * dz
    reach = margin_mm + ring_mm
    pad = np.array([int(np.ceil(reach / dx)) + 1, int(np.ceil(reach / dy)) + 1, 2])
    box = _bbox(lm > 0, pad)
    sub = lm[box]
    arr = ras.array[box].astype(np.float64)
    # in-plane distance to the nearest lesion voxel of the same slice (z sampling large: slices stay apart),
    # then the nearest lesion's id; one slice above and below inherits the distance and id of its neighbour
    dist, (ii, jj, kk) = ndimage.distance_transform_edt(sub == 0, sampling=(dx, dy, 1e6), return_indices=True)
    owner = sub[ii, jj, kk]
    far = dist > 1e5  # slices without any lesion
    dist[far] = np.inf
    owner[far] = 0
    d3, own3 = dist.copy(), owner.copy()
    in_plane = dist.copy()
    for shift in (1, -1):
        dn = np.full_like(dist, np.inf)
        on = np.zeros_like(owner)
        if shift == 1:
            dn[:, :, 1:], on[:, :, 1:] = dist[:, :, :-1], owner[:, :, :-1]
        else:
            dn[:, :, :-1], on[:, :, :-1] = dist[:, :, 1:], owner[:, :, 1:]
        # a neighbour slice's lesion claims this voxel when it is nearer (half a slice counts; ties: own slice)
        take = dn + 0.5 * dz < d3
        d3 = np.where(take, dn + 0.5 * dz, d3)
        own3 = np.where(take, on, own3)
        in_plane = np.minimum(in_plane, dn)
    core = in_plane <= margin_mm
    ring = (in_plane > margin_mm) & (in_plane <= reach) & (arr < score.threshold_hu)
    masses = []
    for lesion_id in range(1, n + 1):
        nb = core & (own3 == lesion_id)
        rg = ring & (own3 == lesion_id)
        if not nb.any():
            masses.append(0.0)
            continue
        bg = float(np.median(arr[rg])) if rg.sum() >= 8 else 0.0
        masses.append(float(c * voxel_volume * np.sum(arr[nb] - bg)))
    return masses


def with_integral_mass(score: CalciumScore, scored: Volume, c: float | None, **kw) -> CalciumScore:
    """``score`` with ``mass_pv_mg`` filled in for each lesion, region and the total (unchanged without ``c``)."""
    pv = integral_mass(score, scored, c, **kw)
    if pv is None:
        return score
    lesions = [dataclasses.replace(l, mass_pv_mg=m) for l, m in zip(score.lesions, pv)]
    regions = {k: dataclasses.replace(r, mass_pv_mg=float(sum(l.mass_pv_mg for l in lesions if l.region == k)))
               for k, r in score.regions.items()}
    return dataclasses.replace(score, lesions=lesions, regions=regions, mass_pv_mg=float(sum(pv)))
