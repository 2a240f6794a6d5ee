"""The spine from C7 to the sacrum: layout (heights, curves, tilts) and painting.

Vertebral body heights follow anatomical series (thoracic ~17 mm at T1
growing to ~24 mm at T12, lumbar ~25.5-27.5 mm; discs 4.5-11 mm), scaled by
the patient's stature. The sagittal curves (thoracic kyphosis, lumbar
lordosis) and a small scoliosis move each body's centre and tilt its axis.
Each vertebra is a cortical shell (~1.2 mm) around cancellous bone, with
pedicles, laminae, spinous and transverse processes and articular processes
built from capsules in the vertebra's own frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .shapes import Canvas, lut
from .tissues import O, T, verse_number

__all__ = ["Vertebra", "Spine", "layout_spine", "paint_spine"]


@dataclass
class Vertebra:
    """One vertebra (or the sacrum's S1 body for ``name == 'S1'``)."""

    name: str
    number: int  # VerSe label
    centre: np.ndarray  # vertebral-body centre, world RAS mm
    R: np.ndarray  # 3x3, columns u (right), v (anterior), w (superior along the body axis)
    height: float
    a: float  # body half-width (x)
    b: float  # body half-depth (y)
    disc_below: float
    canal: tuple[float, float] = (9.0, 7.5)  # half-axes of the spinal canal (u, v)
    tp_len: float = 20.0
    tp_angle: float = 0.3  # radians, posterior sweep of the transverse processes
    sp_len: float = 30.0
    sp_angle: float = 0.3  # radians below horizontal
    pedicle_r: float = 4.0
    extras: dict = field(default_factory=dict)

    @property
    def region(self) -> str:
        return self.name[0]

    def to_world(self, p_local: np.ndarray) -> np.ndarray:
        return self.centre + np.asarray(p_local, np.float64) @ self.R.T

    @property
    def canal_centre_local(self) -> np.ndarray:
        return np.array([0.0, -(self.b + self.canal[1] + 1.0), 0.0])

    @property
    def tp_tips(self) -> tuple[np.ndarray, np.ndarray]:
        """World positions of the right and left transverse-process tips."""
        vc = self.canal_centre_local[1]
        ru = self.canal[0] + 3.0
        tips = []
        for s in (1.0, -1.0):
            tips.append(self.to_world([s * (ru + self.tp_len * np.cos(self.tp_angle)),
                                       vc - self.tp_len * np.sin(self.tp_angle), 0.1 * self.height]))
        return tips[0], tips[1]


@dataclass
class Spine:
    vertebrae: list[Vertebra]
    y_fn: object  # z -> y of the spinal axis (body centres)
    x_fn: object
    y0: float = 0.0  # y of the axis before the sagittal curves

    def by_name(self, name: str) -> Vertebra | None:
        for v in self.vertebrae:
            if v.name == name:
                return v
        return None

    def z_of(self, name: str) -> float:
        v = self.by_name(name)
        if v is None:
            raise KeyError(name)
        return float(v.centre[2])


def _interp(frac: float, table: list[tuple[float, float]]) -> float:
    xs, ys = zip(*table)
    return float(np.interp(frac, xs, ys))


# per-level dimensions over a normalised index: 0 = C7, 1 = T1 ... 12 = T12, 13 = L1 ... 17 = L5
_H = [(0, 14.0), (1, 17.0), (12, 24.0), (13, 25.0), (17, 27.0), (18, 27.0)]
_A = [(0, 11.0), (1, 13.0), (6, 15.0), (12, 20.0), (13, 21.0), (15, 23.0), (17, 25.0), (18, 25.5)]
_B = [(0, 8.0), (1, 8.5), (6, 12.0), (12, 14.0), (13, 15.0), (15, 16.0), (17, 16.5), (18, 16.5)]
_DISC = [(0, 5.0), (1, 4.5), (12, 7.0), (13, 7.5), (14, 8.5), (17, 9.5), (18, 10.0)]
_CU = [(0, 11.0), (1, 8.5), (6, 7.5), (12, 9.0), (13, 10.0), (15, 11.0), (17, 12.0), (18, 12.0)]
_CV = [(0, 7.0), (1, 7.0), (12, 8.0), (17, 8.5), (18, 8.5)]
_TPL = [(0, 16.0), (1, 24.0), (6, 24.0), (10, 18.0), (12, 10.0), (13, 16.0), (15, 28.0), (16, 25.0), (17, 22.0), (18, 22.0)]
_TPA = [(0, 0.1), (1, 0.5), (10, 0.5), (12, 0.2), (13, 0.05), (18, 0.05)]
_SPL = [(0, 40.0), (1, 40.0), (6, 42.0), (12, 32.0), (13, 32.0), (17, 24.0), (18, 24.0)]
_SPA = [(0, 0.35), (1, 0.8), (6, 1.05), (10, 0.8), (12, 0.35), (13, 0.12), (18, 0.05)]


def layout_spine(params, rng: np.random.Generator, z_s1_top: float, y0: float, x0: float) -> Spine:
    """Stack the vertebrae from the top of S1 (``z_s1_top``) upwards and bend them.

    ``y0``/``x0``: y and x of the body centres at the thoraco-lumbar junction
    before curvature. Returns a :class:`Spine` with VerSe-named vertebrae from
    C7 down to S1 (T13 / L6 when the patient has that transitional anatomy).
    """
    n_thor = 13 if params.transitional == "T13" else 12
    n_lumb = 6 if params.transitional == "L6" else 5
    names = ["C7"] + [f"T{i}" for i in range(1, 13)] + (["T13"] if n_thor == 13 else []) \
        + [f"L{i}" for i in range(1, n_lumb + 1)]
    # normalised index: thoracic mapped into 1..12, lumbar into 13..17
    idx = []
    for nm in names:
        if nm == "C7":
            idx.append(0.0)
        elif nm[0] == "T":
            idx.append(1 + (int(nm[1:]) - 1) * 11.0 / (n_thor - 1))
        else:
            idx.append(13 + (int(nm[1:]) - 1) * 4.0 / (n_lumb - 1))
    s = params.stature
    jit = rng.normal(1.0, 0.03, len(names))
    heights = np.array([_interp(f, _H) for f in idx]) * s * jit
    discs = np.array([_interp(f, _DISC) for f in idx]) * s * rng.normal(1.0, 0.06, len(names))
    if params.transitional == "sacralised_L5":
        discs[-1] = 3.0
    # stack from the bottom (last name) upwards
    zc = np.zeros(len(names))
    z = z_s1_top
    for i in range(len(names) - 1, -1, -1):
        z += discs[i]
        zc[i] = z + heights[i] / 2
        z += heights[i]
    zmap = dict(zip(names, zc))
    z_l3 = 0.5 * (zmap["L3"] + zmap["L4"])
    z_t7 = zmap["T7"]
    amp_l, amp_k = params.lordosis_mm, params.kyphosis_mm
    sc, ph = params.scoliosis_mm, rng.uniform(0, 2 * np.pi)

    def y_fn(zz):
        zz = np.asarray(zz, np.float64)
        return (y0 + amp_l * np.exp(-((zz - z_l3) / 75.0) ** 2) - amp_k * np.exp(-((zz - z_t7) / 115.0) ** 2)
                + 10.0 * np.exp(-((zz - zmap["C7"] - 40) / 50.0) ** 2))

    def x_fn(zz):
        zz = np.asarray(zz, np.float64)
        return x0 + sc * np.sin(2 * np.pi * (zz - z_s1_top) / 420.0 + ph) * np.clip((zz - z_s1_top) / 120.0, 0, 1)

    verts: list[Vertebra] = []
    for i, nm in enumerate(names):
        f = idx[i]
        c = np.array([float(x_fn(zc[i])), float(y_fn(zc[i])), zc[i]])
        dy = float((y_fn(zc[i] + 2) - y_fn(zc[i] - 2)) / 4)
        dx = float((x_fn(zc[i] + 2) - x_fn(zc[i] - 2)) / 4)
        w = np.array([dx, dy, 1.0])
        w /= np.linalg.norm(w)
        u = np.array([1.0, 0.0, 0.0]) - w[0] * w
        u /= np.linalg.norm(u)
        v = np.cross(w, u)
        R = np.stack([u, v, w], axis=1)
        vt = Vertebra(
            name=nm, number=verse_number(nm), centre=c, R=R, height=float(heights[i]),
            a=_interp(f, _A) * params.width ** 0.3 * s, b=_interp(f, _B) * s, disc_below=float(discs[i]),
            canal=(_interp(f, _CU) * s, _interp(f, _CV) * s), tp_len=_interp(f, _TPL) * s,
            tp_angle=_interp(f, _TPA), sp_len=_interp(f, _SPL) * s, sp_angle=_interp(f, _SPA),
            pedicle_r=(3.5 if nm[0] != "L" else 4.5) * s,
        )
        if nm == "L5" and params.transitional == "sacralised_L5":
            vt.tp_len = 42.0 * s
            vt.extras["sacralised"] = True
        verts.append(vt)
    # S1 (the sacrum's first body): tilted by the sacral slope
    last = verts[-1]
    slope = np.deg2rad(rng.uniform(32, 45))
    w = np.array([0.0, np.sin(slope), np.cos(slope)])
    u = np.array([1.0, 0.0, 0.0])
    v = np.cross(w, u)
    R = np.stack([u, v, w], axis=1)
    h1 = 25.0 * s
    top = last.centre - last.R[:, 2] * (last.height / 2 + last.disc_below)
    c = top - w * h1 / 2 + np.array([0, -4.0, 0])
    verts.append(Vertebra(name="S1", number=verse_number("S1"), centre=c, R=R, height=h1, a=25.0 * s,
                          b=17.0 * s, disc_below=0.0, canal=(13.0 * s, 6.0 * s), tp_len=0.0, sp_len=18.0 * s,
                          sp_angle=0.5, pedicle_r=5.0 * s, extras={"slope_rad": float(slope)}))
    return Spine(vertebrae=verts, y_fn=y_fn, x_fn=x_fn, y0=float(y0))


def _body(cv: Canvas, vt: Vertebra, a: float, b: float, h: float, tissue: int, organ: int,
          offset_w: float = 0.0, p: float = 2.3, into=None) -> None:
    ext = np.abs(vt.R) @ np.array([a, b, h / 2]) + 1.0
    c = vt.centre + vt.R[:, 2] * offset_w
    sl = cv.box(c - ext, c + ext)
    if sl is None:
        return
    u, v, w = cv.local(sl, c, vt.R)
    # superquadric: elliptic cross-section, flat end plates with rounded rims
    m = (np.abs(u) / a) ** p + (np.abs(v) / b) ** p + (np.abs(w) / (h / 2)) ** 8 <= 1.0
    cv.paint(sl, m, tissue, organ, into)


def _caps(cv: Canvas, vt: Vertebra, segs: list[tuple[list[float], list[float], float]], tissue: int,
          organ: int) -> None:
    for p0, p1, r in segs:
        cv.tube(tissue, organ, np.stack([vt.to_world(p0), vt.to_world(p1)]), r)


def _posterior(cv: Canvas, vt: Vertebra) -> None:
    h, b = vt.height, vt.b
    cu, cvv = vt.canal
    vc = vt.canal_centre_local[1]
    ru = cu + 1.5
    pr = vt.pedicle_r
    lam = 3.0 if vt.region != "L" else 3.5
    segs = []
    stack = (-0.18 * h, 0.18 * h) if vt.region in "LS" else (0.0,)
    for s in (1.0, -1.0):
        for dw in stack:
            segs.append(([s * ru, -b + 2.0, dw], [s * ru, vc, dw], pr))  # pedicle
            segs.append(([s * ru, vc, dw], [s * 1.0, vc - cvv - 2.5, dw - 0.1 * h], lam))  # lamina
        tl, ta = vt.tp_len, vt.tp_angle
        if tl > 0:
            segs.append(([s * (ru + 1.0), vc, 0.1 * h],
                          [s * (ru + 1.0 + tl * np.cos(ta)), vc - tl * np.sin(ta), 0.1 * h],
                          3.5 if vt.region != "L" else 3.0))
        # articular processes (the facet columns seen in frontal MIPs)
        segs.append(([s * (ru + 1.0), vc - 2.0, 0.0], [s * (ru + 2.5), vc - 4.0, h / 2 + 3.5], 3.2))
        segs.append(([s * (ru + 1.0), vc - 2.0, 0.0], [s * (ru + 0.5), vc - 7.0, -h / 2 - 3.5], 3.2))
    sp0 = np.array([0.0, vc - cvv - 2.5, -0.1 * h])
    sp1 = sp0 + np.array([0.0, -vt.sp_len * np.cos(vt.sp_angle), -vt.sp_len * np.sin(vt.sp_angle)])
    segs.append((list(sp0), list(sp1), 3.5 if vt.region != "L" else 4.0))
    if vt.region == "L":
        segs.append((list(sp0 + [0, 0, -7]), list(sp1 + [0, 0, -7]), 3.5))
    _caps(cv, vt, segs, T.POSTERIOR, vt.number)


def _sacrum(cv: Canvas, s1: Vertebra, params) -> None:
    s = params.stature
    n = s1.number
    # body segments S1..S5 curving posteriorly, shrinking
    dims = [(25, 17, 25), (20, 13, 21), (16, 10, 17), (12, 8, 14), (9, 6, 12), (6, 5, 10)]
    c = s1.centre.copy()
    R = s1.R.copy()
    bend = np.deg2rad(14)
    for k, (a, b, h) in enumerate(dims):
        a, b, h = a * s, b * s, h * s
        vt = Vertebra(name="S", number=n, centre=c, R=R, height=h, a=a, b=b, disc_below=0)
        _body(cv, vt, a, b, h, T.CORTICAL, n)
        _body(cv, vt, a - 1.5, b - 1.5, h - 2.5, T.CANCELLOUS, n)
        if k < 2:  # alae, the wings reaching the sacro-iliac joints
            for sd in (1.0, -1.0):
                ca = vt.to_world([sd * (a + 17 * s), -4.0 * s, -3.0 * s])
                cv.ellipsoid(T.CORTICAL, n, ca, (22 * s, 15 * s, 24 * s - 4 * k), R)
                cv.ellipsoid(T.CANCELLOUS, n, ca, (20 * s, 13 * s, 22 * s - 4 * k), R)
        # dorsal plate behind the sacral canal
        cv.ellipsoid(T.POSTERIOR, n, vt.to_world([0, -b - 11 * s, 0]), (a * 0.9, 4.0 * s, h * 0.45), R)
        # next segment: step down along -w, rotate about u (sacral kyphosis)
        c = c - R[:, 2] * (h / 2 + dims[min(k + 1, len(dims) - 1)][2] * s / 2 + 1.0)
        cb, sb = np.cos(bend), np.sin(bend)
        rot = np.array([[1, 0, 0], [0, cb, -sb], [0, sb, cb]])
        R = R @ rot.T
    cv.tube(T.FLUID, O.SPINAL_CANAL, np.stack([s1.to_world([0, -s1.b - 5 * s, 10]),
                                               s1.to_world([0, -s1.b - 6 * s, -40 * s])]), 5.0 * s,
            into=lut([O.SACRUM, 0, O.VAT, O.MUSCLE_BACK, O.MUSCLE_WALL, O.SAT]))


def paint_spine(cv: Canvas, spine: Spine, params) -> None:
    """Paint discs, bodies, posterior elements, the spinal canal and the sacrum."""
    verts = [v for v in spine.vertebrae if v.name != "S1"]
    s1 = spine.vertebrae[-1]
    for vt in verts:
        # disc below: between this body and the next one down
        d = vt.disc_below
        if d > 0.5:
            _body(cv, vt, vt.a * 0.97, vt.b * 0.97, d + 1.0, T.DISC, O.DISC, offset_w=-(vt.height + d) / 2)
    for vt in verts:
        _posterior(cv, vt)
    for vt in verts:
        _body(cv, vt, vt.a, vt.b, vt.height, T.CORTICAL, vt.number)
        _body(cv, vt, vt.a - 1.3, vt.b - 1.3, vt.height - 2.2, T.CANCELLOUS, vt.number)
    _sacrum(cv, s1, params)
    # spinal canal: CSF/cord tube through the canal centres (never over bone)
    pts = np.stack([vt.to_world(vt.canal_centre_local) for vt in verts])
    top = verts[0].to_world(verts[0].canal_centre_local + [0, 0, 60])
    pts = np.vstack([top, pts])
    r = np.array([verts[0].canal[1]] + [vt.canal[1] for vt in verts]) * 0.95
    cv.tube(T.FLUID, O.SPINAL_CANAL, pts, r, into_tissue=lut([T.AIR, T.FAT, T.MUSCLE, T.LUNG, T.SKIN, T.DISC,
                                                              T.BOWEL, T.BLOOD, T.VESSEL_WALL]))

