"""Ribs, costal cartilages, sternum, clavicles, scapulae, pelvis and femora.

Rib ``n`` leaves vertebra T``n`` (head at the body, tubercle at the tip of the
transverse process), sweeps round the chest wall on the rib-cage ellipse of
its level and descends towards its anterior end; ribs 1-7 reach the sternum
through costal cartilage, 8-10 end in cartilage on the costal margin, 11 and
12 float (12 is short). A patient with a 13th thoracic vertebra has 13 pairs.
The iliac wings are curved plates whose crests reach the L4/L5 level.
"""

from __future__ import annotations

import numpy as np

from .shapes import Canvas, lut
from .spine import Spine
from .tissues import O, T

__all__ = ["paint_ribs", "paint_sternum_girdle", "paint_pelvis"]

#: per rib: fraction of the cage, anterior end angle (rad from posterior midline), descent (mm)
_END = [2.45, 2.55, 2.55, 2.55, 2.55, 2.5, 2.45, 2.25, 2.05, 1.85, 1.35, 0.95, 0.8]
_DROP = [22, 40, 55, 65, 72, 78, 80, 80, 76, 66, 50, 30, 20]


def _rib_paths(spine: Spine, body, params) -> list[tuple[int, int, np.ndarray, np.ndarray | None]]:
    """(rib number, side, bony centreline points, cartilage points or None)."""
    out = []
    thor = [v for v in spine.vertebrae if v.name[0] == "T"]
    n = len(thor)
    sternum_x = body.xc
    for i, vt in enumerate(thor):
        k = min(i, len(_END) - 1) if n <= 12 else [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12][i]
        end = _END[k] if not (n == 12 and i == 11) else _END[11]
        if n == 13 and i >= 11:
            end = _END[11] if i == 11 else _END[12]
        drop = _DROP[min(k, len(_DROP) - 1)] * params.stature
        z_head = vt.centre[2] + 0.35 * vt.height
        xc, yc, Rx, Ry = body.cage(z_head)
        Rx = float(Rx) + 4.0
        Ry = float(Ry) + 3.0
        for side, tip in ((1, vt.tp_tips[0]), (-1, vt.tp_tips[1])):
            head = vt.to_world([side * vt.a * 0.85, -vt.b * 0.55, 0.4 * vt.height])
            x_tip = abs(tip[0] - xc)
            th0 = float(np.arcsin(np.clip(x_tip / Rx, 0, 0.95)))
            th = np.linspace(th0, end, 16)
            frac = (th - th0) / max(end - th0, 1e-3)
            x = xc + side * Rx * np.sin(th)
            y = yc - Ry * np.cos(th)
            # ribs 1-2 are tighter and steeper anteriorly
            z = z_head - drop * frac ** 1.3
            pts = np.vstack([head, tip + np.array([0, -3.0, 0]), np.stack([x, y, z], axis=1)])
            cart = None
            if k <= 6:  # true ribs: cartilage to the sternum edge
                zs = z[-1] - 4.0 * (k > 2)
                ys = yc + Ry - 6.0
                cart = np.stack([pts[-1], [sternum_x + side * 14.0, ys, zs]])
            elif k <= 9:
                cart = np.stack([pts[-1], pts[-1] + [-side * 35.0, 10.0, 30.0]])
            out.append((i + 1, side, pts, cart))
    return out


def paint_ribs(cv: Canvas, spine: Spine, body, params) -> int:
    """Paint all ribs; returns the number of rib pairs."""
    not_spine = lut([o for o in range(256) if not (1 <= o <= 28)])
    paths = _rib_paths(spine, body, params)
    s = params.stature
    for num, side, pts, cart in paths:
        r = np.full(len(pts), 5.0 * s)
        r[:2] = 4.2 * s
        if num == 1:
            r[:] = 5.5 * s
        cv.tube(T.CORTICAL, O.RIB, pts, r, into=not_spine)
        cv.tube(T.MARROW, O.RIB, pts, r - 1.6, into=lut([O.RIB]))
        if cart is not None:
            cv.tube(T.CARTILAGE, O.COSTAL_CARTILAGE, cart, 4.5 * s, into=not_spine)
    return len(paths) // 2


def paint_sternum_girdle(cv: Canvas, spine: Spine, body, params) -> None:
    """Sternum, clavicles and scapulae."""
    s = params.stature
    t2 = spine.z_of("T2")
    t10 = spine.z_of("T9") - 10
    z_top = t2 + 8
    xc = body.xc

    def ys(z):
        _, yc, _, ry = body.cage(z)
        return yc + ry - 2.0

    hw = lambda z: np.where(z > t2 - 45, 27.0 * s, 16.0 * s)  # manubrium wider
    cv.cylinder(T.CORTICAL, O.STERNUM, xc, ys, hw, 7.0 * s, t10, z_top)
    cv.cylinder(T.MARROW, O.STERNUM, xc, ys, lambda z: hw(z) - 1.8, 5.2 * s, t10 + 2, z_top - 2,
                into=lut([O.STERNUM]))
    # clavicles: manubrium -> lateral, posterior, slightly up
    for side in (1, -1):
        y0 = float(ys(z_top)) - 4
        pts = np.array([[xc + side * 22, y0, z_top + 2], [xc + side * 70, y0 - 5, z_top + 10],
                        [xc + side * 120, y0 - 30, z_top + 16], [xc + side * 150, y0 - 60, z_top + 20]])
        cv.tube(T.CORTICAL, O.CLAVICLE, pts, 7.0 * s)
        cv.tube(T.MARROW, O.CLAVICLE, pts, 5.0 * s, into=lut([O.CLAVICLE]))
    # scapulae: curved plates behind ribs 2-7, glenoid and spine near the top
    z_hi, z_lo = spine.z_of("T1") + 5, spine.z_of("T7") - 10

    def cyf(z):
        return body.cage(z)[1]

    for side in (1, -1):
        rx = lambda z: body.cage(z)[2] + 16.0
        ry = lambda z: body.cage(z)[3] + 16.0
        t0 = lambda z: 0.35 + 0.35 * np.clip((z_hi - z) / (z_hi - z_lo), 0, 1)
        t1 = lambda z: 1.25 - 0.55 * np.clip((z_hi - z) / (z_hi - z_lo), 0, 1)
        th = lambda z: np.full(np.shape(z), 3.0 * s)  # thin blade: faint in MIPs, as on real scans
        cv.shell_arc(T.POSTERIOR, O.SCAPULA, xc, cyf, rx, ry, t0, t1, th, z_lo, z_hi, side,
                     into=lut([O.SAT, O.MUSCLE_WALL, O.MUSCLE_BACK, 0]))
        xg, yg = body.cage(z_hi)[0] + side * (body.cage(z_hi)[2] + 20), body.cage(z_hi)[1]
        cv.ellipsoid(T.CORTICAL, O.SCAPULA, (xg, yg, z_hi - 10), (12 * s, 14 * s, 18 * s))
        cv.ellipsoid(T.MARROW, O.SCAPULA, (xg, yg, z_hi - 10), (10 * s, 12 * s, 16 * s), into=lut([O.SCAPULA]))


def paint_pelvis(cv: Canvas, spine: Spine, body, params) -> dict[str, float]:
    """Iliac wings (crests at L4/L5), acetabula, pubic rami, femoral heads and necks."""
    s = params.stature
    s1 = spine.vertebrae[-1]
    l4 = spine.by_name("L4")
    l5 = spine.by_name("L5")
    z_crest = 0.5 * (l4.centre[2] + l5.centre[2]) + 6.0 * params.stature + (4 if params.sex == "M" else -2)
    z_hip = s1.centre[2] - 95.0 * s
    z_low = z_hip - 35 * s
    xc = float(body.xc)
    y_si = float(s1.centre[1])
    fem = params.sex == "F"
    wmul = 1.08 if fem else 1.0

    def frac(z):
        return np.clip((z - z_hip) / (z_crest - z_hip), 0, 1)

    cy = lambda z: y_si + 38.0 + 12 * frac(z)
    rx = lambda z: (72 + 58 * frac(z) ** 0.7) * s * wmul * params.width ** 0.5
    ry = lambda z: (48 + 22 * frac(z)) * s
    t0 = lambda z: 0.6 + 0.2 * (1 - frac(z)) + 0.55 * frac(z) ** 5
    t1 = lambda z: 1.3 + 0.75 * frac(z) ** 1.5 - 0.95 * frac(z) ** 7
    th_c = lambda z: (9.0 + 9 * (frac(z) > 0.9) + 10 * (1 - frac(z))) * s
    th_m = lambda z: np.maximum(th_c(z) - 2.2, 0.0)  # ~1.1 mm cortex each side of the blade
    nb = lut([o for o in range(256) if not (1 <= o <= 28)])
    for side in (1, -1):
        cv.shell_arc(T.CORTICAL, O.PELVIS, xc, cy, rx, ry, t0, t1, th_c, z_hip - 10, z_crest, side, into=nb)
        cv.shell_arc(T.MARROW, O.PELVIS, xc, cy, rx, ry, t0, t1, th_m, z_hip - 8, z_crest - 2, side,
                     into=lut([O.PELVIS]))
        # iliac crest: a thick cortical rim along the top of the wing (bright in MIPs), highest laterally
        th_ = np.linspace(0.7, 2.0, 12)
        zc_ = z_crest - 4.0 - 22.0 * ((th_ - 1.25) / 0.75) ** 2
        rxa, rya = rx(zc_), ry(zc_)
        crest = np.stack([xc + side * rxa * np.sin(th_), cy(zc_) - rya * np.cos(th_), zc_], axis=1)
        cv.tube(T.CORTICAL, O.PELVIS, crest, 7.0 * s, into=nb)
        cv.tube(T.MARROW, O.PELVIS, crest, 4.5 * s, into=lut([O.PELVIS]))
        # acetabulum + femoral head + neck + greater trochanter + shaft
        xh = xc + side * 88 * s * wmul
        yh = y_si + 45 * s
        head = np.array([xh, yh, z_hip])
        cv.ellipsoid(T.CORTICAL, O.PELVIS, head + [side * -4, 0, 6], (32 * s, 34 * s, 34 * s), into=nb)
        cv.ellipsoid(T.MARROW, O.PELVIS, head + [side * -4, 0, 6], (29 * s, 31 * s, 31 * s),
                     into=lut([O.PELVIS]))
        cv.ellipsoid(T.CORTICAL, O.FEMUR, head, (23 * s, 23 * s, 23 * s))
        cv.ellipsoid(T.MARROW, O.FEMUR, head, (21 * s, 21 * s, 21 * s), into=lut([O.FEMUR]))
        troch = head + np.array([side * 45, -12, -28]) * s
        shaft = troch + np.array([side * -10, 5, -160]) * s
        cv.tube(T.CORTICAL, O.FEMUR, np.stack([head, troch, shaft]), np.array([15, 17, 13]) * s)
        cv.tube(T.MARROW, O.FEMUR, np.stack([head, troch, shaft]), np.array([12, 13, 8]) * s,
                into=lut([O.FEMUR]))
        # pubic ramus to the symphysis, ischium below
        sym = np.array([xc + side * 6, yh + 55 * s, z_hip - 15 * s])
        cv.tube(T.CORTICAL, O.PELVIS, np.stack([head + [side * -20, 15, -5], sym]), 8 * s, into=nb)
        cv.tube(T.CORTICAL, O.PELVIS, np.stack([head + [side * -5, -20, -20], head + [side * -20, -25, -60]]),
                11 * s, into=nb)
    return {"iliac_crest_z_mm": float(z_crest), "femoral_head_z_mm": float(z_hip), "pelvis_low_z_mm": float(z_low)}
