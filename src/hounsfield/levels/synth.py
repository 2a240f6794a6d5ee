"""Synthetic training MIPs from :mod:`hounsfield.phantoms` patients.

Each patient is rendered once over a long field of view (below the femoral
heads to above the lung apices) at a coarse in-plane matrix - MIPs are
resampled to 4 mm columns anyway - with a slice thickness, increment and noise
drawn per patient; training then cuts random shorter fields of view out of it
(:func:`hounsfield.levels.data.sample_crop`). The truth is the patient's
T12 and L3 vertebral-body centre z (``truth.json`` ``levels``).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .mip import MipGrid, MipPair, compute_mips

__all__ = ["synthetic_patient_mips", "synthetic_cohort_mips"]


def synthetic_patient_mips(seed: int, index: int, grid: MipGrid = MipGrid(), matrix: int = 112
                           ) -> tuple[MipPair, np.ndarray]:
    """MIPs of synthetic patient ``index`` of cohort ``seed`` and its true ``[T12, L3]`` z (mm)."""
    from ..phantoms.chest import build_patient
    from ..phantoms.patient import patient_rng, sample_params
    from ..phantoms.scanner import Acquisition, acquire

    p = sample_params(seed, index)
    ph = build_patient(p)
    rng = patient_rng(seed, index, 31)
    lm = ph.landmarks
    z_lo = lm["femoral_head_z"] - rng.uniform(30, 90)
    z_hi = lm["lung_apex_z"] + rng.uniform(0, 60)
    thickness = float(rng.choice([1.5, 2.0, 3.0, 5.0], p=[0.15, 0.2, 0.4, 0.25]))
    inc = max(1.5, thickness * float(rng.choice([1.0, 0.8])))
    nk = int(np.ceil((z_hi - z_lo) / inc)) + 1
    fov = float(rng.uniform(360, 500))
    centre = (float(ph.body.xc + rng.normal(0, 10)), float(0.5 * lm["table_y"] + rng.uniform(0, 60)))
    acq = Acquisition(name="levels", matrix=matrix, fov_mm=fov, centre_xy=centre, z_first=float(z_lo),
                      n_slices=nk, thickness_mm=thickness, increment_mm=inc,
                      noise_sd=float(rng.uniform(8, 45) * np.sqrt(2.0 / thickness)), kernel="B30f")
    r = acquire(ph, acq, seed_seq=np.random.SeedSequence([seed, index, 331]), calcium=False)
    pair = compute_mips(r.ct, exam_id=f"synthetic_s{seed}_{index:04d}", grid=grid)
    return pair, np.array([ph.spine.z_of("T12"), ph.spine.z_of("L3")], np.float64)


def synthetic_cohort_mips(n: int, seed: int, start: int = 0, grid: MipGrid = MipGrid(), matrix: int = 112,
                          progress: Callable[[int, int], None] | None = None) -> tuple[list[MipPair], np.ndarray]:
    """MIPs and true level z of patients ``start .. start + n - 1`` of cohort ``seed``."""
    pairs, lv = [], []
    for i in range(n):
        pr, z = synthetic_patient_mips(seed, start + i, grid, matrix)
        pairs.append(pr)
        lv.append(z)
        if progress:
            progress(i + 1, n)
    return pairs, np.asarray(lv).reshape(-1, 2)
