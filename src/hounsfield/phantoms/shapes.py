"""Implicit shapes evaluated on an axis-aligned output grid (vectorised, clipped to bounding boxes).

A :class:`Canvas` holds two uint8 channels over a block of an output grid:
``tissue`` (what sets the HU, :mod:`.tissues`) and ``organ`` (which structure a
voxel belongs to: VerSe vertebra numbers 1-28, then the organ ids of
:mod:`.tissues`). Shapes are painted in order; a later shape overwrites an
earlier one, optionally only *into* voxels of chosen organs (a lookup table),
which is how organs stay inside the body cavity and lungs stay above the
diaphragm. Every primitive evaluates only its own bounding box, and separable
forms (cylinders and axis-aligned ellipsoids) are evaluated as sums of 1-D
terms broadcast to 3-D, so a primitive costs one or two passes over its box.

Coordinates are world RAS+ millimetres (x towards the patient's right, y
anterior, z superior). Canvas arrays are indexed ``[z, y, x]`` (C order): an
axial plane is contiguous and ``array.T`` is the NIfTI ``[i, j, k]`` view.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

__all__ = ["Canvas", "lut"]

ZFn = Callable[[np.ndarray], np.ndarray]


def lut(values: Sequence[int] | None, size: int = 256) -> np.ndarray | None:
    """Boolean lookup table over uint8 values (``None`` passes through)."""
    if values is None:
        return None
    t = np.zeros(size, bool)
    t[list(values)] = True
    return t


def _as_fn(v: float | ZFn) -> ZFn:
    if callable(v):
        return v
    c = float(v)
    return lambda z: np.full(np.shape(z), c)


class Canvas:
    """Tissue and organ label channels over the block ``x`` by ``y`` by ``z`` (1-D world coordinates)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> None:
        self.x = np.asarray(x, np.float64)
        self.y = np.asarray(y, np.float64)
        self.z = np.asarray(z, np.float64)
        shape = (self.z.size, self.y.size, self.x.size)
        self.tissue = np.zeros(shape, np.uint8)
        self.organ = np.zeros(shape, np.uint8)
        self.step = (abs(self.x[1] - self.x[0]) if self.x.size > 1 else 1.0,
                     abs(self.y[1] - self.y[0]) if self.y.size > 1 else 1.0,
                     abs(self.z[1] - self.z[0]) if self.z.size > 1 else 1.0)

    # ----------------------------------------------------------------- helpers
    @staticmethod
    def _range(coords: np.ndarray, lo: float, hi: float) -> slice | None:
        i0 = int(np.searchsorted(coords, lo, side="left"))
        i1 = int(np.searchsorted(coords, hi, side="right"))
        return slice(i0, i1) if i1 > i0 else None

    def box(self, lo: Sequence[float], hi: Sequence[float]) -> tuple[slice, slice, slice] | None:
        """Index slices ``(z, y, x)`` of the voxels whose centres lie in the world box ``[lo, hi]`` (x, y, z)."""
        out = []
        for c, a, b in zip((self.x, self.y, self.z), lo, hi):
            s = self._range(c, a, b)
            if s is None:
                return None
            out.append(s)
        return out[2], out[1], out[0]

    def paint(self, sl: tuple[slice, slice, slice], mask: np.ndarray, tissue: int, organ: int | None,
              into: np.ndarray | None = None, into_tissue: np.ndarray | None = None) -> None:
        """Set ``tissue`` (and ``organ`` unless None) where ``mask`` in box ``sl``.

        ``into``/``into_tissue``: boolean LUTs; only voxels whose current organ
        / tissue is True there are painted.
        """
        sub_o = self.organ[sl]
        if into is not None:
            mask = mask & into[sub_o]
        sub_t = self.tissue[sl]
        if into_tissue is not None:
            mask = mask & into_tissue[sub_t]
        np.copyto(sub_t, np.uint8(tissue), where=mask)
        if organ is not None:
            np.copyto(sub_o, np.uint8(organ), where=mask)

    # -------------------------------------------------------------- primitives
    def cylinder(self, tissue: int, organ: int | None, cx: float | ZFn, cy: float | ZFn, ax: float | ZFn,
                 ay: float | ZFn, z0: float, z1: float, p: float = 2.0, *, ay_post: float | ZFn | None = None,
                 p_post: float | None = None, into: np.ndarray | None = None,
                 into_tissue: np.ndarray | None = None, extent: float | None = None,
                 ylim: tuple[float, float] | None = None) -> None:
        """An axial (super)elliptic cross-section whose centre and semi-axes vary with z.

        ``ay_post``/``p_post`` give the posterior half (y below the centre)
        its own semi-axis and exponent (a flat back, a kidney-shaped body);
        ``ylim`` clips the shape to a y band (cheaper for huge shapes seen in part).
        """
        zs = self._range(self.z, z0, z1)
        if zs is None:
            return
        z = self.z[zs]
        cxv, cyv, axv, ayv = (_as_fn(f)(z) for f in (cx, cy, ax, ay))
        apv = _as_fn(ay_post)(z) if ay_post is not None else ayv
        pp = p if p_post is None else p_post
        ext = extent or 0.0
        xs = self._range(self.x, float(np.min(cxv - axv)) - ext, float(np.max(cxv + axv)) + ext)
        ylo, yhi = float(np.min(cyv - apv)) - ext, float(np.max(cyv + ayv)) + ext
        if ylim is not None:
            ylo, yhi = max(ylo, ylim[0]), min(yhi, ylim[1])
        ys = self._range(self.y, ylo, yhi)
        if xs is None or ys is None:
            return
        x, y = self.x[xs], self.y[ys]
        tx = ((np.abs(x[None, :] - cxv[:, None]) / np.maximum(axv, 1e-6)[:, None]) ** p).astype(np.float32)
        dy = y[None, :] - cyv[:, None]
        ty = np.where(dy >= 0, (np.abs(dy) / np.maximum(ayv, 1e-6)[:, None]) ** p,
                      (np.abs(dy) / np.maximum(apv, 1e-6)[:, None]) ** pp).astype(np.float32)
        mask = (tx[:, None, :] + ty[:, :, None]) <= 1.0
        self.paint((zs, ys, xs), mask, tissue, organ, into, into_tissue)

    def local(self, sl: tuple[slice, slice, slice], origin: np.ndarray, R: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Local coordinates ``u, v, w`` (columns of ``R``) of the voxels of box ``sl`` (z, y, x)."""
        x = (self.x[sl[2]] - origin[0])[None, None, :]
        y = (self.y[sl[1]] - origin[1])[None, :, None]
        z = (self.z[sl[0]] - origin[2])[:, None, None]
        u = R[0, 0] * x + R[1, 0] * y + R[2, 0] * z
        v = R[0, 1] * x + R[1, 1] * y + R[2, 1] * z
        w = R[0, 2] * x + R[1, 2] * y + R[2, 2] * z
        return u, v, w

    def ellipsoid(self, tissue: int, organ: int | None, centre: Sequence[float], radii: Sequence[float],
                  R: np.ndarray | None = None, *, into: np.ndarray | None = None,
                  into_tissue: np.ndarray | None = None, clip: Callable | None = None) -> None:
        """An ellipsoid (axes = columns of rotation ``R``; axis-aligned when ``R`` is None).

        ``clip(u, v, w, x, y, z)`` may return an extra boolean condition.
        """
        c = np.asarray(centre, np.float64)
        r = np.asarray(radii, np.float64)
        if R is None:
            ext = r
        else:
            ext = np.sqrt(((np.asarray(R) * r[None, :]) ** 2).sum(axis=1))
        sl = self.box(c - ext, c + ext)
        if sl is None:
            return
        if R is None:
            tx = ((self.x[sl[2]] - c[0]) / r[0]) ** 2
            ty = ((self.y[sl[1]] - c[1]) / r[1]) ** 2
            tz = ((self.z[sl[0]] - c[2]) / r[2]) ** 2
            mask = (tx[None, None, :] + ty[None, :, None] + tz[:, None, None]) <= 1.0
            if clip is not None:
                mask &= clip(None, None, None, self.x[sl[2]][None, None, :], self.y[sl[1]][None, :, None],
                             self.z[sl[0]][:, None, None])
        else:
            u, v, w = self.local(sl, c, np.asarray(R))
            mask = (u / r[0]) ** 2 + (v / r[1]) ** 2 + (w / r[2]) ** 2 <= 1.0
            if clip is not None:
                mask &= clip(u, v, w, self.x[sl[2]][None, None, :], self.y[sl[1]][None, :, None],
                             self.z[sl[0]][:, None, None])
        self.paint(sl, mask, tissue, organ, into, into_tissue)

    def tube(self, tissue: int, organ: int | None, points: np.ndarray, radii: np.ndarray | float, *,
             into: np.ndarray | None = None, into_tissue: np.ndarray | None = None) -> None:
        """A tube along a polyline: the union of capsules with linearly varying radius."""
        pts = np.asarray(points, np.float64)
        rad = np.broadcast_to(np.asarray(radii, np.float64), (len(pts),))
        zlo, zhi = self.z[0] - self.step[2], self.z[-1] + self.step[2]
        for a, b, ra, rb in zip(pts[:-1], pts[1:], rad[:-1], rad[1:]):
            rmax = max(ra, rb)
            lo = np.minimum(a, b) - rmax
            hi = np.maximum(a, b) + rmax
            if hi[2] < zlo or lo[2] > zhi:
                continue
            sl = self.box(lo, hi)
            if sl is None:
                continue
            d = b - a
            L2 = float(d @ d) or 1e-9
            x = (self.x[sl[2]] - a[0])[None, None, :]
            y = (self.y[sl[1]] - a[1])[None, :, None]
            z = (self.z[sl[0]] - a[2])[:, None, None]
            t = np.clip((x * d[0] + y * d[1] + z * d[2]) / L2, 0.0, 1.0)
            dist2 = (x - t * d[0]) ** 2 + (y - t * d[1]) ** 2 + (z - t * d[2]) ** 2
            r = ra + (rb - ra) * t
            self.paint(sl, dist2 <= r * r, tissue, organ, into, into_tissue)

    def shell_arc(self, tissue: int, organ: int | None, cx: float, cy: ZFn, rx: ZFn, ry: ZFn,
                  theta0: ZFn, theta1: ZFn, thickness: ZFn, z0: float, z1: float, side: int, *,
                  into: np.ndarray | None = None) -> None:
        """A curved plate: the band of an axial ellipse (centre ``cx, cy(z)``, semi-axes
        ``rx(z), ry(z)``) of half-width ``thickness(z)/2`` between angles ``theta0(z)``
        and ``theta1(z)`` measured from the posterior midline (0) through the
        lateral side (pi/2) to anterior (pi), on the patient's ``side`` (+1 right, -1 left).
        """
        zs = self._range(self.z, z0, z1)
        if zs is None:
            return
        z = self.z[zs]
        cyv, rxv, ryv, t0, t1, th = cy(z), rx(z), ry(z), theta0(z), theta1(z), thickness(z)
        pad = float(np.max(th))
        if side > 0:
            xs = self._range(self.x, cx - pad, cx + float(np.max(rxv)) + pad)
        else:
            xs = self._range(self.x, cx - float(np.max(rxv)) - pad, cx + pad)
        ys = self._range(self.y, float(np.min(cyv - ryv)) - pad, float(np.max(cyv + ryv)) + pad)
        if xs is None or ys is None:
            return
        X = ((self.x[xs] - cx) * side).astype(np.float32)[None, None, :]
        Y = (self.y[ys][None, :] - cyv[:, None]).astype(np.float32)[:, :, None]
        col = lambda a: np.asarray(a, np.float32)[:, None, None]
        # angle between theta0 and theta1 (0 posterior, pi/2 lateral, pi anterior), without arctan2
        c0, s0 = col(np.cos(t0)), col(np.sin(t0))
        c1, s1 = col(np.cos(t1)), col(np.sin(t1))
        rr2 = (X / col(rxv)) ** 2 + (Y / col(ryv)) ** 2
        h = col(th / (rxv + ryv))  # half-thickness over the mean radius
        mask = (rr2 >= ((1 - h) ** 2)) & (rr2 <= ((1 + h) ** 2)) & (X >= 0)
        mask &= (X * c0 + Y * s0) >= 0
        mask &= (X * c1 + Y * s1) <= 0
        self.paint((zs, ys, xs), mask, tissue, organ, into)
