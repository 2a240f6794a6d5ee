"""The heart, great vessels and coronary centrelines.

The heart is an ellipsoid in its own frame (long axis from the base,
posterior-superior-right, to the apex, anterior-inferior-left) inside a
pericardial sac filled with epicardial fat; myocardium, left/right ventricular
and atrial blood pools inside. The coronary arteries run on the epicardial
surface, in fat: the left main from the left coronary cusp of the aortic root
to its bifurcation; the LAD down the anterior interventricular groove to the
apex; the LCX round the left atrioventricular groove; the RCA from the right
cusp round the right atrioventricular groove to the crux and down the
posterior interventricular groove.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .shapes import Canvas, lut
from .tissues import O, T

__all__ = ["Heart", "layout_heart", "paint_heart", "paint_aorta"]

ARTERIES = ("LM", "LAD", "LCX", "RCA")


def _unit(v) -> np.ndarray:
    v = np.asarray(v, np.float64)
    return v / np.linalg.norm(v)


@dataclass
class Heart:
    centre: np.ndarray
    R: np.ndarray  # columns: u' (towards patient left), v (anterior-ish), a (long axis base->apex)
    A: float  # long semi-axis
    B: float  # left-right semi-axis (u')
    C: float  # antero-posterior semi-axis (v)
    root: np.ndarray  # aortic root centre
    root_r: float
    centrelines: dict[str, np.ndarray] = field(default_factory=dict)  # artery -> (n, 3) points
    vessel_r: dict[str, np.ndarray] = field(default_factory=dict)
    aorta: np.ndarray | None = None  # centreline points root -> arch -> descending -> bifurcation
    aorta_r: np.ndarray | None = None

    def surface(self, w: np.ndarray, phi: np.ndarray, out: float = 2.5) -> np.ndarray:
        """Points on the epicardial surface at long-axis position ``w`` (mm from the centre
        towards the apex) and angle ``phi`` (0 anterior, +pi/2 patient left, pi posterior),
        pushed ``out`` mm outwards into the epicardial fat."""
        w = np.asarray(w, np.float64)
        phi = np.asarray(phi, np.float64)
        rho = np.sqrt(np.clip(1 - (w / self.A) ** 2, 0.02, 1.0))
        ru, rv = (self.B + out) * rho, (self.C + out) * rho
        local = np.stack([ru * np.sin(phi), rv * np.cos(phi), w], axis=-1)
        return self.centre + local @ self.R.T

    @property
    def apex(self) -> np.ndarray:
        return self.centre + self.R[:, 2] * self.A

    @property
    def z_range(self) -> tuple[float, float]:
        ext = np.sqrt(((self.R * np.array([self.B, self.C, self.A])[None, :]) ** 2).sum(axis=1))
        return float(self.centre[2] - ext[2]), float(max(self.centre[2] + ext[2], self.root[2] + 15))


def layout_heart(params, rng: np.random.Generator, centre: np.ndarray, spine_y_fn, spine_x_fn,
                 z_bifurcation: float, z_arch: float) -> Heart:
    """Place the heart at ``centre`` and build its coronary and aortic centrelines."""
    s = params.heart_scale
    jx, jy, jz = params.heart_axis_jitter
    a = _unit([0.52 + jx, 0.58 + jy, -0.55 + jz])
    a = _unit(np.array([-abs(a[0]), abs(a[1]), -abs(a[2])]))  # apex: left, anterior, inferior
    left = np.array([-1.0, 0.0, 0.0])
    u = _unit(left - (left @ a) * a)
    v = np.cross(a, u)
    if v[1] < 0:
        v = -v
    R = np.stack([u, v, a], axis=1)
    A, B, C = 63.0 * s, 49.0 * s, 39.0 * s
    h = Heart(centre=np.asarray(centre, np.float64), R=R, A=A, B=B, C=C, root=np.zeros(3), root_r=14.0 * s)
    # aortic root: at the base, slightly right and anterior of the long axis
    h.root = h.centre + R @ np.array([-10.0 * s, 6.0 * s, -0.78 * A])
    w_av = -0.42 * A
    # left main from the left cusp to the bifurcation on the AV groove
    lm_start = h.root + R @ np.array([h.root_r * 0.9, 2.0, 4.0])
    bif = h.surface(w_av, np.deg2rad(38))
    lm_len = rng.uniform(6, 14)
    lm = np.stack([lm_start, lm_start + _unit(bif - lm_start) * lm_len])
    bif = lm[-1]
    # LAD: anterior interventricular groove from base to apex
    ws = np.linspace(w_av + 6, 0.97 * A, 40)
    phis = np.deg2rad(np.linspace(30, 15, ws.size) + rng.normal(0, 3))
    lad = np.vstack([bif, h.surface(ws, phis, out=2.0)])
    # LCX: round the left AV groove towards the posterior
    ph = np.deg2rad(np.linspace(45, rng.uniform(150, 190), 36))
    lcx = np.vstack([bif, h.surface(w_av + np.linspace(2, 8, ph.size), ph, out=3.0)])
    # RCA: right cusp -> right AV groove -> crux -> posterior descending
    rca0 = h.root + R @ np.array([-h.root_r * 0.3, h.root_r * 0.95, 6.0])
    ph = np.deg2rad(np.linspace(-15, -178, 46))
    ring = h.surface(w_av + np.linspace(0, 6, ph.size), ph, out=3.5)
    pda = h.surface(np.linspace(w_av + 10, 0.5 * A, 14), np.full(14, np.deg2rad(-185)), out=2.5)
    rca = np.vstack([rca0, ring, pda])
    h.centrelines = {"LM": lm, "LAD": lad, "LCX": lcx, "RCA": rca}
    h.vessel_r = {
        "LM": np.full(len(lm), 2.2),
        "LAD": np.linspace(1.9, 0.9, len(lad)),
        "LCX": np.linspace(1.8, 1.0, len(lcx)),
        "RCA": np.linspace(2.0, 1.0, len(rca)),
    }
    # aorta: ascending (anterior-right, up), arch (to the left and back), descending along the spine
    age = params.age
    r_asc = (15.0 + 0.06 * (age - 60)) * s
    asc0 = h.root
    asc_top = np.array([h.root[0] + 8, h.root[1] + 5, z_arch - 8])
    knob = float(getattr(params, "knob_mm", 0.0))  # opt-in (aortic.draw_knob_shift); 0 = default phantom
    desc_x = spine_x_fn(z_arch) - 22.0 - knob
    desc_y = spine_y_fn(z_arch) + 24.0
    th = np.linspace(0, np.pi, 16)
    arch_c = 0.5 * (asc_top + np.array([desc_x, desc_y, z_arch - 8]))
    half = 0.5 * (asc_top - np.array([desc_x, desc_y, z_arch - 8]))
    arch = arch_c[None, :] + np.cos(th)[:, None] * half[None, :] + np.sin(th)[:, None] * np.array([0, 0, 26.0])
    zs = np.linspace(z_arch - 30, z_bifurcation, 30)
    taper = np.clip(1.0 - (z_arch - 30 - zs) / 80.0, 0.0, 1.0) if knob else 0.0  # back to the default in 8 cm
    desc = np.stack([spine_x_fn(zs) - np.linspace(22, 12, zs.size) - knob * taper,
                     spine_y_fn(zs) + np.linspace(24, 30, zs.size), zs], axis=1)
    pts = np.vstack([asc0, asc0 + (asc_top - asc0) * 0.5, arch, desc])
    r_desc = (12.0 + 0.05 * (age - 60)) * s
    rr = np.concatenate([[r_asc * 1.05, r_asc], np.linspace(r_asc, r_desc * 1.05, arch.shape[0]),
                         np.linspace(r_desc, r_desc * 0.8, desc.shape[0])])
    h.aorta, h.aorta_r = pts, rr
    return h


def paint_heart(cv: Canvas, h: Heart, params) -> None:
    """Pericardial fat, myocardium, chambers, grooves and coronary vessels (organ HEART)."""
    R = h.R
    A, B, C = h.A, h.B, h.C
    s = params.heart_scale
    sac = (B + 5, C + 5, A + 5)
    cv.ellipsoid(T.PERICARDIUM, O.HEART, h.centre, (sac[0] + 1.2, sac[1] + 1.2, sac[2] + 1.2), R)
    cv.ellipsoid(T.FAT, O.HEART, h.centre, sac, R)
    # myocardium (clip the base flat at the AV plane + atria above it)
    cv.ellipsoid(T.MYOCARDIUM, O.HEART, h.centre, (B, C, A), R,
                 clip=lambda u, v, w, x, y, z: w > -0.45 * A)
    # atria: behind/above the AV plane
    cv.ellipsoid(T.MYOCARDIUM, O.HEART, h.centre + R @ np.array([8 * s, -14 * s, -0.55 * A]),
                 (B * 0.85, C * 0.75, A * 0.38), R)
    into_heart = lut([O.HEART])
    cv.ellipsoid(T.BLOOD, O.HEART, h.centre + R @ np.array([12 * s, -6 * s, 0.08 * A]),
                 (B * 0.48, C * 0.52, A * 0.62), R, into=into_heart)  # LV cavity
    cv.ellipsoid(T.BLOOD, O.HEART, h.centre + R @ np.array([-20 * s, 16 * s, -0.02 * A]),
                 (B * 0.45, C * 0.32, A * 0.58), R, into=into_heart)  # RV cavity
    cv.ellipsoid(T.BLOOD, O.HEART, h.centre + R @ np.array([14 * s, -18 * s, -0.6 * A]),
                 (B * 0.5, C * 0.45, A * 0.28), R, into=into_heart)  # LA
    cv.ellipsoid(T.BLOOD, O.HEART, h.centre + R @ np.array([-20 * s, -4 * s, -0.55 * A]),
                 (B * 0.42, C * 0.45, A * 0.3), R, into=into_heart)  # RA
    # epicardial fat in the grooves, then the vessels
    fat_into = lut([O.HEART])
    for art, pts in h.centrelines.items():
        cv.tube(T.FAT, O.HEART, pts, 5.5 if art != "LM" else 4.0, into=fat_into)
    lumen = T.BLOOD
    for art, pts in h.centrelines.items():
        cv.tube(T.VESSEL_WALL, O.HEART, pts, h.vessel_r[art] + 0.6)
        cv.tube(lumen, O.HEART, pts, h.vessel_r[art])


def paint_aorta(cv: Canvas, h: Heart) -> None:
    """The aorta as a tube (organ AORTA): wall and blood."""
    cv.tube(T.VESSEL_WALL, O.AORTA, h.aorta, h.aorta_r + 1.5)
    cv.tube(T.BLOOD, O.AORTA, h.aorta, h.aorta_r)
