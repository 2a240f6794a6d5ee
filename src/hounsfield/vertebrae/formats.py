"""Vertebra label numbers and centroid files: VerSe ``*_ctd.json``, ``.lml``, label maps.

Label numbers follow VerSe: 1-7 C1-C7, 8-19 T1-T12, 20-25 L1-L6, 26 sacrum
(named ``S1`` here: the reference point is the top of the sacrum), 27 coccyx,
28 T13. TotalSegmentator v2 multilabel numbers (26 S1, 27 L5 ... 50 C1) are
converted with :func:`totalseg_to_verse`.

Centroids inside hounsfield are always **world RAS+ millimetres**
(:class:`Centroid`). The file formats store something else and are converted
at the boundary, once:

``*_seg-subreg_ctd.json`` (VerSe)
    A list whose first entry is ``{"direction": ["P", "I", "R"]}`` (the axis
    codes of the image the coordinates refer to) followed by
    ``{"label": n, "X": .., "Y": .., "Z": ..}`` in **voxel units** of the image
    reoriented (flips/permutations only) to those axis codes. The points are
    centres of the vertebral **body** (VerSe derives them from the
    ``seg-subreg`` body sub-region; see :func:`body_centroids`).
``.lml`` (the 242-scan spine data set of the published seed code)
    A header line, then ``id name x y z`` per vertebra (``name`` like ``L3`` or
    ``L3_center``) with x, y, z in **millimetres along the image's voxel axes**
    (voxel index times spacing, origin at voxel 0, no direction), which is how
    the published code reads them (it divides by the spacing).

Body versus whole-vertebra centroids: the centroid of a whole-vertebra mask
(body + arch + processes) lies 9-15 mm posterior to the body centre. Given a
label map, :func:`body_centroids` cuts each vertebra at the posterior wall of
its body (the anterior edge of the spinal canal, found in the mid-sagittal band
of the mask) and returns the centroid of the part anterior to that plane.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..errors import InputError
from ..volume import Volume

__all__ = [
    "VERSE_NAMES",
    "NAME_TO_LABEL",
    "Centroid",
    "label_name",
    "label_number",
    "region_of",
    "totalseg_to_verse",
    "read_verse_ctd",
    "write_verse_ctd",
    "read_lml",
    "write_lml",
    "mask_centroids",
    "body_centroids",
    "read_centroids",
    "order_key",
]

VERSE_NAMES: dict[int, str] = {
    **{i: f"C{i}" for i in range(1, 8)},
    **{i + 7: f"T{i}" for i in range(1, 13)},
    **{i + 19: f"L{i}" for i in range(1, 7)},
    26: "S1",
    27: "Co",
    28: "T13",
}
NAME_TO_LABEL: dict[str, int] = {v: k for k, v in VERSE_NAMES.items()}
NAME_TO_LABEL.update({"SACRUM": 26, "S": 26, "COCCYX": 27})

#: position from head to tail (T13 sits between T12 and L1, the sacrum after L6)
_ORDER = {lab: float(lab) for lab in range(1, 26)}
_ORDER.update({28: 19.5, 26: 26.0, 27: 27.0})


def order_key(label: int) -> float:
    """Cranio-caudal rank of a VerSe label (T13 between T12 and L1)."""
    return _ORDER[int(label)]


def label_name(label: int) -> str:
    """``'L3'`` for 22 and so on (VerSe numbers)."""
    try:
        return VERSE_NAMES[int(label)]
    except KeyError:
        raise InputError(f"{label} is not a VerSe vertebra label (1-28)") from None


def label_number(name: str | int) -> int:
    """VerSe number of a name such as ``'L3'``, ``'l3_center'`` or ``'22'``."""
    if isinstance(name, (int, np.integer)):
        label_name(int(name))
        return int(name)
    key = str(name).strip().upper().split("_")[0]
    if key.isdigit():
        return label_number(int(key))
    if key not in NAME_TO_LABEL:
        raise InputError(f"'{name}' is not a vertebra name (C1-C7, T1-T13, L1-L6, S1)")
    return NAME_TO_LABEL[key]


def region_of(label: int) -> str:
    """``'cervical'``, ``'thoracic'``, ``'lumbar'`` or ``'sacral'``."""
    label = int(label)
    if label <= 7:
        return "cervical"
    if label <= 19 or label == 28:
        return "thoracic"
    if label <= 25:
        return "lumbar"
    return "sacral"


def totalseg_to_verse(labels: np.ndarray) -> np.ndarray:
    """Map TotalSegmentator v2 numbers (25 sacrum, 26 S1, 27 L5 ... 50 C1) to VerSe; other labels become 0."""
    lut = np.zeros(max(int(labels.max(initial=0)) + 1, 51), dtype=np.uint8)
    lut[25] = 26
    lut[26] = 26
    ts = np.arange(27, 51)
    lut[ts] = 51 - ts
    return lut[np.asarray(labels, dtype=np.int64).clip(0)]


@dataclass(frozen=True)
class Centroid:
    """One vertebra: VerSe ``label`` and ``xyz`` in world RAS+ mm (``confidence`` for predictions)."""

    label: int
    xyz: tuple[float, float, float]
    confidence: float = 1.0

    @property
    def name(self) -> str:
        return label_name(self.label)

    def to_dict(self) -> dict[str, object]:
        return {"label": self.name, "centroid_mm": [round(float(v), 2) for v in self.xyz],
                "confidence": round(float(self.confidence), 3)}


def _sorted(cents: Iterable[Centroid]) -> list[Centroid]:
    return sorted(cents, key=lambda c: order_key(c.label))


# ----------------------------------------------------------------- VerSe json
def _oriented_affine(reference: Volume, codes: Sequence[str]) -> np.ndarray:
    """Affine of ``reference`` reoriented (flips/permutations) to axis ``codes``."""
    import nibabel as nib

    ornt = nib.orientations.io_orientation(reference.affine)
    target = nib.orientations.axcodes2ornt(tuple(codes))
    tr = nib.orientations.ornt_transform(ornt, target)
    return reference.affine @ nib.orientations.inv_ornt_aff(tr, reference.shape)


def read_verse_ctd(path: str | os.PathLike, reference: Volume) -> list[Centroid]:
    """Read a VerSe centroid JSON; ``reference`` is the CT or mask the voxel coordinates refer to."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except ValueError as exc:
        raise InputError(f"{path}: not a JSON file ({exc})") from None
    if not isinstance(data, list):
        raise InputError(f"{path}: a VerSe centroid file is a JSON list")
    codes: Sequence[str] | None = None
    rows = []
    for d in data:
        if isinstance(d, dict) and "direction" in d:
            codes = [str(c).upper() for c in d["direction"]]
        elif isinstance(d, dict) and {"label", "X", "Y", "Z"} <= set(d):
            if any(isinstance(d[k], str) or d[k] is None or not np.isfinite(d[k]) for k in "XYZ"):
                continue  # VerSe files mark missing vertebrae with NaN
            rows.append((int(d["label"]), float(d["X"]), float(d["Y"]), float(d["Z"])))
    if codes is None:
        raise InputError(f"{path}: no {{'direction': [...]}} entry with the axis codes")
    aff = _oriented_affine(reference, codes)
    out = []
    for lab, x, y, z in rows:
        w = aff @ np.array([x, y, z, 1.0])
        out.append(Centroid(lab, (float(w[0]), float(w[1]), float(w[2]))))
    return _sorted(out)


def write_verse_ctd(path: str | os.PathLike, centroids: Iterable[Centroid], reference: Volume,
                    codes: str | Sequence[str] | None = None, decimals: int = 1) -> Path:
    """Write VerSe centroid JSON in voxel units of ``reference`` reoriented to ``codes`` (default: as stored)."""
    from ..io import write_json

    codes = list(codes) if codes is not None else list(reference.orientation)
    inv = np.linalg.inv(_oriented_affine(reference, codes))
    rows: list[dict[str, object]] = [{"direction": codes}]
    for c in _sorted(centroids):
        v = inv @ np.array([*c.xyz, 1.0])
        rows.append({"label": int(c.label), "X": round(float(v[0]), decimals),
                     "Y": round(float(v[1]), decimals), "Z": round(float(v[2]), decimals)})
    return write_json(rows, path)


# ------------------------------------------------------------------------ lml
def read_lml(path: str | os.PathLike, reference: Volume) -> list[Centroid]:
    """Read an ``.lml`` centroid file (mm along the voxel axes of ``reference``)."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    sp = np.asarray(reference.spacing)
    out = []
    for n, line in enumerate(lines[1:], start=2):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if len(parts) < 5:
            raise InputError(f"{path}:{n}: expected 'id name x y z', got '{line.strip()}'")
        lab = label_number(parts[1])
        ijk = np.asarray([float(p) for p in parts[2:5]]) / sp
        out.append(Centroid(lab, tuple(float(v) for v in reference.world(ijk))))  # type: ignore[arg-type]
    return _sorted(out)


def write_lml(path: str | os.PathLike, centroids: Iterable[Centroid], reference: Volume) -> Path:
    """Write an ``.lml`` file (header line, then ``id name_center x y z`` in voxel-axis mm)."""
    sp = np.asarray(reference.spacing)
    lines = ["# id\tname\tx\ty\tz (mm along the image voxel axes: voxel index x spacing)"]
    for c in _sorted(centroids):
        mm = reference.voxel(c.xyz) * sp
        lines.append(f"{c.label}\t{c.name}_center\t{mm[0]:.2f}\t{mm[1]:.2f}\t{mm[2]:.2f}")
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, path)
    return path


# ------------------------------------------------------------------ label maps
def mask_centroids(labels: Volume) -> list[Centroid]:
    """Whole-mask centroid (world mm) of every VerSe label present in a label map (one bincount pass)."""
    arr = np.asarray(labels.array).astype(np.int64, copy=False)
    flat = arr.ravel()
    n = max(int(flat.max(initial=0)) + 1, 29)
    counts = np.bincount(flat, minlength=n)
    idx = np.indices(arr.shape).reshape(3, -1)
    sums = np.stack([np.bincount(flat, weights=idx[a], minlength=n) for a in range(3)], axis=1)
    out = []
    for lab in np.flatnonzero(counts[1:]) + 1:
        if lab in VERSE_NAMES:
            ijk = sums[lab] / counts[lab]
            out.append(Centroid(int(lab), tuple(float(v) for v in labels.world(ijk))))  # type: ignore[arg-type]
    return _sorted(out)


def _spine_axes(whole: list[Centroid], i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local superior (s), anterior (a) and lateral (r) unit vectors at vertebra ``i``."""
    pts = np.array([c.xyz for c in whole])
    if len(pts) >= 2:
        lo, hi = max(i - 1, 0), min(i + 1, len(pts) - 1)
        s = pts[lo] - pts[hi]  # sorted head -> tail, so lo is superior
        if s[2] < 0:
            s = -s
        s /= np.linalg.norm(s)
    else:
        s = np.array([0.0, 0.0, 1.0])
    a = np.array([0.0, 1.0, 0.0]) - s[1] * s
    a /= np.linalg.norm(a)
    r = np.cross(a, s)
    return s, a, r


def _row_wall_body(t: np.ndarray, h: np.ndarray, lat: np.ndarray, midline_mm: float, margin_mm: float,
                   step: float = 1.0) -> np.ndarray | None:
    """Mask of the body voxels, cut at the posterior wall height by height (None if no midline section).

    In the mid-sagittal band the body's section is the connected component (in the
    antero-posterior x cranio-caudal plane) that holds the anterior-most midline bone;
    the spinal canal separates it from the arch. For every height the posterior wall is
    the back of that section (plus ``margin_mm``: the midline wall is concave, the
    basivertebral foramen); voxels of the vertebra anterior to it are body, at heights
    the section does not reach there is no body.
    """
    from scipy import ndimage

    m = np.abs(lat) < midline_mm
    if not m.any():
        return None
    ti = np.maximum(((t[m].max() - t) / step).astype(int), 0)
    hi = ((h - h.min()) / step).astype(int)
    img = np.zeros((ti.max() + 1, hi.max() + 1), bool)
    img[ti[m], hi[m]] = True
    img |= ndimage.binary_closing(img, np.ones((2, 2), bool))
    lab, _ = ndimage.label(img)
    front = lab[:3][lab[:3] > 0]
    if front.size == 0:
        return None
    comp = lab == np.bincount(front).argmax()
    wall = np.full(img.shape[1], -1.0)
    cols = np.flatnonzero(comp.any(axis=0))
    for j in cols:
        wall[j] = np.flatnonzero(comp[:, j]).max() + margin_mm / step
    keep = ti <= wall[hi]
    return keep if keep.sum() >= 10 else None


def body_centroids(labels: Volume, midline_mm: float = 3.0, min_gap_mm: float = 2.0,
                   margin_mm: float = 0.0) -> list[Centroid]:
    """Vertebral-body centroids (world mm) from a whole-vertebra label map.

    For each vertebra a local frame is built (superior along the line through
    the neighbouring whole-mask centroids, anterior = world anterior made
    orthogonal to it). In the mid-sagittal band (``|lateral| < midline_mm``) the
    body's section is the connected piece of mask holding the anterior-most
    midline bone (the spinal canal separates it from the arch); at every height
    the posterior wall is the back of that section (plus ``margin_mm``), and the
    body centroid is the centroid of the vertebra's voxels anterior to the wall
    at their height. A wall that follows the height copes with tilted and
    wedge-shaped bodies (L5), where one plane would take in the pedicle roots.
    When the midline has no such section, the older single-plane cut is used:
    walking the midline band from the front backwards, the first empty gap of at
    least ``min_gap_mm`` starting at least 10 mm behind the front is the canal;
    without a canal (a vertebra cut by the field of view, the sacrum) the
    anterior 45 % of the AP extent is used.
    """
    from scipy import ndimage

    arr = np.asarray(labels.array)
    whole = mask_centroids(labels)
    slices = ndimage.find_objects(arr.astype(np.int32, copy=False))
    out = []
    for i, c in enumerate(whole):
        sl = slices[c.label - 1]
        sub = arr[sl] == c.label
        ijk = np.argwhere(sub) + np.array([s.start for s in sl])
        xyz = labels.world(ijk)
        s, a, r = _spine_axes(whole, i)
        d = xyz - np.asarray(c.xyz)
        t, lat = d @ a, d @ r
        # the midline image's pixel: 1 mm, or the voxel size along a and s when coarser (thick slices)
        vox = np.asarray(labels.affine)[:3, :3]
        step = max(1.0, float(np.abs(a @ vox).max()), float(np.abs(s @ vox).max()))
        keep = _row_wall_body(t, d @ s, lat, midline_mm, margin_mm, step)
        if keep is not None:
            body = xyz[keep]
            out.append(Centroid(c.label, tuple(float(v) for v in body.mean(axis=0))))  # type: ignore[arg-type]
            continue
        mid = t[np.abs(lat) < midline_mm]
        step = 0.5
        wall = None
        if mid.size:
            top = mid.max()
            occ = np.zeros(int((top - t.min()) / step) + 2, bool)
            occ[((top - mid) / step).astype(int)] = True
            need = max(int(np.ceil(min_gap_mm / step)), 1)
            run = 0
            for b in range(len(occ)):
                run = 0 if occ[b] else run + 1
                if run >= need and b - run + 1 > int(10 / step):  # body is at least 10 mm deep
                    wall = top - (b - run + 1) * step
                    break
        if wall is None:
            wall = t.max() - 0.45 * (t.max() - t.min())
        body = xyz[t >= wall]
        out.append(Centroid(c.label, tuple(float(v) for v in body.mean(axis=0))))  # type: ignore[arg-type]
    return out


def read_centroids(path: str | os.PathLike, reference: Volume | None = None) -> list[Centroid]:
    """Centroids from a prediction/reference file: hounsfield ``--json``, VerSe ctd (needs ``reference``) or ``.lml``."""
    path = Path(path)
    if path.suffix == ".lml":
        if reference is None:
            raise InputError(f"{path}: an .lml file needs its image to convert to world coordinates")
        return read_lml(path, reference)
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise InputError(f"{path}: not a JSON file ({exc})") from None
    if isinstance(data, dict) and "vertebrae" in data:
        return _sorted(Centroid(label_number(d["label"]), tuple(float(v) for v in d["centroid_mm"]),  # type: ignore[arg-type]
                                float(d.get("confidence", 1.0))) for d in data["vertebrae"])
    if reference is None:
        raise InputError(f"{path}: a VerSe centroid file needs its image or mask to convert voxel coordinates")
    return read_verse_ctd(path, reference)
