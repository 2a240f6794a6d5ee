"""Synthetic head CT: NCCT and CTA of the same patient with an exact clot mask.

The head is built analytically in a *head frame* (RAS mm, origin at the centre
of the Circle of Willis) and rendered onto a scanner grid through a rigid pose,
so the NCCT can be rendered with a slightly different pose than the CTA
(misregistration), and every voxel label is known exactly.

Anatomy
    scalp, skull (ellipsoidal shell), brain with a smooth texture, CSF
    (subarachnoid layer, lateral ventricles, suprasellar and prepontine
    cisterns, a CSF sleeve around each artery), and the Circle of Willis with
    its main branches: ICA, M1, M2 (superior and inferior trunks), A1, A2,
    ACom, basilar (BA), P1, P2 and PCom, each a tube along a smooth polyline
    with a plausible diameter (ICA ~4.4 mm, BA ~3.2 mm, M1 ~3.0 mm, A1/P1
    ~2.2 mm, M2 ~2.1 mm, PCom ~1.2 mm), varied per patient.
Occlusion
    one segment (M1 most often; ICA terminus, M2, BA, A1, P1 also) filled by a
    clot over a random arc-length window (length 4-25 mm); vessels downstream
    of the clot enhance less in the CTA (collateral filling factor 0.3-0.9).
    A fraction of patients has no clot (for specificity).
Intensities (HU)
    NCCT: blood 35-45, clot 50-80 (hyperdense vessel sign), brain ~25-40,
    CSF 0-10, skull 1000-1500. CTA: lumen 250-450, the clot a filling defect
    (its NCCT value +-5), brain +3 HU.
Acquisition
    Gaussian point spread (in-plane and slice profile), correlated noise
    (NCCT sigma 3-6 HU, CTA 6-12 HU), patient motion between NCCT slices
    (sub-millimetre random walk with an occasional jerk) and a rigid
    misregistration of the NCCT (up to 2 degrees, 2 mm).

Everything is deterministic given the seed.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from ..volume import Volume, VolumeMeta

__all__ = ["HeadCase", "HeadConfig", "VESSELS", "make_head", "write_head", "write_heads"]

# ----------------------------------------------------------------------------- vessel tree (head frame, mm)
# name -> (control points with x for the RIGHT side (mirrored for left), radius mm, parent, clot weight)
_SIDED: dict[str, tuple[list[tuple[float, float, float]], float, str | None, float]] = {
    "ICA": ([(19, 6, -38), (21, 10, -24), (17, 8, -13), (15, 4, -5), (14, 2, 0)], 2.2, None, 0.05),
    "M1": ([(14, 2, 0), (24, 4, 1), (34, 5, 2), (42, 4, 4)], 1.5, "ICA", 0.22),
    "M2s": ([(42, 4, 4), (48, 8, 12), (52, 11, 24), (53, 13, 34)], 1.1, "M1", 0.05),
    "M2i": ([(42, 4, 4), (50, -2, 6), (54, -10, 14), (55, -16, 24)], 1.05, "M1", 0.04),
    "A1": ([(14, 2, 0), (8, 11, 3), (2, 16, 4)], 1.1, "ICA", 0.03),
    "A2": ([(2, 16, 4), (2.5, 24, 14), (3, 28, 30)], 1.0, "A1", 0.0),
    "P1": ([(0, -14, -6), (6, -15, -5), (11, -13, -4)], 1.1, "BA", 0.02),
    "P2": ([(11, -13, -4), (20, -22, -1), (26, -34, 4)], 1.0, "P1", 0.0),
    "PCom": ([(11, -13, -4), (13, -5, -3), (14.5, 1, -1)], 0.6, None, 0.0),
}
_MIDLINE: dict[str, tuple[list[tuple[float, float, float]], float, str | None, float]] = {
    "BA": ([(0, -19, -38), (0, -17, -22), (0, -14, -6)], 1.6, None, 0.08),
    "ACom": ([(2, 16, 4), (-2, 16, 4)], 0.75, None, 0.0),
}


def _vessel_table() -> dict[str, tuple[np.ndarray, float, str | None, float]]:
    out: dict[str, tuple[np.ndarray, float, str | None, float]] = {}
    for side, sign in (("R", 1.0), ("L", -1.0)):
        for name, (pts, r, parent, w) in _SIDED.items():
            p = np.array(pts, dtype=np.float64)
            p[:, 0] *= sign
            par = None if parent is None else (parent if parent == "BA" else f"{parent}-{side}")
            out[f"{name}-{side}"] = (p, r, par, w)
    for name, (pts, r, parent, w) in _MIDLINE.items():
        out[name] = (np.array(pts, dtype=np.float64), r, parent, w)
    return out


#: The vessel tree in the head frame: name -> (control points (n, 3) mm, radius mm, parent, clot weight).
VESSELS = _vessel_table()


@dataclass(frozen=True)
class HeadConfig:
    """Grid and acquisition settings of :func:`make_head`."""

    spacing: tuple[float, float, float] = (0.75, 0.75, 1.5)
    #: field of view in mm (x, y, z); z centred a little above the Circle of Willis
    fov_mm: tuple[float, float, float] = (150.0, 180.0, 75.0)
    z_centre_mm: float = 2.0
    #: fraction of patients without a clot
    negative_fraction: float = 0.15
    #: misregistration of the NCCT: max rotation (deg) and translation (mm)
    max_rotation_deg: float = 2.0
    max_shift_mm: float = 2.0
    motion: bool = True


@dataclass(frozen=True)
class HeadCase:
    """One synthetic patient: CTA, NCCT (same grid) and the exact clot mask (on the CTA)."""

    cta: Volume
    ncct: Volume
    clot: Volume
    truth: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------- geometry helpers
def _rotation(rx: float, ry: float, rz: float) -> np.ndarray:
    """Rotation matrix from angles in degrees about x, y, z (applied z, y, x)."""
    a, b, c = np.deg2rad([rx, ry, rz])
    mx = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    my = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    mz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    return mx @ my @ mz


def _densify(points: np.ndarray, per_piece: int = 4) -> np.ndarray:
    """Catmull-Rom spline through the control points (keeps the end points)."""
    if len(points) < 3:
        return points
    p = np.vstack([2 * points[0] - points[1], points, 2 * points[-1] - points[-2]])
    out = [points[0]]
    t = np.linspace(0, 1, per_piece + 1)[1:, None]
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        seg = 0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3)
        out.extend(seg)
    return np.asarray(out)


def _polyline_distance(pts: np.ndarray, line: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance of points ``pts`` (n, 3) to a polyline and the arc length of the nearest point."""
    a = line[:-1]
    d = line[1:] - a
    length = np.linalg.norm(d, axis=1)
    cum = np.concatenate([[0.0], np.cumsum(length)])[:-1]
    best = np.full(len(pts), np.inf, dtype=np.float64)
    arc = np.zeros(len(pts), dtype=np.float64)
    for i in range(len(a)):
        rel = pts - a[i]
        t = np.clip(rel @ d[i] / max(length[i] ** 2, 1e-12), 0.0, 1.0)
        dist = np.linalg.norm(rel - t[:, None] * d[i], axis=1)
        better = dist < best
        best[better] = dist[better]
        arc[better] = cum[i] + t[better] * length[i]
    return best, arc


def _arc_length(line: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(line, axis=0), axis=1).sum())


def _point_at(line: np.ndarray, s: float) -> np.ndarray:
    seg = np.linalg.norm(np.diff(line, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    i = int(np.clip(np.searchsorted(cum, s) - 1, 0, len(seg) - 1))
    t = (s - cum[i]) / max(seg[i], 1e-12)
    return line[i] + np.clip(t, 0, 1) * (line[i + 1] - line[i])


def _descendants(tree: dict[str, tuple[np.ndarray, float, str | None, float]], name: str) -> list[str]:
    out: list[str] = []
    frontier = [name]
    while frontier:
        cur = frontier.pop()
        kids = [k for k, v in tree.items() if v[2] == cur]
        out.extend(kids)
        frontier.extend(kids)
    return out


# ----------------------------------------------------------------------------- patient sampling
def _sample_patient(rng: np.random.Generator, cfg: HeadConfig) -> dict[str, Any]:
    """Random anatomy, pose, intensities and occlusion of one patient."""
    scale = rng.uniform(0.92, 1.08, size=3)
    # smooth displacement: a few random low-frequency sinusoids (mm)
    waves = [(rng.normal(size=3) / 40.0, rng.uniform(0, 2 * np.pi), rng.normal(0, 1.2, size=3)) for _ in range(3)]

    def warp(p: np.ndarray) -> np.ndarray:
        q = p * scale
        for k, phase, amp in waves:
            q = q + np.sin(p @ k + phase)[:, None] * amp
        return q

    rscale = rng.uniform(0.88, 1.12)
    tree: dict[str, tuple[np.ndarray, float, str | None, float]] = {}
    for name, (pts, r, parent, w) in VESSELS.items():
        line = _densify(warp(pts))
        tree[name] = (line, r * rscale * rng.uniform(0.92, 1.08), parent, w)

    occluded = bool(rng.random() >= cfg.negative_fraction)
    clot: dict[str, Any] | None = None
    if occluded:
        names = [n for n, v in tree.items() if v[3] > 0]
        w = np.array([tree[n][3] for n in names])
        seg = names[int(rng.choice(len(names), p=w / w.sum()))]
        line, r, _, _ = tree[seg]
        total = _arc_length(line)
        length = float(min(rng.uniform(4.0, 25.0), 0.85 * total))
        if seg.startswith("ICA"):  # terminal ICA occlusion: ends at the bifurcation
            start = total - length
        else:
            start = float(rng.uniform(0.0, total - length))
        clot = {"segment": seg, "start_mm": start, "length_mm": length, "radius_mm": r,
                "collateral": float(rng.uniform(0.3, 0.9)), "hu_ncct": float(rng.uniform(50, 80)),
                "downstream": _descendants(tree, seg)}

    rot = rng.uniform(-8, 8, size=3) * np.array([1.0, 1.0, 0.6])
    shift = rng.uniform(-5, 5, size=3) * np.array([1, 1, 0.4])
    mis_rot = np.clip(rng.normal(0, cfg.max_rotation_deg / 2, size=3), -cfg.max_rotation_deg, cfg.max_rotation_deg)
    mis_shift = rng.uniform(-cfg.max_shift_mm, cfg.max_shift_mm, size=3)
    hu = {
        "blood_ncct": float(rng.uniform(35, 45)), "lumen_cta": float(rng.uniform(250, 450)),
        "brain": float(rng.uniform(28, 35)), "csf": float(rng.uniform(0, 10)), "skull": float(rng.uniform(1000, 1500)),
        "scalp": float(rng.uniform(20, 40)),
    }
    noise = {"ncct_sigma": float(rng.uniform(3, 6)), "cta_sigma": float(rng.uniform(6, 12))}
    head = {"centre": np.array([0.0, -6.0, 20.0]) + rng.normal(0, 1.5, 3), "axes": np.array([68.0, 86.0, 78.0]) * rng.uniform(0.94, 1.06, 3),
            "skull_mm": float(rng.uniform(5, 7)), "sleeve_mm": float(rng.uniform(1.0, 2.5))}
    return {"tree": tree, "clot": clot, "pose_rot": rot, "pose_shift": shift, "mis_rot": mis_rot, "mis_shift": mis_shift,
            "hu": hu, "noise": noise, "head": head, "texture_seed": int(rng.integers(2**31)),
            "noise_seed": int(rng.integers(2**31)), "motion_seed": int(rng.integers(2**31))}


# ----------------------------------------------------------------------------- rendering
_AIR, _SCALP, _SKULL, _BRAIN, _CSF, _LUMEN, _CLOT = range(7)


def _grid(cfg: HeadConfig) -> tuple[tuple[int, int, int], np.ndarray]:
    sp = np.asarray(cfg.spacing, dtype=np.float64)
    shape = tuple(int(round(f / s)) for f, s in zip(cfg.fov_mm, sp))
    affine = np.diag([*sp, 1.0])
    centre = np.array([0.0, -6.0, cfg.z_centre_mm])
    affine[:3, 3] = centre - sp * (np.asarray(shape) - 1) / 2.0
    return shape, affine  # type: ignore[return-value]


def _render_labels(p: dict[str, Any], shape: tuple[int, int, int], affine: np.ndarray, rot: np.ndarray,
                   shift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tissue labels and CTA enhancement factor (0..1) for one pose (world = rot @ head + shift)."""
    ii, jj, kk = (np.arange(n, dtype=np.float32) for n in shape)
    # head-frame coordinates of every voxel, computed axis by axis to save memory
    m = rot.T @ affine[:3, :3]
    off = rot.T @ (affine[:3, 3] - shift)
    hx = m[0, 0] * ii[:, None, None] + m[0, 1] * jj[None, :, None] + m[0, 2] * kk[None, None, :] + off[0]
    hy = m[1, 0] * ii[:, None, None] + m[1, 1] * jj[None, :, None] + m[1, 2] * kk[None, None, :] + off[1]
    hz = m[2, 0] * ii[:, None, None] + m[2, 1] * jj[None, :, None] + m[2, 2] * kk[None, None, :] + off[2]

    h = p["head"]
    c, ax = h["centre"], h["axes"]

    def ell(centre: Any, axes: Any) -> np.ndarray:
        return ((hx - centre[0]) / axes[0]) ** 2 + ((hy - centre[1]) / axes[1]) ** 2 + ((hz - centre[2]) / axes[2]) ** 2

    labels = np.zeros(shape, dtype=np.uint8)
    labels[ell(c, ax + 4.0) <= 1] = _SCALP
    labels[ell(c, ax) <= 1] = _SKULL
    inner = ax - h["skull_mm"]
    labels[ell(c, inner) <= 1] = _CSF
    labels[ell(c, inner - 2.0) <= 1] = _BRAIN
    for centre, axes in (([8, -2, 30], [6, 24, 8]), ([-8, -2, 30], [6, 24, 8]), ([0, 3, -1], [15, 13, 5]),
                         ([0, -17, -22], [8, 6, 18]), ([0, -6, 8], [2.5, 10, 6])):
        labels[ell(centre, axes) <= 1] = _CSF

    enhance = np.zeros(shape, dtype=np.float32)
    clot = p["clot"]
    inv = np.linalg.inv(affine)
    sleeve = h["sleeve_mm"]
    for name, (line, r, _, _) in p["tree"].items():
        world = line @ rot.T + shift
        margin = r + sleeve + 1.0
        lo = np.floor((inv[:3, :3] @ (world.min(0) - margin).T).T + inv[:3, 3]).astype(int)
        hi = np.ceil((inv[:3, :3] @ (world.max(0) + margin).T).T + inv[:3, 3]).astype(int) + 1
        lo2, hi2 = np.minimum(lo, hi), np.maximum(lo, hi)
        lo2 = np.clip(lo2, 0, shape)
        hi2 = np.clip(hi2, 0, shape)
        if np.any(hi2 <= lo2):
            continue
        sl = tuple(slice(a, b) for a, b in zip(lo2, hi2))
        pts = np.stack([hx[sl].ravel(), hy[sl].ravel(), hz[sl].ravel()], axis=1).astype(np.float64)
        dist, arc = _polyline_distance(pts, line)
        sub = labels[sl].reshape(-1)
        in_brain = (sub == _BRAIN) | (sub == _CSF)
        sub[(dist <= r + sleeve) & in_brain & (sub != _LUMEN) & (sub != _CLOT)] = _CSF
        lumen = dist <= r
        factor = np.ones(len(pts), dtype=np.float32)
        if clot is not None:
            if name in clot["downstream"]:
                factor[:] = clot["collateral"]
            if name == clot["segment"]:
                s0, s1 = clot["start_mm"], clot["start_mm"] + clot["length_mm"]
                factor[arc > s1] = clot["collateral"]
                in_clot = lumen & (arc >= s0) & (arc <= s1)
                sub[in_clot] = _CLOT
                lumen = lumen & ~in_clot
        sub[lumen & (sub != _CLOT)] = _LUMEN
        labels[sl] = sub.reshape(labels[sl].shape)
        e = enhance[sl].reshape(-1)
        e[lumen] = np.maximum(e[lumen], factor[lumen])
        enhance[sl] = e.reshape(enhance[sl].shape)
    enhance[labels != _LUMEN] = 0.0
    return labels, enhance


def _texture(shape: tuple[int, int, int], seed: int) -> np.ndarray:
    """Smooth brain texture, zero mean, +-4 HU."""
    g = np.random.default_rng(seed)
    small = g.normal(0, 1, size=tuple(max(2, s // 10) for s in shape)).astype(np.float32)
    big = ndimage.zoom(small, [s / t for s, t in zip(shape, small.shape)], order=1)
    return 3.0 * big[: shape[0], : shape[1], : shape[2]] / max(float(big.std()), 1e-6)


def _hu(labels: np.ndarray, enhance: np.ndarray, p: dict[str, Any], texture: np.ndarray, contrast: bool) -> np.ndarray:
    hu = p["hu"]
    clot_hu = p["clot"]["hu_ncct"] if p["clot"] else 60.0
    table = np.array([-1000.0, hu["scalp"] + (10 if contrast else 0), hu["skull"], hu["brain"] + (3 if contrast else 0),
                      hu["csf"], hu["blood_ncct"], clot_hu + (3 if contrast else 0)], dtype=np.float32)
    img = table[labels]
    img += texture * (labels == _BRAIN)
    if contrast:
        img += enhance * (hu["lumen_cta"] - hu["blood_ncct"])
    return img


def _acquire(img: np.ndarray, spacing: tuple[float, float, float], sigma_hu: float, seed: int) -> np.ndarray:
    """Point spread, slice profile and correlated noise."""
    psf = (0.45 / spacing[0], 0.45 / spacing[1], 0.45)
    out = ndimage.gaussian_filter(img, psf, mode="nearest")
    g = np.random.default_rng(seed)
    n = g.standard_normal(img.shape, dtype=np.float32)
    n = ndimage.gaussian_filter(n, (0.7, 0.7, 0.3))
    out += n * (sigma_hu / max(float(n.std()), 1e-6))
    return out


def _motion(img: np.ndarray, spacing: tuple[float, float, float], seed: int) -> tuple[np.ndarray, float]:
    """Patient motion between slices: random-walk in-plane shifts (+ an occasional jerk)."""
    g = np.random.default_rng(seed)
    nz = img.shape[2]
    steps = g.normal(0, 0.08, size=(nz, 2))
    if g.random() < 0.3:
        steps[int(g.integers(nz))] += g.uniform(-0.8, 0.8, size=2)
    walk = np.cumsum(steps, axis=0)
    walk -= walk.mean(0)
    out = np.empty_like(img)
    for k in range(nz):
        out[:, :, k] = ndimage.shift(img[:, :, k], (walk[k, 0] / spacing[0], walk[k, 1] / spacing[1]), order=1, mode="nearest")
    return out, float(np.abs(walk).max())


def make_head(seed: int, config: HeadConfig | None = None) -> HeadCase:
    """One synthetic patient, deterministic in ``seed``.

    Returns
    -------
    HeadCase
        ``cta`` and ``ncct`` (int16 HU, same grid, RAS), ``clot`` (uint8 mask on
        that grid, aligned with the CTA) and ``truth`` (JSON-serialisable:
        occluded, segment, side, length_mm, volume_mm3, centroid_mm, slices,
        misregistration, noise, HU values).
    """
    cfg = config or HeadConfig()
    rng = np.random.default_rng(seed)
    p = _sample_patient(rng, cfg)
    shape, affine = _grid(cfg)
    rot = _rotation(*p["pose_rot"])
    labels, enhance = _render_labels(p, shape, affine, rot, p["pose_shift"])
    rot_n = rot @ _rotation(*p["mis_rot"])
    labels_n, enhance_n = _render_labels(p, shape, affine, rot_n, p["pose_shift"] + p["mis_shift"])
    texture = _texture(shape, p["texture_seed"])
    cta = _acquire(_hu(labels, enhance, p, texture, contrast=True), cfg.spacing, p["noise"]["cta_sigma"], p["noise_seed"])
    ncct = _acquire(_hu(labels_n, enhance_n, p, texture, contrast=False), cfg.spacing, p["noise"]["ncct_sigma"],
                    p["noise_seed"] + 1)
    motion_mm = 0.0
    if cfg.motion:
        ncct, motion_mm = _motion(ncct, cfg.spacing, p["motion_seed"])
    mask = (labels == _CLOT).astype(np.uint8)

    vox = float(np.prod(cfg.spacing))
    clot = p["clot"]
    truth: dict[str, Any] = {
        "seed": int(seed), "generator": "hounsfield.clot.phantom.make_head", "occluded": clot is not None,
        "spacing_mm": list(cfg.spacing), "shape": list(shape),
        "hu": {k: round(v, 1) for k, v in p["hu"].items()}, "noise": {k: round(v, 2) for k, v in p["noise"].items()},
        "misregistration": {"rotation_deg": [round(float(x), 3) for x in p["mis_rot"]],
                            "translation_mm": [round(float(x), 3) for x in p["mis_shift"]]},
        "motion_max_mm": round(motion_mm, 3),
        "vessel_diameters_mm": {n: round(2 * v[1], 2) for n, v in p["tree"].items()},
    }
    if clot is not None:
        seg = clot["segment"]
        line = p["tree"][seg][0]
        mid = _point_at(line, clot["start_mm"] + clot["length_mm"] / 2)
        ks = np.nonzero(mask.any(axis=(0, 1)))[0]
        idx = np.argwhere(mask)
        truth.update({
            "segment": seg.split("-")[0], "side": {"R": "right", "L": "left"}.get(seg.split("-")[-1], "midline"),
            "location": seg, "length_mm": round(clot["length_mm"], 3),
            "diameter_mm": round(2 * clot["radius_mm"], 3), "hu_ncct": round(clot["hu_ncct"], 1),
            "collateral_factor": round(clot["collateral"], 3),
            "volume_mm3": round(float(mask.sum()) * vox, 3),
            "volume_analytic_mm3": round(math.pi * clot["radius_mm"] ** 2 * clot["length_mm"], 3),
            "centroid_mm": [round(float(x), 3) for x in (affine[:3, :3] @ idx.mean(0) + affine[:3, 3])] if len(idx) else None,
            "centre_mm": [round(float(x), 3) for x in rot @ mid + p["pose_shift"]],
            "slices": [int(ks.min()), int(ks.max())] if len(ks) else None,
        })
    else:
        truth.update({"segment": None, "side": None, "location": None, "length_mm": 0.0, "volume_mm3": 0.0})

    def vol(a: np.ndarray, modality_desc: str, contrast: str | None) -> Volume:
        arr = np.clip(np.rint(a), -1024, 3071).astype(np.int16)
        meta = VolumeMeta(modality="CT", description=f"hounsfield synthetic head {modality_desc} (seed {seed})",
                          contrast=contrast, patient_id=f"HEAD{seed:06d}", thickness_mm=cfg.spacing[2],
                          increment_mm=cfg.spacing[2], source="hounsfield phantom head")
        return Volume(arr, affine.copy(), meta)

    return HeadCase(cta=vol(cta, "CTA", "arterial"), ncct=vol(ncct, "NCCT", "none"),
                    clot=Volume(mask, affine.copy(), VolumeMeta(description="clot mask (exact)")), truth=truth)


def write_head(case: HeadCase, folder: str | Path) -> Path:
    """Write ``cta.nii.gz``, ``ncct.nii.gz``, ``clot.nii.gz`` and ``truth.json`` into ``folder``."""
    from ..io import write_json, write_nifti

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_nifti(case.cta, folder / "cta.nii.gz")
    write_nifti(case.ncct, folder / "ncct.nii.gz")
    write_nifti(case.clot, folder / "clot.nii.gz")
    write_json(case.truth, folder / "truth.json")
    return folder


def write_heads(n: int, seed: int, out: str | Path, config: HeadConfig | None = None, progress: Any = None) -> list[Path]:
    """``n`` patients with seeds ``seed .. seed+n-1`` as folders ``head_<seed>`` under ``out``."""
    out = Path(out)
    written = []
    for i in range(n):
        s = seed + i
        written.append(write_head(make_head(s, config), out / f"head_{s:05d}"))
        if progress is not None:
            progress(i + 1, n)
    manifest = {"generator": "hounsfield phantom head", "seeds": [seed, seed + n - 1], "n": n,
                "config": json.loads(json.dumps((config or HeadConfig()).__dict__))}
    from ..io import write_json

    write_json(manifest, out / "phantom.json")
    return written
