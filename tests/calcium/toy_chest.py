"""A tiny noise-free chest (body, two lungs, heart, spine, two plaques) with an exact known score."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from hounsfield.volume import Volume, VolumeMeta

#: two 3 x 3 mm plaques at 300 HU, 3 mm long (one gated slice): 9 mm^2 x weight 3 each
EXPECTED_AGATSTON = 2 * 9.0 * 3
PLAQUE_CENTRES_MM = ((-37.5, 20.5), (28.5, -10.5))  # (x, y) just inside the heart's surface


@lru_cache(maxsize=8)
def toy_chest(dz: float = 3.0, pixel: float = 1.0, contrast: bool = False, heart_hu: float = 40.0) -> Volume:
    """Axial slices, RAS, z from 0 to 120 mm; plaques in z 57-60 mm (one 3 mm slab)."""
    nx, ny = int(240 / pixel), int(200 / pixel)
    nz = int(round(120 / dz))
    x = (np.arange(nx) - (nx - 1) / 2) * pixel
    y = (np.arange(ny) - (ny - 1) / 2) * pixel
    z = (np.arange(nz) + 0.5) * dz  # slice centres; slice k covers [k dz, (k+1) dz]
    X, Y, Z = np.meshgrid(x, y, z, indexing="ij")
    a = np.full((nx, ny, nz), -1000.0, np.float32)
    body = (X / 110) ** 2 + (Y / 90) ** 2 <= 1
    a[body] = 20.0
    for sx in (-1, 1):
        lung = ((X - sx * 55) / 38) ** 2 + ((Y + 5) / 60) ** 2 + ((Z - 60) / 58) ** 2 <= 1
        a[lung] = -850.0
    heart = (X / 40) ** 2 + ((Y - 15) / 40) ** 2 + ((Z - 55) / 45) ** 2 <= 1
    a[heart] = 300.0 if contrast else heart_hu
    spine = (X / 14) ** 2 + ((Y + 62) / 14) ** 2 <= 1
    a[spine] = 450.0
    zin = (Z >= 57.0 - 1e-6) & (Z < 60.0 - 1e-6)
    for cx, cy in PLAQUE_CENTRES_MM:
        sq = (np.abs(X - cx) < 1.5) & (np.abs(Y - cy) < 1.5)
        a[sq & zin] = 300.0
    aff = np.diag([pixel, pixel, dz, 1.0])
    aff[:3, 3] = (x[0], y[0], z[0])
    meta = VolumeMeta(modality="CT", kvp=120.0, thickness_mm=dz, increment_mm=dz)
    return Volume(np.rint(a).astype(np.int16), aff, meta)
