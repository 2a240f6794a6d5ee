"""Small hand-built CT volumes for the level tests."""

from __future__ import annotations

import numpy as np

from hounsfield.volume import Volume


def torso(shape=(60, 50, 40), spacing=(4.0, 4.0, 5.0), bone_k=(22, 24), table=True, z0=-100.0) -> Volume:
    """A soft-tissue elliptic cylinder (40 HU) in air with a 'vertebra' (700 HU) at slices bone_k,
    a continuous 'spine' (300 HU) and a thin table (200 HU) below the body, separated by air."""
    nx, ny, nz = shape
    a = np.full(shape, -1000, np.int16)
    x = np.arange(nx)[:, None] - (nx - 1) / 2
    y = np.arange(ny)[None, :] - (ny - 1) / 2 + 3
    body = (x / (nx * 0.4)) ** 2 + (y / (ny * 0.33)) ** 2 <= 1
    a[body] = 40
    # spine column, posterior-central (low j is posterior in RAS)
    sp = (np.abs(x) <= 2) & (np.abs(y + 8) <= 2)
    a[sp] = 300
    a[:, :, bone_k[0]:bone_k[1] + 1][np.broadcast_to(sp[..., None], (nx, ny, bone_k[1] - bone_k[0] + 1))] = 700
    if table:
        a[5:-5, 1:3, :] = 200  # a thin table along j = 1..2, far from the body
    aff = np.diag([spacing[0], spacing[1], spacing[2], 1.0])
    aff[:3, 3] = [-nx * spacing[0] / 2, -ny * spacing[1] / 2, z0]
    return Volume(a, aff)
