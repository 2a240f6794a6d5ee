"""Label maps as DICOM Segmentation objects referencing their source series."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ... import __version__
from ..._optional import import_optional
from ...errors import InputError
from ...volume import Volume, VolumeMeta
from .common import source_datasets

__all__ = ["read_seg", "write_seg", "VERTEBRA_CODES"]

_VERTEBRA_NAMES = [f"C{i}" for i in range(1, 8)] + [f"T{i}" for i in range(1, 13)] + [f"L{i}" for i in range(1, 7)]
#: VerSe label -> SNOMED attribute name in pydicom's code dictionary (None: generic "Vertebra")
VERTEBRA_CODES = {n + 1: f"{name}Vertebra" for n, name in enumerate(_VERTEBRA_NAMES)}


def _segment_code(name: str, kind: str):  # noqa: ANN202
    hd = import_optional("highdicom", "dicom-export", "DICOM SEG export")
    from pydicom.sr.codedict import codes

    if kind == "vertebrae":
        category = codes.SCT.AnatomicalStructure
        attr = f"{name}Vertebra"
        type_ = getattr(codes.SCT, attr, None) if hasattr(codes.SCT, attr) else None
        if name in ("sacrum", "S1"):
            type_ = codes.SCT.Sacrum
        return category, type_ or codes.SCT.Vertebra
    category = hd.sr.CodedConcept("49755003", "SCT", "Morphologically Altered Structure")
    return category, hd.sr.CodedConcept("18115005", "SCT", "Pathologic calcification")


def write_seg(
    labels: Volume,
    source: Volume,
    segments: dict[int, str],
    path: str | os.PathLike,
    *,
    kind: str = "calcium",
    series_description: str | None = None,
) -> Path:
    """Write the non-zero labels of ``labels`` as a binary DICOM SEG.

    ``labels`` is aligned to ``source`` in world space (nearest neighbour) if its
    grid differs; ``segments`` names each label value (values without a name
    are not exported). ``kind`` picks the coded concepts: ``"calcium"``
    (pathologic calcification, finding site in the label) or ``"vertebrae"``
    (SNOMED vertebra codes).
    """
    hd = import_optional("highdicom", "dicom-export", "DICOM SEG export")
    sources = source_datasets(source)
    if labels.shape != source.shape or not np.allclose(labels.affine, source.affine, atol=1e-3):
        labels = labels.resample_like(source, order=0)
    lab = np.asarray(labels.array)
    if lab.min() < 0:
        raise InputError("label maps must not hold negative values")
    counts = np.bincount(lab.ravel().astype(np.int64, copy=False))
    present = [v for v in sorted(segments) if 0 < v < counts.size and counts[v]]
    if not present:
        raise InputError("nothing to export: none of the named labels is present")
    # segment numbers 1..n; frames in source order: frame k = slice k with rows reversed back to DICOM order
    remap = np.zeros(counts.size, np.uint16)
    remap[present] = np.arange(1, len(present) + 1)
    frames = np.ascontiguousarray(np.transpose(remap[lab][:, ::-1, :], (2, 1, 0)))
    descriptions = []
    algo = hd.AlgorithmIdentificationSequence(name="hounsfield", version=__version__,
                                              family=hd.sr.CodedConcept("113012", "DCM", "Computer Aided Detection"))
    for n, v in enumerate(present, 1):
        category, type_ = _segment_code(segments[v], kind)
        descriptions.append(hd.seg.SegmentDescription(
            segment_number=n, segment_label=segments[v][:64], segmented_property_category=category,
            segmented_property_type=type_, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algo,
        ))
    seg = hd.seg.Segmentation(
        source_images=sources, pixel_array=frames, segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions, series_instance_uid=hd.UID(), series_number=901,
        sop_instance_uid=hd.UID(), instance_number=1, manufacturer="hounsfield",
        manufacturer_model_name="hounsfield", software_versions=__version__, device_serial_number="0",
        series_description=(series_description or f"hounsfield {kind}")[:64], omit_empty_frames=True,
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    seg.save_as(tmp)
    os.replace(tmp, path)
    return path


def read_seg(path: str | os.PathLike) -> Volume:
    """A DICOM SEG as a label map in world space: each voxel holds its segment number (0 none).

    The frames are placed by highdicom from their plane positions (LPS) and
    converted to hounsfield's RAS affine, so the map aligns with any scan of
    the same frame of reference (resampled by world coordinates where used).
    Overlapping segments keep the higher segment number. The segment labels are
    kept in ``meta.extra["segments"]`` ({number: label}).
    """
    hd = import_optional("highdicom", "dicom-export", "reading DICOM SEG")
    try:
        seg = hd.seg.segread(str(path))
    except Exception as exc:  # pydicom/highdicom raise many kinds for a file that is not a SEG
        raise InputError(f"{path}: not a readable DICOM SEG ({type(exc).__name__}: {exc})") from None
    numbers = [int(d.SegmentNumber) for d in seg.SegmentSequence]
    try:
        vol = seg.get_volume(combine_segments=True, relabel=False, skip_overlap_checks=True)
    except Exception as exc:
        raise InputError(f"{path}: the SEG frames do not form a regular volume ({exc})") from None
    if vol is None:
        raise InputError(f"{path}: the SEG holds no frames")
    lps_to_ras = np.diag([-1.0, -1.0, 1.0, 1.0])
    labels = {int(d.SegmentNumber): str(d.SegmentLabel) for d in seg.SegmentSequence}
    meta = VolumeMeta(description=f"DICOM SEG {getattr(seg, 'SeriesDescription', '')}".strip(),
                      extra={"segments": labels, "segment_numbers": numbers})
    return Volume(np.asarray(vol.array).astype(np.uint16), lps_to_ras @ np.asarray(vol.affine, np.float64), meta)
