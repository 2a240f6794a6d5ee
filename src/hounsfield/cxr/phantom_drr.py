"""PA radiographs of the synthetic chest patients (:mod:`hounsfield.phantoms`), straight from their description.

No CT is rendered. The phantom's analytic description is evaluated on a
coarse grid (``voxel_mm``, default 2 mm) covering a 43 x 43 cm PA field, its
tissue classes are mapped to linear attenuation at ~60 keV
(:func:`hounsfield.cxr.drr.attenuation` of the patient's own HU table; the CT
table is left out: a PA film is taken standing) and summed along the
anterior-posterior axis. Calcium (coronary plaques, aortic, valve and annulus
calcification) is **not** voxelised: every plaque is described on a 0.2 mm
grid exactly as :func:`hounsfield.phantoms.calcium.render_plaques` does, its
chord lengths along A-P are multiplied by its excess attenuation over the
vessel wall and binned into detector pixels, so the integrated attenuation
of even a 0.5 mm plaque is exact whatever the grid. Then scatter, quantum
noise, detector blur, log and window as for any DRR
(:func:`hounsfield.cxr.drr.radiograph_from_integrals`). Cardiac motion is
ignored (a PA exposure lasts ~10 ms).

Positioning varies per image: the field's centre is jittered by
``N(0, 10 mm)`` left-right and its top edge sits 35-65 mm above the lung
apices.

The coronary Agatston truth is the phantom's own clinical score
(:func:`hounsfield.phantoms.truth.calcium_truth` = ``score_volume`` on the
gated volume with the lesion map as ROI), computed on the patient's gated
acquisition (same FOV, 512 matrix, 3 mm slices, noise level and scorer as
``generate_patient``) **cropped** to a box 10 mm around the coronary plaques:
the rendered voxels there have the same distribution as in the full volume but
not the same noise realisation, so a score can differ from
``generate_patient``'s ``truth.json`` by noise (near-threshold voxels).
Patients without coronary plaques score 0 without rendering.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..phantoms.calcium import plaque_occupancy
from .drr import DRRSettings, attenuation, radiograph_from_integrals
from .io import Radiograph

__all__ = ["PHANTOM_DRR_SETTINGS", "anatomy_integrals", "phantom_radiograph", "project_plaques", "coronary_truth"]

#: detector defaults for phantom DRRs: 1 mm pixels (a 430 px image of a 43 cm field)
PHANTOM_DRR_SETTINGS = DRRSettings(pixel_mm=1.0)
_WALL_HU = 40.0


def _plaque_thickness(p, fine: float = 0.2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chord length (mm) through plaque ``p`` along y on a ``fine`` grid in (x, z): (x, z, map[x, z])."""
    _, _, fx, _, fz, occ = plaque_occupancy(p, fine)
    return fx, fz, occ.sum(axis=1) * fine


def project_plaques(plaques, x_right: float, z_top: float, shape: tuple[int, int], px: float,
                    mu_water_per_mm: float, bone_factor: float, fine: float = 0.2) -> np.ndarray:
    """Excess attenuation line integrals of ``plaques`` on a PA detector.

    The detector's column ``c`` covers world ``x`` in ``(x_right - (c + 1) px, x_right - c px]``
    (column 0 = the patient's right), row ``r`` covers ``z`` in ``(z_top - (r + 1) px, z_top - r px]``.
    Each pixel holds the mean over its area of ``(mu(plaque) - mu(wall)) x chord``.
    """
    out = np.zeros(shape, np.float64)
    for p in plaques:
        fx, fz, thick = _plaque_thickness(p, fine)
        dmu = (float(attenuation(np.array([p.hu]), mu_water_per_mm, bone_factor)[0])
               - float(attenuation(np.array([_WALL_HU]), mu_water_per_mm, bone_factor)[0]))
        cols = np.floor((x_right - fx) / px).astype(int)
        rows = np.floor((z_top - fz) / px).astype(int)
        w = thick * dmu * (fine * fine) / (px * px)
        C, R = np.meshgrid(cols, rows, indexing="ij")  # (nx, nz) like ``thick``
        W = w
        ok = (R >= 0) & (R < shape[0]) & (C >= 0) & (C < shape[1]) & (W > 0)
        np.add.at(out, (R[ok], C[ok]), W[ok])
    return out


def anatomy_integrals(phantom, settings: DRRSettings = PHANTOM_DRR_SETTINGS, rng: np.random.Generator | int | None = 0,
                      *, voxel_mm: float = 2.0, field_mm: float = 430.0, jitter: bool = True,
                      extra: dict[str, Any] | None = None) -> tuple[np.ndarray, float, float, float]:
    """Attenuation line integrals of the phantom's anatomy (no calcium) on the PA detector.

    Draws the positioning from ``rng`` (left-right jitter, then top gap). Returns ``(field, x_right, z_top,
    paint_seconds)``: ``field[row, col]`` on ``settings.pixel_mm`` pixels, column 0 at world ``x_right`` (the
    patient's right), row 0 at ``z_top``. With a dict ``extra``, ``extra["lung_mm"]`` receives the path length
    (mm) through lung parenchyma on the same pixels (for measurements).
    """
    from scipy import ndimage

    from ..phantoms.shapes import Canvas
    from ..phantoms.tissues import O

    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    t0 = time.perf_counter()
    ph = phantom
    lm, body = ph.landmarks, ph.body
    px = float(settings.pixel_mm)
    dx = float(rng.normal(0, 10)) if jitter else 0.0
    top_gap = float(rng.uniform(35, 65)) if jitter else 50.0
    x_right = float(body.xc) + dx + field_mm / 2  # the patient's right edge of the field (viewer's left)
    z_top = float(lm["lung_apex_z"]) + top_gap
    n_det = int(round(field_mm / px))
    # coarse grid (cell centres), ascending as Canvas needs
    n_vox = int(round(field_mm / voxel_mm))
    x = x_right - field_mm + voxel_mm * (np.arange(n_vox) + 0.5)
    z = z_top - field_mm + voxel_mm * (np.arange(n_vox) + 0.5)
    zz = np.linspace(z[0], z[-1], 40)
    yc, _, ay, ap = body.outer(zz)
    y0 = float(np.min(yc - ap)) - 4.0
    y1 = float(np.max(yc + ay)) + 60.0  # breasts
    y = np.arange(y0, y1, voxel_mm) + voxel_mm / 2
    cv = Canvas(x, y, z)
    ph.paint(cv)
    t1 = time.perf_counter()
    mu = attenuation(np.asarray(ph.hu, np.float32), settings.mu_water_per_mm, settings.bone_factor)
    table = cv.organ == O.TABLE
    tissue = np.where(table, np.uint8(0), cv.tissue) if table.any() else cv.tissue
    mu_lut = mu.copy()
    mu_lut[0] = 0.0  # tissue 0 = air outside the body
    proj = mu_lut[tissue].sum(axis=1, dtype=np.float64) * voxel_mm  # (z asc, x asc)
    image = proj[::-1, ::-1]  # rows superior -> inferior, columns patient's right -> left
    field = ndimage.zoom(image, n_det / n_vox, order=1, mode="nearest", grid_mode=True)
    field = np.maximum(field[:n_det, :n_det], 0.0)
    if extra is not None:
        from ..phantoms.tissues import T

        lung = (cv.tissue == T.LUNG).sum(axis=1, dtype=np.float64)[::-1, ::-1] * voxel_mm
        extra["lung_mm"] = ndimage.zoom(lung, n_det / n_vox, order=1, mode="nearest", grid_mode=True)[:n_det, :n_det]
    return field, x_right, z_top, t1 - t0


def phantom_radiograph(phantom, settings: DRRSettings = PHANTOM_DRR_SETTINGS, rng: np.random.Generator | int | None = 0,
                       *, voxel_mm: float = 2.0, field_mm: float = 430.0, jitter: bool = True,
                       coronary: dict[str, Any] | None = None) -> Radiograph:
    """A PA chest radiograph of a :class:`~hounsfield.phantoms.ChestPhantom` (see the module docstring).

    ``meta`` carries ``phantom_drr`` (grid, field, positioning, number of plaques in the field) and
    ``timings`` (seconds: paint, project, calcium, detector). With a dict ``coronary``,
    ``coronary["integrals"]`` receives the coronary plaques' own excess line integrals on the detector's pixels
    (what the CAC label counts, without the other calcifications; for ``phantom cxr --maps``).
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    t0 = time.perf_counter()
    ph = phantom
    px = float(settings.pixel_mm)
    field, x_right, z_top, t_paint = anatomy_integrals(ph, settings, rng, voxel_mm=voxel_mm, field_mm=field_mm,
                                                       jitter=jitter)
    t2 = time.perf_counter()
    plaques = list(ph.plaques) + list(ph.distractors)
    calc = project_plaques(plaques, x_right, z_top, field.shape, px, settings.mu_water_per_mm, settings.bone_factor)
    field = field + calc
    if coronary is not None:
        coronary["integrals"] = project_plaques(list(ph.plaques), x_right, z_top, field.shape, px,
                                                settings.mu_water_per_mm, settings.bone_factor)
    t3 = time.perf_counter()
    pid = f"phantom_{ph.params.seed}_{ph.params.index:04d}"
    meta: dict[str, Any] = {
        "source": "hounsfield.phantoms", "patient_id": pid,
        "decisions": [f"DRR (parallel-beam PA) of the chest phantom description on a {voxel_mm:g} mm grid, "
                      f"calcium projected at 0.2 mm, {px:g} mm detector pixels"],
        "phantom_drr": {"voxel_mm": voxel_mm, "field_mm": field_mm, "x_right_mm": x_right, "z_top_mm": z_top,
                        "n_coronary_plaques": len(ph.plaques), "n_other_calcifications": len(ph.distractors),
                        "calcium_integral_max": float(calc.max()) if calc.size else 0.0},
    }
    rad = radiograph_from_integrals(field, settings, rng, meta)
    t4 = time.perf_counter()
    rad.meta["timings"] = {"paint": round(t_paint, 3), "project": round(t2 - t0 - t_paint, 3),
                           "calcium": round(t3 - t2, 3), "detector": round(t4 - t3, 3)}
    return rad


def coronary_truth(phantom, seed: int, index: int, *, gated_matrix: int = 512, margin_mm: float = 10.0) -> dict[str, Any]:
    """Clinical coronary Agatston truth of the phantom (cropped gated acquisition; see the module docstring)."""
    from ..phantoms.patient import patient_rng
    from ..phantoms.scanner import acquire, gated_acquisition
    from ..phantoms.truth import calcium_truth

    ph = phantom
    zero = {"agatston": 0.0, "volume_mm3": 0.0, "mass_mg": 0.0, "n_lesions": 0, "physical_volume_mm3": 0.0,
            "n_plaques": 0, "seconds": 0.0}
    if not ph.plaques:
        return zero
    t0 = time.perf_counter()
    g = gated_acquisition(ph, patient_rng(seed, index, 7), matrix=gated_matrix)
    lo = np.min([p.centre - p.radii.max() for p in ph.plaques], axis=0) - margin_mm
    hi = np.max([p.centre + p.radii.max() for p in ph.plaques], axis=0) + margin_mm
    d = g.spacing[0]
    x0, y0 = g.affine[0, 3], g.affine[1, 3]
    i0, i1 = int(np.floor((lo[0] - x0) / d)), int(np.ceil((hi[0] - x0) / d)) + 1
    j0, j1 = int(np.floor((lo[1] - y0) / d)), int(np.ceil((hi[1] - y0) / d)) + 1
    m = max(i1 - i0, j1 - j0)
    i0 = int(np.clip(i0, 0, max(g.matrix - m, 0)))
    j0 = int(np.clip(j0, 0, max(g.matrix - m, 0)))
    m = min(m, g.matrix)
    k0 = int(np.clip(np.floor((lo[2] - g.z_first) / g.increment_mm), 0, g.n_slices - 1))
    k1 = int(np.clip(np.ceil((hi[2] - g.z_first) / g.increment_mm) + 1, k0 + 1, g.n_slices))
    crop = g.replace(matrix=m, fov_mm=m * d, centre_xy=(x0 + d * i0 + m * d / 2 - d / 2, y0 + d * j0 + m * d / 2 - d / 2),
                     z_first=g.z_first + k0 * g.increment_mm, n_slices=k1 - k0)
    r = acquire(ph, crop, seed_seq=np.random.SeedSequence([int(seed), int(index), 100]))
    t = calcium_truth(r.ct, r.calcium, ph.plaques, ph.distractors)
    return {"agatston": float(t["agatston"]), "volume_mm3": float(t["volume_mm3"]), "mass_mg": float(t["mass_mg"]),
            "n_lesions": int(t["n_lesions"]), "physical_volume_mm3": float(t["physical_volume_mm3"]),
            "n_plaques": len(ph.plaques), "seconds": round(time.perf_counter() - t0, 3),
            "crop": [m, m, k1 - k0]}
