"""A tiny example CT written as DICOM, for the README's first run and for tests.

``python -m hounsfield.examples OUT`` writes a 64-slice series of a water
cylinder with an off-centre bone rod and an air hole (deliberately asymmetric,
so flips and axis swaps are visible). The realistic synthetic patients are in
:mod:`hounsfield.phantoms`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from .volume import LPS_TO_RAS, Volume, VolumeMeta

__all__ = ["cylinder_ct", "main"]


def cylinder_ct(shape: tuple[int, int, int] = (96, 80, 64), spacing: tuple[float, float, float] = (0.8, 0.8, 2.0),
                seed: int = 0) -> Volume:
    """An asymmetric cylinder phantom in HU (int16), stored like a DICOM axial series (LPS)."""
    rng = np.random.default_rng(seed)
    ni, nj, nk = shape
    i, j, k = np.meshgrid(np.arange(ni), np.arange(nj), np.arange(nk), indexing="ij")
    x = (i - ni / 2) * spacing[0]
    y = (j - nj / 2) * spacing[1]
    arr = np.full(shape, -1000.0)
    body = (x / (0.42 * ni * spacing[0])) ** 2 + (y / (0.42 * nj * spacing[1])) ** 2 <= 1
    arr[body] = 0.0
    rod = ((x - 0.2 * ni * spacing[0]) ** 2 + (y + 0.1 * nj * spacing[1]) ** 2 <= 36) & (k > nk // 4)
    arr[rod] = 700.0 + 4.0 * k[rod]  # rod brightens towards the last slices
    hole = ((x + 0.15 * ni * spacing[0]) ** 2 + (y - 0.12 * nj * spacing[1]) ** 2 <= 16) & (k < nk // 2)
    arr[hole] = -1000.0
    arr += rng.normal(0, 10, shape)
    lps = np.diag([spacing[0], -spacing[1], spacing[2], 1.0])  # stored LAS, as a DICOM axial series reads
    lps[:3, 3] = [-ni * spacing[0] / 2, nj * spacing[1] / 2, -100.0]
    meta = VolumeMeta(modality="CT", kvp=120, thickness_mm=spacing[2], increment_mm=spacing[2],
                      description="hounsfield example cylinder", patient_id="EXAMPLE")
    return Volume(np.rint(arr).astype(np.int16), LPS_TO_RAS @ lps, meta)


def main(argv: list[str] | None = None) -> int:
    from .io import write_dicom_series

    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "example_dicom")
    files = write_dicom_series(cylinder_ct(), out, prefix="IM")
    print(f"wrote {len(files)} DICOM files to {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
