"""Calcified plaques: sampling, and exact rendering onto a CT grid.

A plaque is an ellipsoid of calcium hydroxyapatite of density ``d`` (mg/cm^3)
lying in a vessel wall. It is described at high resolution (0.2 mm cells) in
a small sub-volume and mapped onto the coarse output grid by a separable
linear operator: in-plane a Gaussian point-spread function, along z the
slice-sensitivity profile (a box of the slice thickness smoothed by a
Gaussian), sampled at each voxel centre. So a small plaque's peak HU and area
fall with thicker slices and softer kernels exactly as on real scanners
(partial volume), and a non-gated scan's cardiac motion is a blur along the
plaque's motion vector (the average of displaced copies).

HU of calcium above the vessel wall: ``d / (1000 c)`` with the mass
calibration factor ``c`` = :data:`MASS_CALIBRATION` mg/(HU mm^3) (QRM phantom
values at 120 kVp: 200 mg/cm^3 ~ 235 HU).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import erf

__all__ = ["Plaque", "MASS_CALIBRATION", "CALCIUM_LABELS", "ALL_CALCIUM_LABELS", "plaque_occupancy", "sample_plaques", "sample_distractors",
           "render_plaques"]

#: mg / (HU mm^3): calcium-hydroxyapatite density per HU (120 kVp)
MASS_CALIBRATION = 0.00085
#: label values of the all-calcium map (1-4 coronary, 5-7 distractors)
CALCIUM_LABELS = {"LM": 1, "LAD": 2, "LCX": 3, "RCA": 4, "aorta": 5, "aortic_valve": 6, "mitral_annulus": 7}
#: with the opt-in kinds (8: costal cartilage, cartilage.py), used only by phantoms that have them
ALL_CALCIUM_LABELS = {**CALCIUM_LABELS, "costal_cartilage": 8}
#: orCaScore labels: 1 LAD (incl. LM), 2 LCX, 3 RCA
ORCASCORE = {"LM": 1, "LAD": 1, "LCX": 2, "RCA": 3}
_WALL_HU = 40.0


@dataclass
class Plaque:
    kind: str  # LM, LAD, LCX, RCA, aorta, aortic_valve, mitral_annulus, costal_cartilage
    centre: np.ndarray
    axes: np.ndarray  # 3x3, columns unit vectors
    radii: np.ndarray  # semi-axes (mm)
    density: float  # mg HA / cm^3
    motion: np.ndarray = field(default_factory=lambda: np.zeros(3))  # non-gated blur vector (mm)

    @property
    def volume_mm3(self) -> float:
        return float(4.0 / 3.0 * np.pi * np.prod(self.radii))

    @property
    def mass_mg(self) -> float:
        return self.volume_mm3 * self.density / 1000.0

    @property
    def hu(self) -> float:
        """HU of the calcium itself (absolute, ``density / (1000 c)``)."""
        return self.density / 1000.0 / MASS_CALIBRATION

    @property
    def coronary(self) -> bool:
        return self.kind in ORCASCORE

    def to_dict(self) -> dict:
        return {"artery": self.kind, "centre_mm": [round(float(v), 3) for v in self.centre],
                "diameters_mm": [round(2 * float(r), 3) for r in self.radii],
                "density_mg_cm3": round(self.density, 1), "hu": round(self.hu, 1),
                "volume_mm3": round(self.volume_mm3, 4), "mass_mg": round(self.mass_mg, 5),
                "motion_mm": [round(float(v), 2) for v in self.motion]}


def _frame(t: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = t / np.linalg.norm(t)
    a = rng.normal(size=3)
    n = a - (a @ t) * t
    n /= np.linalg.norm(n)
    return t, n, np.cross(t, n)


def _at(pts: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray, int]:
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    cum = np.r_[0, np.cumsum(seg)]
    d = s * cum[-1]
    i = int(np.clip(np.searchsorted(cum, d) - 1, 0, len(seg) - 1))
    f = (d - cum[i]) / max(seg[i], 1e-9)
    return pts[i] + f * (pts[i + 1] - pts[i]), pts[i + 1] - pts[i], i


_MOTION = {"LM": 1.0, "LAD": 2.0, "LCX": 2.0, "RCA": 3.5}


def sample_plaques(params, heart, rng: np.random.Generator) -> list[Plaque]:
    """Coronary plaques for a patient's CAC burden (none when the burden is 0).

    Count grows with burden (1 to ~30), proximal segments are favoured, and
    each plaque's volume is about its share of the burden (Agatston ~ volume
    for dense plaques on 3 mm slices); diameters 0.5-10 mm, density
    150-1000 mg/cm^3 (denser for larger plaques).
    """
    burden = params.cac_burden
    if burden <= 0:
        return []
    n = int(np.clip(round(1 + 1.3 * np.log2(1 + burden / 12) + rng.normal(0, 0.8)), 1, 32))
    arts = rng.choice(["LM", "LAD", "LCX", "RCA"], size=n, p=[0.1, 0.45, 0.18, 0.27])
    shares = rng.dirichlet(np.full(n, 1.5)) * burden
    out: list[Plaque] = []
    placed: dict[str, list[tuple[float, float]]] = {}  # artery -> (arc position mm, half length)
    for art, share in zip(arts, shares):
        pts = heart.centrelines[art]
        length = float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())
        vol = float(np.clip(share * rng.lognormal(0, 0.35) * 0.9, 0.08, 520))
        shape = np.array([1.7, 0.65, 1.0]) * rng.lognormal(0, 0.15, 3)
        k = (vol / (4 / 3 * np.pi * np.prod(shape))) ** (1 / 3)
        radii = np.clip(shape * k, 0.25, 5.0)
        # plaques of one artery never overlap (their physical volumes add up exactly)
        for _ in range(40):
            s = float(rng.beta(1.2, 2.6)) if art != "LM" else float(rng.uniform(0.1, 0.9))
            if all(abs(s * length - q) > radii[0] + h + 0.8 for q, h in placed.get(art, [])):
                break
        else:
            continue
        placed.setdefault(art, []).append((s * length, float(radii[0])))
        c, t, i = _at(pts, s)
        t, nrm, b = _frame(t, rng)
        vr = float(heart.vessel_r[art][i])
        dens = float(np.clip(rng.normal(300 + 140 * np.log10(1 + vol), 90), 140, 1050))
        centre = c + nrm * (vr * 0.6)
        amp = _MOTION[art] * rng.uniform(0.6, 1.4)
        mdir = rng.normal(size=3) * np.array([1, 1, 0.5])
        out.append(Plaque(kind=str(art), centre=centre, axes=np.stack([t, nrm, b], axis=1), radii=radii,
                          density=dens, motion=mdir / np.linalg.norm(mdir) * amp))
    return out


def sample_distractors(params, heart, rng: np.random.Generator) -> list[Plaque]:
    """Aortic wall, aortic valve and mitral annulus calcification (not coronary)."""
    out: list[Plaque] = []
    age = params.age
    if rng.random() < np.clip((age - 40) / 45, 0.05, 0.9):
        for _ in range(int(rng.integers(1, 12))):
            c, t, i = _at(heart.aorta, float(rng.uniform(0.1, 1.0)))
            t, nrm, b = _frame(t, rng)
            r = float(heart.aorta_r[i])
            radii = np.array([rng.uniform(1, 6), rng.uniform(0.4, 1.2), rng.uniform(1, 5)])
            out.append(Plaque("aorta", c + nrm * (r + 0.5), np.stack([t, nrm, b], axis=1), radii,
                              float(rng.uniform(250, 900))))
    if rng.random() < 0.15 + 0.004 * max(0, age - 60):
        for _ in range(int(rng.integers(1, 5))):
            ang = rng.uniform(0, 2 * np.pi)
            R = heart.R
            off = R @ np.array([np.cos(ang) * heart.root_r * 0.8, np.sin(ang) * heart.root_r * 0.8, 2.0])
            t, nrm, b = _frame(R[:, 2], rng)
            out.append(Plaque("aortic_valve", heart.root + off, np.stack([t, nrm, b], axis=1),
                              np.array([rng.uniform(0.8, 3), rng.uniform(0.8, 2.5), rng.uniform(0.8, 3)]),
                              float(rng.uniform(300, 900))))
    if rng.random() < 0.08 + 0.004 * max(0, age - 60):
        phis = np.deg2rad(rng.uniform(100, 200, int(rng.integers(1, 4))))
        for ph in phis:
            c = heart.surface(np.array(-0.42 * heart.A + 4), np.array(ph), out=-6.0)
            t, nrm, b = _frame(np.cross(heart.R[:, 2], c - heart.centre), rng)
            out.append(Plaque("mitral_annulus", c, np.stack([t, nrm, b], axis=1),
                              np.array([rng.uniform(2, 7), rng.uniform(1, 2.5), rng.uniform(1, 2.5)]),
                              float(rng.uniform(300, 900))))
    return out


def plaque_occupancy(p: Plaque, fine: float = 0.2) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                               np.ndarray, np.ndarray]:
    """The plaque's ellipsoid on a ``fine`` grid: ``(lo, hi, fx, fy, fz, occ)``.

    ``lo``/``hi``: world corners of the grid box; ``fx, fy, fz``: cell centres; ``occ``: cells inside,
    scaled so that ``occ.sum() * fine**3`` is the exact physical volume (a plaque smaller than a cell
    is one cell at the centre).
    """
    ext = np.sqrt(((p.axes * p.radii[None, :]) ** 2).sum(axis=1))
    lo, hi = p.centre - ext - fine, p.centre + ext + fine
    fx = np.arange(lo[0], hi[0] + fine, fine)
    fy = np.arange(lo[1], hi[1] + fine, fine)
    fz = np.arange(lo[2], hi[2] + fine, fine)
    X = (fx - p.centre[0])[:, None, None]
    Y = (fy - p.centre[1])[None, :, None]
    Z = (fz - p.centre[2])[None, None, :]
    q = 0.0
    for k in range(3):
        a = p.axes[:, k]
        q = q + ((a[0] * X + a[1] * Y + a[2] * Z) / p.radii[k]) ** 2
    occ = (q <= 1.0).astype(np.float64)
    if not occ.any():  # tiny plaque: one cell at the centre
        occ[occ.shape[0] // 2, occ.shape[1] // 2, occ.shape[2] // 2] = 1.0
    occ *= p.volume_mm3 / (occ.sum() * fine ** 3)  # exact physical volume
    return lo, hi, fx, fy, fz, occ


def _weights(coarse: np.ndarray, fine: np.ndarray, h: float, sigma: float, box: float) -> np.ndarray:
    """W[i, f] = h * K(coarse_i - fine_f), K = box(width ``box``) * Gaussian(``sigma``), integral 1."""
    t = coarse[:, None] - fine[None, :]
    if box <= 0:
        return h * np.exp(-0.5 * (t / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
    s2 = sigma * np.sqrt(2)
    return h * 0.5 * (erf((t + box / 2) / s2) - erf((t - box / 2) / s2)) / box


def render_plaques(plaques: list[Plaque], x: np.ndarray, y: np.ndarray, z: np.ndarray, *, thickness: float,
                   psf_sigma: float, motion: bool, fine: float = 0.2, n_motion: int = 7,
                   ) -> list[tuple[tuple[slice, slice, slice], np.ndarray] | None]:
    """Per plaque (same order), the coarse-grid box and its HU contribution above the vessel
    wall, or None when the plaque does not reach the grid.

    ``x, y, z``: voxel-centre coordinates of the output grid (``z`` = slice
    centres). The z profile is a box of ``thickness`` smoothed by a Gaussian
    of 0.15 x thickness; in-plane the PSF is Gaussian with ``psf_sigma`` mm.
    """
    out = []
    sz = 0.15 * thickness
    for p in plaques:
        lo, hi, fx, fy, fz, occ = plaque_occupancy(p, fine)
        mv = p.motion if motion else np.zeros(3)
        reach = 3.5 * psf_sigma + np.abs(mv) / 2 + fine
        zreach = thickness / 2 + 3 * sz + abs(mv[2]) / 2 + fine
        i0, i1 = np.searchsorted(x, lo[0] - reach[0]), np.searchsorted(x, hi[0] + reach[0], "right")
        j0, j1 = np.searchsorted(y, lo[1] - reach[1]), np.searchsorted(y, hi[1] + reach[1], "right")
        k0, k1 = np.searchsorted(z, lo[2] - zreach), np.searchsorted(z, hi[2] + zreach, "right")
        if i1 <= i0 or j1 <= j0 or k1 <= k0:
            out.append(None)
            continue
        cx, cy, cz = x[i0:i1], y[j0:j1], z[k0:k1]
        shifts = [np.zeros(3)] if not np.any(mv) else [mv * f for f in np.linspace(-0.5, 0.5, n_motion)]
        acc = np.zeros((cx.size, cy.size, cz.size))
        for d in shifts:
            wx = _weights(cx, fx + d[0], fine, psf_sigma, 0)
            wy = _weights(cy, fy + d[1], fine, psf_sigma, 0)
            wz = _weights(cz, fz + d[2], fine, sz, thickness)
            t = np.tensordot(wx, occ, axes=(1, 0))
            t = np.tensordot(wy, t, axes=(1, 1))  # (cy, cx, fz)
            t = np.tensordot(t, wz, axes=(2, 1))  # (cy, cx, cz)
            acc += np.transpose(t, (1, 0, 2))
        acc *= (p.hu - _WALL_HU) / len(shifts)
        out.append(((slice(i0, i1), slice(j0, j1), slice(k0, k1)), acc.astype(np.float32)))
    return out
