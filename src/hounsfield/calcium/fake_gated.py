""""Fake gated": a non-gated chest CT made to look like a calcium-score exam.

Overlap-weighted slab averaging (:func:`hounsfield.imaging.slab_average`) of
the thin slices to 3.0 mm thickness, with a 3.0 mm increment by default or
1.5 mm (the Lessmann / van Velzen protocol; scores then carry x 1.5/3).
Averaging thin slices lowers noise and partial-volume peaks the way a 3 mm
reconstruction does, which removes most of the overestimation a thin-slice
score would show against the gated exam.

Inputs already thicker than 3 mm cannot be made thinner: they are scored at
their native thickness and flagged as non-standard.

The file written on request is named like the published pipeline's
``non_gated_FakeGated_avg_slices=4.nii.gz`` (4 = input slices per slab).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..imaging.slabs import slab_average
from ..volume import Volume

__all__ = ["FakeGated", "fake_gated", "fake_gated_name", "save_fake_gated"]

STANDARD_THICKNESS_MM = 3.0


@dataclass(frozen=True)
class FakeGated:
    """The converted volume and how it was made."""

    volume: Volume
    slices_averaged: float  # input slices per slab (slab thickness / input increment)
    thickness_mm: float
    increment_mm: float
    input_increment_mm: float
    input_thickness_mm: float | None
    standard: bool  # False when the input was thicker than 3 mm and scored natively
    note: str

    def to_dict(self) -> dict[str, object]:
        return {"slices_averaged": self.slices_averaged, "thickness_mm": self.thickness_mm,
                "increment_mm": self.increment_mm, "input_increment_mm": self.input_increment_mm,
                "input_thickness_mm": self.input_thickness_mm, "standard": self.standard, "note": self.note}


def fake_gated(volume: Volume, increment_mm: float = 3.0, thickness_mm: float = STANDARD_THICKNESS_MM) -> FakeGated:
    """Convert a non-gated CT into 3 mm slabs.

    Parameters
    ----------
    volume
        Non-gated CT (HU). Its slice axis is made the axial one first (axis
        flips/permutations only).
    increment_mm
        Output increment: 3.0 (default) or 1.5.
    thickness_mm
        Output slab thickness, 3.0 mm by the clinical definition.
    """
    if increment_mm not in (3.0, 1.5):
        raise InputError("the fake-gated increment must be 3.0 or 1.5 mm")
    v = volume if volume.slice_axis_is_z else volume.to_ras()
    d = float(np.linalg.norm(v.affine[:3, 2]))
    t_in = v.meta.thickness_mm
    eff = max(d, t_in or 0.0)
    if eff > thickness_mm + 1e-6:
        note = (f"input slices are {eff:g} mm (> {thickness_mm:g} mm): scored at native thickness, "
                "non-standard for Agatston")
        return FakeGated(v.add_decision(note), 1.0, eff, d, d, t_in, False, note)
    out = slab_average(v, thickness_mm, increment_mm)
    n = thickness_mm / d
    note = (f"fake gated: {n:g} slices of {d:g} mm averaged (overlap-weighted) into {thickness_mm:g} mm slabs "
            f"every {increment_mm:g} mm")
    out = out.add_decision(note).with_meta(description=((v.meta.description or "") + " FakeGated").strip())
    return FakeGated(out, float(round(n, 4)), thickness_mm, increment_mm, d, t_in, True, note)


def fake_gated_name(result: FakeGated, stem: str = "non_gated") -> str:
    """``<stem>_FakeGated_avg_slices=N.nii.gz`` as in the published pipeline."""
    return f"{stem}_FakeGated_avg_slices={result.slices_averaged:g}.nii.gz"


def save_fake_gated(result: FakeGated, folder: str | os.PathLike, stem: str = "non_gated") -> Path:
    """Write the fake-gated volume into ``folder`` (created if needed)."""
    from ..io import write_nifti

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return write_nifti(result.volume, folder / fake_gated_name(result, stem))
