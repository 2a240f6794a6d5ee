"""Body composition on one axial slice (usually L3): muscle, SAT, VAT, IMAT.

HU ranges (the usual L3 conventions): skeletal muscle -29..150 HU; fat
-190..-30 HU (subcutaneous, visceral and intermuscular fat alike). Areas in
cm^2, mean HU per compartment, and the skeletal muscle index (muscle area /
height^2, cm^2/m^2) when the height is given.

Compartments come either from masks you give (e.g. a tissue segmentation:
:func:`composition_from_masks`) or from a built-in geometric rule
(:func:`compartments`): the body is the largest object above -500 HU; the
subcutaneous compartment is the fat (and skin) connected to the body
surface; inside it, the muscle wall is the muscle-density tissue connected to
the fascia; small enclosed holes of the wall are intermuscular (fat) or muscle,
the large enclosed region is the abdominal cavity, whose fat is visceral.
The rule is exact on clean concentric geometry (tested) and approximate on
real scans where organs touch the muscle wall; masks from a segmentation model
are better when you have them.
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


def compartments(hu: np.ndarray, pixel_mm: float, skin_mm: float = 3.0, min_cavity_fraction: float = 0.05
                 ) -> Compartments:
    """Muscle, SAT, VAT and IMAT masks of one axial slice by the geometric rule (see the module docstring).

    Parameters
    ----------
    hu
        2-D slice in HU.
    pixel_mm
        In-plane pixel size (mm), for the skin band.
    skin_mm
        Width of the band under the body surface treated as skin.
    min_cavity_fraction
        Enclosed regions of the muscle wall larger than this fraction of the
        area inside the fascia are the cavity; smaller ones are intermuscular.
    """
    hu = np.asarray(hu, np.float32)
    body = ndimage.binary_fill_holes(_largest(hu > -500))
    fat = body & _in(hu, FAT_HU)
    lean = body & _in(hu, MUSCLE_HU)
    shell = body & (ndimage.distance_transform_edt(body) <= max(1.0, skin_mm / pixel_mm))
    sat_region = _touching(fat | shell, shell)
    core = ndimage.binary_fill_holes(body & ~sat_region)
    fascia = core & ~ndimage.binary_erosion(core)
    wall = _touching(lean & core, fascia)
    enclosed = ndimage.binary_fill_holes(wall) & ~wall
    lab, n = ndimage.label(enclosed)
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    big = sizes >= min_cavity_fraction * max(1, int(core.sum()))
    big[0] = False
    small = enclosed & ~big[lab]
    muscle = wall | (small & lean)
    imat = small & fat
    vat = fat & core & ~wall & ~small
    sat = fat & sat_region
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
    comp = masks if masks is not None else compartments(hu, float(np.sqrt(area)))
    res = composition_from_masks(hu, area, comp, level=level, index=index, z_mm=float(volume.slice_z_mm(index)),
                                 height_m=height_m, method="masks" if masks is not None else "rule")
    return res, comp, hu


def write_bodycomp_csv(rows: list[dict[str, Any]], path: str | os.PathLike) -> Path:
    import csv

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=BODYCOMP_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)
    return path


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
