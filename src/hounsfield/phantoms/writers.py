"""Write a generated patient in the layouts people use.

* ``nifti`` (default): ``<patient>/gated.nii.gz``, ``non_gated.nii.gz``, label maps
  ``<volume>_{lesions,lesions4,calcium,heart,aorta,bones,vertebrae,organs}.nii.gz``
  and ``truth.json``.
* ``dicom``: ``<patient>/gated/G*.dcm`` and ``<patient>/non_gated/SG*.dcm`` series.
* ``calcium-study``: the published calcium-study layout, ``<patient>/G*.dcm`` (gated)
  + ``<patient>/SG*.dcm`` (non-gated) in one folder.
* ``verse``: ``<patient>/sub-<id>_ct.nii.gz``, ``sub-<id>_seg-vert_msk.nii.gz`` and
  ``sub-<id>_seg-subreg_ctd.json`` from the non-gated volume.
* ``mip``: one ``mips.npz`` for the cohort (frontal and sagittal MIPs of the
  non-gated volumes with exam ids, slice thickness and the T12/L3 rows).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ..io import write_dicom_series, write_json, write_nifti
from ..volume import Volume
from .scanner import Rendered
from .tissues import BONE_TISSUES, O

__all__ = ["FORMATS", "write_patient", "write_verse_centroids", "mip_record", "write_mip_archive"]

FORMATS = ("nifti", "dicom", "calcium-study", "verse", "mip")


def _labels(r: Rendered) -> dict[str, np.ndarray]:
    from .truth import coronary_map

    organ, tissue = r.organ, r.tissue
    bone_lut = np.zeros(256, np.uint8)
    bone_lut[list(BONE_TISSUES)] = 1
    vert_lut = np.arange(256, dtype=np.uint8)
    vert_lut[29:] = 0
    bones = bone_lut[tissue]
    return {
        "lesions": coronary_map(r.calcium, "orcascore"),
        "lesions4": coronary_map(r.calcium, "4"),
        "calcium": r.calcium,
        "heart": (organ == O.HEART).astype(np.uint8),
        "aorta": (organ == O.AORTA).astype(np.uint8),
        "bones": bones,
        "vertebrae": vert_lut[organ] * bones,
        "organs": organ,
    }


def _mask_volume(r: Rendered, arr: np.ndarray, what: str) -> Volume:
    return Volume(arr, r.ct.affine, r.ct.meta.replace(description=f"hounsfield phantom {what}"))


def write_patient(result, folder: str | Path, formats: Iterable[str] = ("nifti",), *,
                  masks: bool = True, compresslevel: int = 1) -> list[Path]:
    """Write ``result`` (a :class:`~.generate.PatientResult`) under ``folder`` (the patient folder)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    formats = list(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown format(s) {unknown}; choose from {', '.join(FORMATS)}")
    written: list[Path] = []
    truth = dict(result.truth)
    files: dict[str, Any] = {}
    if "nifti" in formats:
        for name, r in (("gated", result.gated), ("non_gated", result.non_gated)):
            written.append(write_nifti(r.ct, folder / f"{name}.nii.gz", sidecar=True, compresslevel=compresslevel))
            files[name] = f"{name}.nii.gz"
            if masks:
                for key, arr in _labels(r).items():
                    p = folder / f"{name}_{key}.nii.gz"
                    written.append(write_nifti(_mask_volume(r, arr, key), p, compresslevel=compresslevel))
                    files[f"{name}_{key}"] = p.name
    if "dicom" in formats:
        for name, r, prefix in (("gated", result.gated, "G"), ("non_gated", result.non_gated, "SG")):
            written += write_dicom_series(r.ct, folder / name, prefix=prefix, patient_id=result.patient_id,
                                          series_description=f"phantom {name}", series_number=1 if prefix == "G" else 2,
                                          extra=_dicom_extra(r))
            files[f"{name}_dicom"] = f"{name}/{prefix}*.dcm"
    if "calcium-study" in formats:
        import pydicom.uid

        study = pydicom.uid.generate_uid()
        for name, r, prefix in (("gated", result.gated, "G"), ("non_gated", result.non_gated, "SG")):
            written += write_dicom_series(r.ct, folder, prefix=prefix, patient_id=result.patient_id, study_uid=study,
                                          series_description=f"phantom {name}", series_number=1 if prefix == "G" else 2,
                                          extra=_dicom_extra(r))
            files[f"{name}_calcium_study"] = f"{prefix}*.dcm"
    if "verse" in formats:
        sub = f"sub-{result.patient_id.replace('_', '')}"
        r = result.non_gated
        lab = _labels(r)["vertebrae"]
        written.append(write_nifti(r.ct, folder / f"{sub}_ct.nii.gz", compresslevel=compresslevel))
        written.append(write_nifti(_mask_volume(r, lab, "vertebrae"), folder / f"{sub}_seg-vert_msk.nii.gz",
                                   compresslevel=compresslevel))
        written.append(write_verse_centroids(result.truth["vertebrae"], r.ct, folder / f"{sub}_seg-subreg_ctd.json"))
        files["verse"] = [p.name for p in written[-3:]]
    truth["files"] = files
    written.append(write_json(truth, folder / "truth.json"))
    return written


def _dicom_extra(r: Rendered) -> dict[str, Any]:
    if r.acquisition.gated:
        return {"CardiacSynchronizationTechnique": "PROSPECTIVE", "ImageType": ["ORIGINAL", "PRIMARY", "AXIAL", "CARDIAC"]}
    return {}


def write_verse_centroids(vertebrae: list[dict], ct: Volume, path: str | Path) -> Path:
    """VerSe ``*_seg-subreg_ctd.json``: first the image's axis codes, then label and voxel X, Y, Z
    of each vertebral-body centre inside the volume."""
    import nibabel as nib

    codes = list(nib.aff2axcodes(ct.affine))
    rows: list[dict[str, Any]] = [{"direction": codes}]
    for v in vertebrae:
        ijk = ct.voxel(v["centroid_mm"])
        if np.all(ijk >= -0.5) and np.all(ijk <= np.array(ct.shape) - 0.5):
            rows.append({"label": int(v["verse_label"]), "X": round(float(ijk[0]), 2), "Y": round(float(ijk[1]), 2),
                         "Z": round(float(ijk[2]), 2)})
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(rows))
    tmp.replace(path)
    return path


def mip_record(result, pixel_mm: float = 1.0) -> dict[str, Any]:
    """MIPs of the non-gated volume and the T12/L3 rows in them (None outside the field of view)."""
    from ..imaging.mip import mip_pair

    ct = result.non_gated.ct
    f, s = mip_pair(ct, pixel_mm=pixel_mm)
    nk = ct.shape[2]
    z_top = float(ct.slice_z_mm(nk - 1))
    rows = {}
    for lev in ("T12", "L3"):
        k = result.truth["levels"][f"{lev}_slice"]["non_gated"]
        if k is None:
            rows[lev] = -1.0
        else:
            z = result.truth["levels"][f"{lev}_z_mm"]
            rows[lev] = float((z_top - z) / ct.spacing[2] * (f.shape[0] - 1) / max(nk - 1, 1))
    return {"id": result.patient_id, "frontal": f, "sagittal": s, "thickness": float(ct.meta.thickness_mm or 0),
            "rows": rows, "T12_slice": result.truth["levels"]["T12_slice"]["non_gated"],
            "L3_slice": result.truth["levels"]["L3_slice"]["non_gated"]}


def write_mip_archive(records: list[dict[str, Any]], path: str | Path, pixel_mm: float = 1.0) -> Path:
    """One ``.npz`` for many patients (see :func:`hounsfield.imaging.save_mip_npz`)."""
    from ..imaging.mip import save_mip_npz

    return save_mip_npz(path, [r["id"] for r in records], [r["frontal"] for r in records],
                        [r["sagittal"] for r in records], [r["thickness"] for r in records], pixel_mm=pixel_mm,
                        ydata_T12=[r["rows"]["T12"] for r in records], ydata_L3=[r["rows"]["L3"] for r in records],
                        T12_slice=[-1 if r["T12_slice"] is None else r["T12_slice"] for r in records],
                        L3_slice=[-1 if r["L3_slice"] is None else r["L3_slice"] for r in records])
