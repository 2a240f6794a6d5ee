"""The whole synthetic patient: body wall, cavities, organs, skeleton, heart.

:func:`build_patient` turns :class:`~.patient.PatientParams` into a
:class:`ChestPhantom` (an analytic description in world millimetres);
:meth:`ChestPhantom.paint` evaluates it on any axis-aligned grid block.
Body outline, rib cage and organs are placed relative to the patient's own
vertebrae, so every organ sits at a plausible vertebral level.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .calcium import Plaque, sample_distractors, sample_plaques
from .heart import Heart, layout_heart, paint_aorta, paint_heart
from .patient import PatientParams, patient_rng
from .shapes import Canvas, lut
from .skeleton import paint_pelvis, paint_ribs, paint_sternum_girdle
from .spine import Spine, layout_spine, paint_spine
from .tissues import O, T, tissue_hu

__all__ = ["Body", "ChestPhantom", "build_patient"]


class Body:
    """Per-z profiles of the rib cage / cavity ellipse and the body wall, tied to the spine."""

    def __init__(self, spine: Spine, p: PatientParams) -> None:
        self.spine = spine
        self.p = p
        z = {v.name: float(v.centre[2]) for v in spine.vertebrae}
        t = lambda n, d=0.0: z.get(n, z.get("L5")) + d
        self.xc = float(spine.x_fn(t("T12"))) + 0.0
        w, dpt = p.width, p.depth
        belly = 0.85 + 0.35 * p.vat
        # knots from the pelvis (low z) up to the neck
        kz = [t("S1") - 160, t("S1"), t("L4"), t("L2"), t("T12"), t("T9"), t("T6"), t("T3"), t("T1"), t("C7"),
              t("C7") + 80]
        self.kz = np.array(kz)
        self.rx = np.array([128, 132, 134, 128, 132, 137, 130, 100, 62, 45, 42]) * w
        self.ry = np.array([72, 74, 80 * belly, 84 * belly, 90, 96, 88, 70, 42, 35, 32]) * dpt
        self.post = np.array([-35, -40, -48, -50, -45, -40, -40, -40, -30, -25, -25])
        self.wall_lat = np.array([22, 18, 14, 14, 12, 11, 12, 18, 70, 30, 20]) * p.muscle
        self.wall_ant = np.array([14, 12, 12, 12, 12, 12, 22, 28, 25, 15, 12]) * p.muscle
        self.back = np.array([72, 74, 76, 76, 72, 66, 64, 62, 60, 56, 55]) * p.muscle ** 0.5
        sat_shape = np.array([1.15, 1.1, 1.0, 1.0, 0.85, 0.65, 0.55, 0.55, 0.5, 0.3, 0.3])
        self.sat = p.sat_mm * sat_shape
        if not np.all(np.diff(self.kz) > 0):
            order = np.argsort(self.kz)
            for name in ("kz", "rx", "ry", "post", "wall_lat", "wall_ant", "back", "sat"):
                setattr(self, name, getattr(self, name)[order])

    def _i(self, arr: np.ndarray, z):
        return np.interp(z, self.kz, arr)

    def cage(self, z):
        """(x centre, y centre, semi-axis x, semi-axis y) of the rib-cage / cavity ellipse at z."""
        ys = self.spine.y_fn(z)
        ry = self._i(self.ry, z)
        yc = ys + self._i(self.post, z) + ry
        return self.xc, yc, self._i(self.rx, z), ry

    def lean(self, z):
        """Outer muscle boundary: centre y, semi-axis x, anterior and posterior semi-axes."""
        xc, yc, rx, ry = self.cage(z)
        ax = rx + self._i(self.wall_lat, z)
        ay = ry + self._i(self.wall_ant, z)
        ys = self.spine.y_fn(z)
        flat = self.spine.y0 + 0.3 * (ys - self.spine.y0)  # lying supine: the back flattens on the table
        ap = yc - np.minimum(ys, flat) + self._i(self.back, z)
        return yc, ax, ay, ap

    def outer(self, z):
        yc, ax, ay, ap = self.lean(z)
        s = self._i(self.sat, z)
        return yc, ax + 0.9 * s, ay + 1.25 * s, ap + 0.55 * s

    @property
    def z_range(self) -> tuple[float, float]:
        return float(self.kz[0]), float(self.kz[-1])


@dataclass
class ChestPhantom:
    """An analytic description of one patient in world RAS millimetres."""

    params: PatientParams
    spine: Spine
    body: Body
    heart: Heart
    hu: np.ndarray  # tissue -> HU table
    plaques: list[Plaque]
    distractors: list[Plaque]
    landmarks: dict[str, float] = field(default_factory=dict)
    n_rib_pairs: int = 12
    _tree: list = field(default_factory=list)
    _bowel: list = field(default_factory=list)
    _imat_tubes: list = field(default_factory=list)

    # ----------------------------------------------------------------- painting
    def paint(self, cv: Canvas) -> None:
        """Evaluate the description on the canvas (tissue + organ channels)."""
        p, b, sp = self.params, self.body, self.spine
        lm = self.landmarks
        zlo, zhi = b.z_range
        # patient table (carbon shell over foam) under the back
        ytab = lm["table_y"]
        cv.cylinder(T.TABLE_FOAM, O.TABLE, b.xc, ytab - 25, 230.0, 25.0, zlo - 400, zhi + 400, 4.0)
        band = (ytab - 10, ytab + 80)  # only the bottom of the cradle is ever in the field of view
        cv.cylinder(T.TABLE, O.TABLE, b.xc, ytab + 330, 300.0, 336.0, zlo - 400, zhi + 400, 2.0, ylim=band)
        cv.cylinder(T.AIR, 0, b.xc, ytab + 330, 297.0, 333.0, zlo - 400, zhi + 400, 2.0, into=lut([O.TABLE]),
                    ylim=band)
        cv.cylinder(T.TABLE, O.TABLE, b.xc, ytab - 48, 230.0, 2.0, zlo - 400, zhi + 400, 4.0)
        # body wall: skin, subcutaneous fat, muscle, cavity
        outer = lambda k: (lambda z: b.outer(z)[k])
        lean = lambda k: (lambda z: b.lean(z)[k])
        cv.cylinder(T.SKIN, O.SAT, b.xc, outer(0), outer(1), outer(2), zlo, zhi, 2.3, ay_post=outer(3), p_post=3.2)
        cv.cylinder(T.FAT, O.SAT, b.xc, outer(0), lambda z: b.outer(z)[1] - 2, lambda z: b.outer(z)[2] - 2,
                    zlo, zhi, 2.3, ay_post=lambda z: b.outer(z)[3] - 2, p_post=3.2)
        cv.cylinder(T.MUSCLE, O.MUSCLE_WALL, b.xc, lean(0), lean(1), lean(2), zlo, zhi, 2.3, ay_post=lean(3),
                    p_post=3.2)
        if p.sex == "F" or p.sat_mm > 28:
            self._breasts(cv)
        cage = lambda k: (lambda z: b.cage(z)[k])
        z_apex = lm["lung_apex_z"]
        cv.cylinder(T.FAT, O.VAT, b.xc, cage(1), lambda z: b.cage(z)[2] - 5, lambda z: b.cage(z)[3] - 5,
                    zlo + 40, z_apex, 2.2)
        # back muscles (erector spinae) relabel the posterior wall
        ys = sp.y_fn
        for s in (1, -1):
            # erector spinae in its fascia (a fat plane separates it from the lateral wall muscles)
            cx = lambda z, s=s: sp.x_fn(z) + s * 34 * p.muscle ** 0.5
            cy = lambda z: ys(z) - 50
            cv.cylinder(T.FAT, O.MUSCLE_WALL, cx, cy, 31.0 * p.muscle, 28.0 * p.muscle, zlo + 60, lm["C7_z"] + 40,
                        into=lut([O.MUSCLE_WALL]))
            cv.cylinder(T.MUSCLE, O.MUSCLE_BACK, cx, cy, 28.5 * p.muscle, 26.0 * p.muscle, zlo + 60,
                        lm["C7_z"] + 40, into=lut([O.MUSCLE_WALL, O.SAT]))
        self._imat(cv)
        self._lungs(cv)
        self._mediastinum(cv)
        paint_heart(cv, self.heart, p)
        paint_aorta(cv, self.heart)
        self._vessels(cv)
        self._abdomen(cv)
        # skeleton last (bone wins)
        self.n_rib_pairs = paint_ribs(cv, sp, b, p)
        paint_sternum_girdle(cv, sp, b, p)
        paint_pelvis(cv, sp, b, p)
        paint_spine(cv, sp, p)

    def _breasts(self, cv: Canvas) -> None:
        p, b = self.params, self.body
        z = self.landmarks["breast_z"]
        size = (1.0 if p.sex == "F" else 0.55) * (0.7 + 0.15 * p.sat_mm / 20)
        yc, ax, ay, _ = b.outer(z)
        into = lut([0, O.SAT, O.TABLE])
        for s in (1, -1):
            c = (b.xc + s * 0.45 * ax, yc + ay * 0.8, z)
            cv.ellipsoid(T.FAT, O.BREAST, c, (60 * size, 45 * size, 55 * size), into=into)
            cv.ellipsoid(T.GLAND, O.BREAST, (c[0], c[1] + 8, c[2]), (30 * size, 20 * size, 28 * size),
                         into=lut([O.BREAST]))

    def _imat(self, cv: Canvas) -> None:
        """Intermuscular fat streaks in the back muscles (more with age and fat)."""
        for pts, r in self._imat_tubes:
            cv.tube(T.FAT, O.MUSCLE_BACK, pts, r, into=lut([O.MUSCLE_BACK]))

    def _lungs(self, cv: Canvas) -> None:
        """Lungs: the thoracic cavity above the diaphragm domes."""
        b, lm = self.body, self.landmarks
        z0, z1 = lm["dome_low_z"], lm["lung_apex_z"]
        zs = cv._range(cv.z, z0, z1)
        if zs is None:
            return
        z = cv.z[zs]
        xc, yc, rx, ry = b.cage(z)
        rx, ry = rx - 6.0, ry - 6.0
        # apex: taper the cavity near the top
        taper = np.sqrt(np.clip((z1 - z) / 30.0, 0.05, 1.0))
        rx, ry = rx * taper, ry * np.minimum(1, taper * 1.1)
        xs = cv._range(cv.x, float(xc - rx.max()), float(xc + rx.max()))
        ysl = cv._range(cv.y, float((yc - ry).min()), float((yc + ry).max()))
        if xs is None or ysl is None:
            return
        x, y = cv.x[xs], cv.y[ysl]
        inside = (((x[None, :] - xc) / rx[:, None]) ** 2)[:, None, :] + (((y[None, :] - yc[:, None]) / ry[:, None]) ** 2)[:, :, None]
        # domes: z_dome(x, y) = top(side) - kx (x - xd)^2 - ky (y - yd)^2  (lower posteriorly)
        right = x >= lm["x_mid"]
        top = np.where(right, lm["dome_r_z"], lm["dome_l_z"])
        xd = np.where(right, lm["x_mid"] + 55, lm["x_mid"] - 55)
        fx = top - 0.0035 * (x - xd) ** 2
        fy = -0.0030 * np.maximum(lm["dome_y"] - y, 0) ** 2 - 0.001 * np.maximum(y - lm["dome_y"], 0) ** 2
        dome = fx[None, None, :] + fy[None, :, None]
        mask = (inside <= 1.0) & (z[:, None, None] > dome)
        sl = (zs, ysl, xs)
        into = lut([O.VAT, O.MUSCLE_WALL])
        lab = np.where(right[None, None, :], np.uint8(O.LUNG_R), np.uint8(O.LUNG_L))
        sub_o = cv.organ[sl]
        m = mask & into[sub_o]
        np.copyto(cv.tissue[sl], np.uint8(T.LUNG), where=m)
        np.copyto(sub_o, np.broadcast_to(lab, m.shape), where=m)

    def _mediastinum(self, cv: Canvas) -> None:
        b, sp, lm, h = self.body, self.spine, self.landmarks, self.heart
        into = lut([O.LUNG_L, O.LUNG_R, O.VAT])
        ytop = lambda z: b.cage(z)[1] + b.cage(z)[3] - 4
        ybot = lambda z: sp.y_fn(z) - 8
        cy = lambda z: 0.5 * (ytop(z) + ybot(z))
        ay = lambda z: 0.5 * (ytop(z) - ybot(z))
        ax = lambda z: 22 + 6 * np.clip((lm["C7_z"] - z) / 80, 0, 1)
        z_heart_top = float(h.z_range[1]) - 10
        cv.cylinder(T.FAT, O.MEDIASTINUM, lambda z: sp.x_fn(z) - 6, cy, ax, ay, z_heart_top,
                    lm["lung_apex_z"] + 5, 2.6, into=into)
        hy = float(h.centre[1])
        cv.cylinder(T.FAT, O.MEDIASTINUM, lambda z: sp.x_fn(z) - 8, lambda z: 0.5 * (ybot(z) + hy),
                    16.0, lambda z: 0.5 * (hy - ybot(z)), lm["dome_low_z"], z_heart_top + 5, 2.4, into=into)
        # trachea, main bronchi, oesophagus
        xs = float(sp.x_fn(lm["carina_z"]))
        yt = float(sp.y_fn(lm["carina_z"])) + 34
        top = np.array([float(sp.x_fn(lm["C7_z"] + 60)), float(sp.y_fn(lm["C7_z"] + 60)) + 30, lm["C7_z"] + 60])
        car = np.array([xs, yt, lm["carina_z"]])
        cv.tube(T.AIRWAY_WALL, O.TRACHEA, np.stack([top, car]), 10.5)
        cv.tube(T.AIR, O.TRACHEA, np.stack([top, car]), 8.5)
        for s in (1, -1):
            br = car + np.array([s * 45, -5, -30])
            cv.tube(T.AIRWAY_WALL, O.TRACHEA, np.stack([car, br]), 7.5)
            cv.tube(T.AIR, O.TRACHEA, np.stack([car, br]), 5.5)
        zs = np.linspace(lm["C7_z"] + 60, lm["dome_l_z"] - 30, 12)
        oes = np.stack([sp.x_fn(zs) - 10, sp.y_fn(zs) + 22, zs], axis=1)
        cv.tube(T.MUSCLE, O.OESOPHAGUS, oes, 8.0, into=lut([O.MEDIASTINUM, O.LUNG_L, O.LUNG_R, O.VAT]))

    def _vessels(self, cv: Canvas) -> None:
        h, lm = self.heart, self.landmarks
        into_lung = lut([O.LUNG_L, O.LUNG_R])
        # pulmonary trunk and arteries, SVC
        pt0 = h.root + np.array([-22, 12, -5])
        bif = np.array([h.root[0] - 25, h.root[1] - 20, lm["carina_z"] - 12])
        cv.tube(T.BLOOD, O.VESSEL, np.stack([pt0, pt0 + [-6, 0, 20], bif]), 13.0)
        for s in (1, -1):
            hil = bif + np.array([s * 55 + 20, -20, -10])
            cv.tube(T.BLOOD, O.VESSEL, np.stack([bif, hil]), 10.0)
        svc0 = h.root + np.array([30, -8, 0])
        cv.tube(T.BLOOD, O.VESSEL, np.stack([svc0, svc0 + [5, -5, 90]]), 10.0)
        for pts, r in self._tree:
            cv.tube(T.LUNG_VESSEL, None, pts, r, into=into_lung)
        # IVC from the liver to the pelvis, right of the spine
        sp = self.spine
        zs = np.linspace(lm["dome_r_z"] - 20, lm["bifurcation_z"] - 10, 10)
        ivc = np.stack([sp.x_fn(zs) + 24, sp.y_fn(zs) + 28, zs], axis=1)
        cv.tube(T.BLOOD, O.VESSEL, ivc, 11.0, into=lut([O.VAT, O.LIVER]))

    def _abdomen(self, cv: Canvas) -> None:
        p, b, sp, lm = self.params, self.body, self.spine, self.landmarks
        vat = lut([O.VAT])
        xm = lm["x_mid"]
        # liver: right upper quadrant under the right dome, left lobe across the midline
        zl = lm["dome_r_z"]
        _, yc, rx, ry = b.cage(zl - 60)
        cv.ellipsoid(T.LIVER, O.LIVER, (xm + 0.45 * rx, yc - 5, zl - 55), (0.62 * rx, 0.95 * ry, 85.0), into=vat)
        cv.ellipsoid(T.LIVER, O.LIVER, (xm - 0.05 * rx, yc + 0.45 * ry, zl - 40), (0.45 * rx, 0.45 * ry, 45.0),
                     into=vat)
        # spleen and stomach on the left
        zs_ = lm["dome_l_z"] - 60
        _, yc2, rx2, ry2 = b.cage(zs_)
        cv.ellipsoid(T.SPLEEN, O.SPLEEN, (xm - 0.72 * rx2, yc2 - 0.45 * ry2, zs_), (25.0, 45.0, 55.0), into=vat)
        st = (xm - 0.4 * rx2, yc2 + 0.25 * ry2, zs_ + 5)
        cv.ellipsoid(T.MUSCLE, O.STOMACH, st, (48.0, 38.0, 55.0), into=vat)
        cv.ellipsoid(T.FLUID, O.STOMACH, st, (42.0, 32.0, 49.0), into=lut([O.STOMACH]))
        cv.ellipsoid(T.GAS, O.STOMACH, st, (42.0, 32.0, 49.0), into=lut([O.STOMACH]),
                     clip=lambda u, v, w, x, y, z: z > st[2] + 18)
        # kidneys (left higher), renal sinus fat at the hilum
        for s, zk in ((1, lm["kidney_r_z"]), (-1, lm["kidney_l_z"])):
            xk = float(sp.x_fn(zk)) + s * 72 * p.width ** 0.5
            yk = float(sp.y_fn(zk)) - 8
            org = O.KIDNEY_R if s > 0 else O.KIDNEY_L
            cv.ellipsoid(T.KIDNEY, org, (xk, yk, zk), (26.0, 22.0, 52.0), into=lut([O.VAT, O.MUSCLE_WALL]))
            cv.ellipsoid(T.FAT, org, (xk - s * 12, yk + 4, zk), (9.0, 8.0, 22.0), into=lut([org]))
        # psoas: from T12 growing down to the pelvis
        for s in (1, -1):
            z0, z1 = lm["pelvis_low_z"], sp.z_of("T12")
            fr = lambda z: np.clip((z1 - z) / (z1 - sp.z_of("L5")), 0, 1)
            cv.cylinder(T.MUSCLE, O.PSOAS, lambda z, s=s: sp.x_fn(z) + s * (24 + 20 * fr(z)) * p.width ** 0.4,
                        lambda z: sp.y_fn(z) + 2 - 4 * fr(z), lambda z: (8 + 13 * fr(z) ** 0.7) * p.muscle,
                        lambda z: (9 + 14 * fr(z) ** 0.7) * p.muscle, z0, z1, into=lut([O.VAT, O.MUSCLE_WALL]))
        # bowel loops and colon
        for pts, r, content in self._bowel:
            cv.tube(T.BOWEL, O.BOWEL, pts, r, into=vat)
            cv.tube(content, O.BOWEL, pts, r - 2.5, into=lut([O.BOWEL]))
        # bladder
        zb = lm["femoral_head_z"] + 15
        _, ycb, rxb, ryb = b.cage(zb)
        cv.ellipsoid(T.FLUID, O.BLADDER, (xm, ycb + 0.4 * ryb, zb), (40.0, 30.0, 30.0), into=vat)


def _tree(rng: np.random.Generator, start: np.ndarray, direction: np.ndarray, r: float, depth: int,
          out: list) -> None:
    if depth == 0 or r < 0.8:
        return
    length = rng.uniform(25, 45) * (r / 4.0) ** 0.5
    d = direction / np.linalg.norm(direction)
    end = start + d * length
    out.append((np.stack([start, end]), np.array([r, r * 0.85])))
    for _ in range(2):
        nd = d + rng.normal(0, 0.6, 3)
        _tree(rng, end, nd, r * 0.72, depth - 1, out)


def _walk(rng, start, n, step, lo, hi) -> np.ndarray:
    pts = [np.asarray(start, np.float64)]
    d = rng.normal(0, 1, 3)
    for _ in range(n):
        d = d / np.linalg.norm(d) + rng.normal(0, 0.6, 3)
        d /= np.linalg.norm(d)
        nxt = np.clip(pts[-1] + d * step, lo, hi)
        pts.append(nxt)
    return np.stack(pts)


def build_patient(params: PatientParams) -> ChestPhantom:
    """Lay out one patient from its parameters (deterministic)."""
    rng = patient_rng(params.seed, params.index, 1)
    px, py, pz = params.position_mm
    z_s1 = pz - 250.0  # S1 top endplate: the patient's S1 sits ~25 cm below the isocentre plane
    spine = layout_spine(params, rng, z_s1_top=z_s1, y0=py - 45.0, x0=px)
    body = Body(spine, params)
    zmap = {v.name: float(v.centre[2]) for v in spine.vertebrae}
    x_mid = float(spine.x_fn(zmap["T10"]))
    dome_r = zmap["T9"] + 0.5 * (zmap["T10"] - zmap["T9"]) - params.diaphragm_mm + rng.normal(0, 6)
    dome_l = dome_r - rng.uniform(8, 22)
    _, yc, _, ry = body.cage(dome_r)
    lm = {
        "x_mid": x_mid, "dome_r_z": dome_r, "dome_l_z": dome_l, "dome_y": yc + 0.25 * ry,
        "dome_low_z": dome_l - 95.0, "lung_apex_z": zmap["T1"] + 28.0, "C7_z": zmap["C7"],
        "carina_z": zmap["T5"] + rng.normal(0, 6), "breast_z": zmap["T6"] + rng.normal(0, 10),
        "kidney_r_z": zmap["L2"] + rng.normal(0, 10), "kidney_l_z": zmap["L1"] + 10 + rng.normal(0, 10),
        "bifurcation_z": zmap["L4"] + rng.normal(0, 8),
    }
    # table: under the lowest point of the back
    zz = np.linspace(zmap["L5"], zmap["T2"], 60)
    lm["table_y"] = float(np.min(body.outer(zz)[0] - body.outer(zz)[3])) - 1.0
    # heart: apex resting on the left dome, centre ~T8
    hx, hy, hz = params.heart_shift_mm
    _, ych, rxh, ryh = body.cage(zmap["T8"])
    centre = np.array([x_mid - 22 + hx, float(spine.y_fn(zmap["T8"])) + 72 * params.depth + hy,
                       dome_l + 55 * params.heart_scale + hz])
    heart = layout_heart(params, rng, centre, spine.y_fn, spine.x_fn, lm["bifurcation_z"],
                         z_arch=zmap["T4"] + rng.normal(0, 6))
    hu = tissue_hu(params.age, params.contrast, rng)
    plaques = sample_plaques(params, heart, patient_rng(params.seed, params.index, 2))
    distract = sample_distractors(params, heart, patient_rng(params.seed, params.index, 3))
    if params.arch_calcium_mm3 > 0:  # opt-in (aortic.py): arch calcification linked to the coronary burden
        from .aortic import sample_arch_plaques, sample_knob_plaques

        lay = sample_knob_plaques if params.arch_style == "knob" else sample_arch_plaques
        distract += lay(params.arch_calcium_mm3, heart, patient_rng(params.seed, params.index, 41))
    if params.cartilage_mm > 0:  # opt-in (cartilage.py): costal cartilage calcification, a sign of age
        from .cartilage import sample_cartilage_plaques

        distract += sample_cartilage_plaques(params.cartilage_mm, spine, body, params,
                                             patient_rng(params.seed, params.index, 44))
    ph = ChestPhantom(params=params, spine=spine, body=body, heart=heart, hu=hu, plaques=plaques,
                      distractors=distract, landmarks=lm)
    lm.update(paint_pelvis_landmarks(spine, params))
    # lung vessel trees from the hila
    trng = patient_rng(params.seed, params.index, 4)
    for s in (1, -1):
        hil = np.array([x_mid + s * 50, float(spine.y_fn(lm["carina_z"])) + 25, lm["carina_z"] - 20])
        for d in ([s, 0.3, 1.0], [s, 0.5, -0.2], [s, -0.3, -1.0], [s * 0.5, 0.8, -0.6], [s * 0.7, -0.8, -0.5]):
            _tree(trng, hil, np.array(d, float), 4.5, 5, ph._tree)
    # bowel: colon frame + small-bowel loops (fewer with more visceral fat)
    brng = patient_rng(params.seed, params.index, 5)
    zt, zb = zmap["L1"], zmap["L5"] - 10
    _, ycb, rxb, ryb = body.cage(zmap["L3"])
    xm = x_mid
    colon = np.array([[xm + 0.7 * rxb, ycb - 0.1 * ryb, zb], [xm + 0.72 * rxb, ycb, zt - 10],
                      [xm + 0.3 * rxb, ycb + 0.65 * ryb, zt - 25], [xm - 0.3 * rxb, ycb + 0.65 * ryb, zt - 15],
                      [xm - 0.72 * rxb, ycb, zt], [xm - 0.72 * rxb, ycb - 0.1 * ryb, zb + 10],
                      [xm - 0.3 * rxb, ycb + 0.2 * ryb, zb - 40]])
    ph._bowel.append((colon, 17.0, T.GAS))
    n_loops = int(round(30 * (1.3 - params.vat)))
    lo = np.array([xm - 0.6 * rxb, ycb - 0.3 * ryb, zb - 40])
    hi = np.array([xm + 0.6 * rxb, ycb + 0.75 * ryb, zt - 20])
    for _ in range(n_loops):
        st = lo + brng.random(3) * (hi - lo)
        ph._bowel.append((_walk(brng, st, 9, 13.0, lo, hi), float(brng.uniform(10, 14)),
                          T.FLUID if brng.random() < 0.75 else T.GAS))
    # intermuscular fat streaks
    mrng = patient_rng(params.seed, params.index, 6)
    n_imat = int(2 + 6 * params.vat + 0.1 * max(0, params.age - 50))
    ph._imat_tubes = []
    for _ in range(n_imat):
        s = 1 if mrng.random() < 0.5 else -1
        z0 = mrng.uniform(zmap["L5"], zmap["T10"])
        x0 = float(spine.x_fn(z0)) + s * mrng.uniform(20, 50)
        y0 = float(spine.y_fn(z0)) - mrng.uniform(35, 65)
        ph._imat_tubes.append((np.array([[x0, y0, z0], [x0 + mrng.normal(0, 8), y0 + mrng.normal(0, 5),
                                                          z0 + mrng.uniform(30, 80)]]), mrng.uniform(1.0, 2.2)))
    return ph


def paint_pelvis_landmarks(spine: Spine, params: PatientParams) -> dict[str, float]:
    """z landmarks of the pelvis without painting (same formulas as :func:`paint_pelvis`)."""
    s = params.stature
    s1 = spine.vertebrae[-1]
    l4, l5 = spine.by_name("L4"), spine.by_name("L5")
    z_crest = 0.5 * (l4.centre[2] + l5.centre[2]) + 6.0 * s + (4 if params.sex == "M" else -2)
    z_hip = s1.centre[2] - 95.0 * s
    return {"iliac_crest_z": float(z_crest), "femoral_head_z": float(z_hip), "pelvis_low_z": float(z_hip - 35 * s)}
