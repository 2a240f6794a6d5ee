"""Checks that a volume is what a command analyses."""

from __future__ import annotations

from ..errors import UnsupportedInputError
from ..volume import Volume

__all__ = ["require_ct"]


def require_ct(volume: Volume, command: str = "this command") -> Volume:
    """Refuse non-CT volumes (MR, X-ray, PET...) with one clear sentence.

    A volume of unknown modality (a NIfTI without sidecar) is accepted when its
    values look like Hounsfield units (air near -1000 present or a range within
    -2048..4095 with integer voxels).
    """
    src = volume.meta.source or "input"
    modality = (volume.meta.modality or "").upper()
    if modality and modality != "CT":
        raise UnsupportedInputError(f"{src}: modality {modality}, but {command} needs CT")
    if volume.shape[2] < 2:
        raise UnsupportedInputError(f"{src}: a single slice; {command} needs a volume")
    if not modality:
        arr = volume.array
        lo, hi = float(arr.min()), float(arr.max())
        if lo < -2100 or hi > 33000 or (lo >= 0 and hi > 0):
            raise UnsupportedInputError(
                f"{src}: values {lo:g}..{hi:g} do not look like CT Hounsfield units; {command} needs CT"
            )
    return volume
