"""Body composition on one axial slice (usually L3): muscle, SAT, VAT, IMAT.

HU ranges (the usual L3 conventions): skeletal muscle -29..150 HU; fat
-190..-30 HU (subcutaneous, visceral and intermuscular fat alike). Areas in
cm^2, mean HU per compartment, and the skeletal muscle index (muscle area /
height^2, cm^2/m^2) when the height is given.

Compartments come either from masks you give (e.g. a tissue segmentation:
:func:`composition_from_masks`) or from a built-in geometric rule
(:func:`compartments`): the body is the largest object above -500 HU; the
fascia is the outline of the muscle/bone tissue under a 3 mm skin band after
a 5 mm closing (which bridges gaps of the wall); fat outside it is
subcutaneous. Walking inwards from the fascia along rays from the centre, the
muscle wall runs through muscle-density tissue and fat runs of at most 3 mm,
and ends at the first longer fat run, gas or bone (at most 40 mm deep, 75 mm
at the back for the paraspinal muscles); fat components mostly inside the wall
are intermuscular, the rest of the fat inside the fascia is visceral.
The rule is exact on clean concentric geometry (tested) and approximate on
real scans (organs touching the wall count as muscle, the psoas may be
missed); masks from a segmentation model are better when you have them.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from ..errors import InputError
from ..volume import Volume

__all__ = ["MUSCLE_HU", "FAT_HU", "Compartments", "BodyComposition", "compartments", "composition_from_masks",
           "body_composition", "slice_of_volume", "write_bodycomp_csv", "bodycomp_overlay", "BODYCOMP_COLUMNS"]

MUSCLE_HU = (-29.0, 150.0)
FAT_HU = (-190.0, -30.0)

BODYCOMP_COLUMNS = ["exam_id", "Level", "Index", "z_mm", "Muscle_HU", "Muscle_area_cm2", "SAT_HU", "SAT_area_cm2",
                    "VAT_HU", "VAT_area_cm2", "IMAT_HU", "IMAT_area_cm2", "SMI_cm2_m2", "height_m", "method"]


@dataclass(frozen=True)
class Compartments:
    """Boolean masks on the slice grid."""

    muscle: np.ndarray
    sat: np.ndarray
    vat: np.ndarray
    imat: np.ndarray
    body: np.ndarray


@dataclass(frozen=True)
class BodyComposition:
    level: str
    index: int | None
    z_mm: float | None
    muscle_hu: float | None
    muscle_area_cm2: float
    sat_hu: float | None
    sat_area_cm2: float
    vat_hu: float | None
    vat_area_cm2: float
    imat_hu: float | None
    imat_area_cm2: float
    smi_cm2_m2: float | None = None
    height_m: float | None = None
    method: str = "rule"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def row(self, exam_id: str = "") -> dict[str, Any]:
        def r(x: float | None, n: int = 2) -> Any:
            return "" if x is None else round(float(x), n)

        return {"exam_id": exam_id, "Level": self.level, "Index": "" if self.index is None else self.index,
                "z_mm": r(self.z_mm), "Muscle_HU": r(self.muscle_hu), "Muscle_area_cm2": r(self.muscle_area_cm2),
                "SAT_HU": r(self.sat_hu), "SAT_area_cm2": r(self.sat_area_cm2), "VAT_HU": r(self.vat_hu),
                "VAT_area_cm2": r(self.vat_area_cm2), "IMAT_HU": r(self.imat_hu),
                "IMAT_area_cm2": r(self.imat_area_cm2), "SMI_cm2_m2": r(self.smi_cm2_m2),
                "height_m": r(self.height_m, 3), "method": self.method}


def _in(hu: np.ndarray, rng: tuple[float, float]) -> np.ndarray:
    return (hu >= rng[0]) & (hu <= rng[1])


def _largest(mask: np.ndarray) -> np.ndarray:
    lab, n = ndimage.label(mask)
    if n == 0:
        return mask.copy()
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return lab == int(np.argmax(sizes))


def _touching(mask: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Connected components of ``mask`` (8-connected) that contain a seed pixel."""
    lab, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if n == 0:
        return np.zeros_like(mask)
    keep = np.zeros(n + 1, bool)
    keep[np.unique(lab[seeds & mask])] = True
    keep[0] = False
    return keep[lab]


def _inner_wall_radius(cls: np.ndarray, centre: np.ndarray, core: np.ndarray, step: float, gap: int,
                       max_depth: np.ndarray, n_rays: int) -> tuple[np.ndarray, np.ndarray]:
    """Per ray from ``centre``: radius of the fascia (core edge) and of the inner edge of the muscle wall.

    ``cls``: 1 lean, 2 fat, 0 anything else. Walking inwards from the fascia the
    wall continues through lean pixels and fat runs of at most ``gap`` samples,
    and stops at anything else or after ``max_depth`` (per ray, samples).
    """
    ang = np.linspace(0, 2 * np.pi, n_rays, endpoint=False)
    r_max = float(np.hypot(*core.shape))
    rs = np.arange(0, r_max, step)
    pi = centre[0] + np.outer(np.cos(ang), rs)
    pj = centre[1] + np.outer(np.sin(ang), rs)
    ii = np.clip(np.rint(pi).astype(int), 0, core.shape[0] - 1)
    jj = np.clip(np.rint(pj).astype(int), 0, core.shape[1] - 1)
    inside = core[ii, jj] & (pi >= 0) & (pj >= 0) & (pi <= core.shape[0] - 1) & (pj <= core.shape[1] - 1)
    c = cls[ii, jj]
    r_edge = np.zeros(n_rays)
    r_in = np.zeros(n_rays)
    for a in range(n_rays):  # one short walk per ray (a few hundred rays)
        idx = np.flatnonzero(inside[a])
        if len(idx) == 0:
            continue
        e = int(idx[-1])
        r_edge[a] = rs[e]
        k, fat_run, last_lean = e, 0, e
        while k >= 0 and e - k <= max_depth[a]:
            v = c[a, k]
            if v == 1:
                fat_run, last_lean = 0, k
            elif v == 2 and fat_run < gap:
                fat_run += 1
            else:
                break
            k -= 1
        r_in[a] = rs[last_lean]
    return r_edge, r_in


def compartments(hu: np.ndarray, pixel_mm: float, skin_mm: float = 3.0, close_mm: float = 5.0,
                 gap_mm: float = 3.0, wall_mm: float = 40.0, back_mm: float = 75.0,
                 posterior: tuple[float, float] = (0.0, -1.0), n_rays: int = 360) -> Compartments:
    """Muscle, SAT, VAT and IMAT masks of one axial slice by the geometric rule (see the module docstring).

    Parameters
    ----------
    hu
        2-D slice in HU, indexed like ``Volume.array[:, :, k]``.
    pixel_mm
        In-plane pixel size (mm).
    skin_mm
        Width of the band under the body surface treated as skin.
    close_mm
        Closing radius that bridges gaps of the muscle wall when finding the fascia.
    gap_mm
        Longest fat run crossed inside the muscle wall (intermuscular fat).
    wall_mm, back_mm
        Deepest muscle wall measured from the fascia, elsewhere and within
        50 degrees of ``posterior`` (paraspinal muscles).
    posterior
        Direction of the patient's back in array index space ``(i, j)``.
    """
    hu = np.asarray(hu, np.float32)
    px = float(pixel_mm)
    body = ndimage.binary_fill_holes(_largest(hu > -500))
    fat = body & _in(hu, FAT_HU)
    lean = body & _in(hu, MUSCLE_HU)
    inner_body = body & (ndimage.distance_transform_edt(body) > max(1.0, skin_mm / px))
    # fascia: the outline of lean/bone tissue under the skin, gaps of the wall closed
    dense = inner_body & (hu >= MUSCLE_HU[0])
    r = max(1, int(round(close_mm / px)))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    disk = xx * xx + yy * yy <= r * r
    padded = np.pad(dense, r + 1)
    closed = ndimage.binary_closing(padded, structure=disk)[r + 1:-r - 1, r + 1:-r - 1]
    core = ndimage.binary_fill_holes(_largest(closed & inner_body)) if closed.any() else closed
    sat = fat & ~core
    # the muscle wall: from the fascia inwards along rays from the core centre
    cls = np.where(lean, 1, np.where(fat, 2, 0)).astype(np.int8)
    if not core.any():
        z = np.zeros_like(body)
        return Compartments(muscle=z, sat=sat, vat=z.copy(), imat=z.copy(), body=body)
    centre = np.array(ndimage.center_of_mass(core))
    step = 0.5
    ang = np.linspace(0, 2 * np.pi, n_rays, endpoint=False)
    post = np.asarray(posterior, float)
    post = post / (np.linalg.norm(post) or 1.0)
    back = (np.cos(ang) * post[0] + np.sin(ang) * post[1]) > np.cos(np.deg2rad(50))
    max_depth = np.where(back, back_mm, wall_mm) / px / step
    _, r_in = _inner_wall_radius(cls, centre, core, step, max(1, int(round(gap_mm / px / step))), max_depth,
                                 n_rays)
    gi, gj = np.nonzero(core)
    rr = np.hypot(gi - centre[0], gj - centre[1])
    aa = np.mod(np.arctan2(gj - centre[1], gi - centre[0]), 2 * np.pi)
    ray = np.rint(aa / (2 * np.pi) * n_rays).astype(int) % n_rays
    region = np.zeros_like(core)
    region[gi, gj] = rr >= r_in[ray] - 1.0
    muscle = lean & region & core
    # fat of the core: components mostly inside the wall are intermuscular, the rest visceral
    lab, n = ndimage.label(fat & core, structure=np.ones((3, 3), bool))
    if n:
        tot = np.bincount(lab.ravel(), minlength=n + 1)
        inw = np.bincount(lab.ravel(), weights=region.ravel().astype(float), minlength=n + 1)
        is_imat = inw >= 0.5 * np.maximum(tot, 1)
        is_imat[0] = False
        imat = is_imat[lab]
    else:
        imat = np.zeros_like(core)
    vat = fat & core & ~imat
    return Compartments(muscle=muscle, sat=sat, vat=vat, imat=imat, body=body)


def composition_from_masks(hu: np.ndarray, pixel_area_mm2: float, comp: Compartments, *, level: str = "L3",
                           index: int | None = None, z_mm: float | None = None, height_m: float | None = None,
                           method: str = "rule") -> BodyComposition:
    """Areas (cm^2) and mean HU of each compartment, the HU ranges applied inside the masks."""
    hu = np.asarray(hu, np.float64)
    a = pixel_area_mm2 / 100.0

    def stats(mask: np.ndarray, rng: tuple[float, float]) -> tuple[float | None, float]:
        m = mask & _in(hu, rng)
        n = int(m.sum())
        return (float(hu[m].mean()) if n else None), n * a

    mh, ma = stats(comp.muscle, MUSCLE_HU)
    sh, sa = stats(comp.sat, FAT_HU)
    vh, va = stats(comp.vat, FAT_HU)
    ih, ia = stats(comp.imat, FAT_HU)
    smi = ma / height_m ** 2 if height_m else None
    return BodyComposition(level, index, z_mm, mh, ma, sh, sa, vh, va, ih, ia, smi, height_m, method)


def slice_of_volume(volume: Volume, index: int) -> tuple[np.ndarray, float]:
    """Slice ``k = index`` of the input as stored, and its pixel area (mm^2); the slice axis must be axial."""
    if not volume.slice_axis_is_z:
        raise InputError("body composition needs axial slices (the slice axis is not superior-inferior)")
    if not 0 <= index < volume.shape[2]:
        raise InputError(f"slice {index} is outside the volume (0..{volume.shape[2] - 1})")
    a = volume.affine[:3, :2]
    area = float(np.linalg.norm(np.cross(a[:, 0], a[:, 1])))
    return np.asarray(volume.array[:, :, index], np.float32), area


def body_composition(volume: Volume, index: int, *, level: str = "L3", height_m: float | None = None,
                     masks: Compartments | None = None) -> tuple[BodyComposition, Compartments, np.ndarray]:
    """Body composition on slice ``index`` of ``volume`` (rule-based compartments unless ``masks`` are given)."""
    hu, area = slice_of_volume(volume, index)
    if masks is None:
        # the patient's back (world -y) in array index space of this slice
        inv = np.linalg.pinv(volume.affine[:3, :2])
        post = inv @ np.array([0.0, -1.0, 0.0])
        comp = compartments(hu, float(np.sqrt(area)), posterior=(float(post[0]), float(post[1])))
    else:
        comp = masks
    res = composition_from_masks(hu, area, comp, level=level, index=index, z_mm=float(volume.slice_z_mm(index)),
                                 height_m=height_m, method="masks" if masks is not None else "rule")
    return res, comp, hu


def write_bodycomp_csv(rows: list[dict[str, Any]], path: str | os.PathLike) -> Path:
    from ..io.sidecar import write_csv

    return write_csv(rows, BODYCOMP_COLUMNS, path)


def bodycomp_overlay(hu: np.ndarray, comp: Compartments, path: str | os.PathLike, title: str = "") -> Path:
    """PNG of the slice (soft-tissue window) with muscle red, SAT yellow, VAT green, IMAT blue."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    img = np.clip((np.asarray(hu, np.float32) + 160) / 400, 0, 1)
    rgb = np.repeat(img[..., None], 3, axis=2)
    for mask, colour in ((comp.muscle, (1, 0, 0)), (comp.sat, (1, 1, 0)), (comp.vat, (0, 0.8, 0)),
                         (comp.imat, (0, 0.4, 1))):
        rgb[mask] = 0.45 * rgb[mask] + 0.55 * np.asarray(colour)
    # array[i, j]: i = columns of the image (towards RAS +x), j rows -> show anterior up
    rgb = np.transpose(rgb, (1, 0, 2))[::-1]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.imshow(rgb)
    ax.set_axis_off()
    ax.set_title(title or "muscle red, SAT yellow, VAT green, IMAT blue", fontsize=9)
    fig.tight_layout()
    tmp = path.with_name(path.stem + ".part.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
    return path
