"""Implicit shapes against hand-computed areas and volumes."""

from __future__ import annotations

import numpy as np

from hounsfield.phantoms.shapes import Canvas, lut


def grid(step=0.25, half=20.0, nz=1):
    x = np.arange(-half, half + 1e-9, step)
    z = np.arange(nz) * step
    return Canvas(x, x.copy(), z)


def test_cylinder_area_is_pi_ab():
    cv = grid()
    cv.cylinder(5, 7, 0.0, 0.0, 12.0, 8.0, -1, 1)
    area = (cv.tissue[0] == 5).sum() * 0.25 ** 2
    assert abs(area - np.pi * 12 * 8) / (np.pi * 96) < 0.01
    assert set(np.unique(cv.organ)) == {0, 7}


def test_canvas_axes_are_z_y_x():
    cv = Canvas(np.arange(10.0), np.arange(4.0), np.arange(3.0))
    assert cv.tissue.shape == (3, 4, 10)
    cv.ellipsoid(1, 1, (8.0, 1.0, 2.0), (0.4, 0.4, 0.4))
    assert np.argwhere(cv.tissue).tolist() == [[2, 1, 8]]


def test_ellipsoid_rotated_volume():
    cv = Canvas(np.arange(-12, 12, 0.3), np.arange(-12, 12, 0.3), np.arange(-12, 12, 0.3))
    th = 0.6
    R = np.array([[np.cos(th), -np.sin(th), 0], [np.sin(th), np.cos(th), 0], [0, 0, 1.0]])
    cv.ellipsoid(2, 2, (0.5, -0.5, 0.0), (9.0, 4.0, 6.0), R)
    vol = (cv.tissue == 2).sum() * 0.3 ** 3
    assert abs(vol - 4 / 3 * np.pi * 9 * 4 * 6) / (4 / 3 * np.pi * 216) < 0.02


def test_tube_volume_and_into():
    cv = Canvas(np.arange(-10, 10, 0.2), np.arange(-10, 10, 0.2), np.arange(-20, 20, 0.2))
    cv.tube(3, 3, np.array([[0, 0, -10.0], [0, 0, 10.0]]), 3.0)
    vol = (cv.tissue == 3).sum() * 0.2 ** 3
    expected = np.pi * 9 * 20 + 4 / 3 * np.pi * 27  # cylinder + two hemispherical caps
    assert abs(vol - expected) / expected < 0.02
    # painting only into organ 3 never touches background
    cv.ellipsoid(4, 4, (0, 0, 0), (8.0, 8.0, 8.0), into=lut([3]))
    assert (cv.tissue == 4).sum() == ((cv.organ == 4)).sum()
    assert not np.any((cv.tissue == 4) & (np.abs(cv.z)[:, None, None] > 13.1))


def test_shell_arc_stays_in_angle_range():
    cv = Canvas(np.arange(-60, 60, 0.5), np.arange(-60, 60, 0.5), np.zeros(1))
    f = lambda v: (lambda z: np.full(np.shape(z), v))
    cv.shell_arc(1, 1, 0.0, f(0.0), f(50.0), f(40.0), f(np.pi / 4), f(3 * np.pi / 4), f(4.0), -1, 1, side=1)
    zz, yy, xx = np.nonzero(cv.tissue)
    x, y = cv.x[xx], cv.y[yy]
    ang = np.arctan2(x, -y)
    assert x.min() >= 0 and ang.min() >= np.pi / 4 - 0.06 and ang.max() <= 3 * np.pi / 4 + 0.06
    r = np.sqrt((x / 50) ** 2 + (y / 40) ** 2)
    assert np.all(np.abs(r - 1) * 45 <= 2.5)
