"""Adapters: each analysis of a screening as one function returning a :class:`Section`.

An adapter calls the subsystem's library function, turns its typed result into
values (``results.json``), summary rows and figures (the report), masks
(NIfTI) and, when the exam was read from DICOM, DICOM SEG/SR objects. A
:class:`~hounsfield.errors.HounsfieldError` raised inside means "not analysed"
with that sentence as the reason (for example "heart not in the field of
view"). Models are loaded once per process (``functools.lru_cache``), so a
batch worker loads each model once.
"""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..volume import Volume
from .section import NOT_ANALYSED, Section

__all__ = ["calcium", "levels", "vertebrae", "clot", "cxr"]


def _named(name: str, title: str):  # noqa: ANN202
    def deco(fn):  # noqa: ANN001, ANN202
        fn.section_name, fn.section_title = name, title
        return fn
    return deco


def _png(writer, *args: Any, **kwargs: Any) -> bytes:  # noqa: ANN001
    """Run a PNG writer that takes a path, return the bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "figure.png"
        writer(*args, path, **kwargs)
        return path.read_bytes()


def _fmt(x: Any, nd: int = 1, unit: str = "") -> str:
    if x is None or x == "":
        return "-"
    if isinstance(x, float):
        return f"{x:.{nd}f}{unit}"
    return f"{x}{unit}"


# ----------------------------------------------------------------------------- calcium
@lru_cache(maxsize=4)
def _calcium_classifier(models_dir: str | None) -> Any:
    from ..calcium.classify import load_classifier

    return load_classifier("default", models_dir)


@_named("calcium", "Coronary artery calcium")
def calcium(volume: Volume, *, models_dir: str | None = None, dicom_outputs: bool = True) -> Section:
    from ..calcium.overlay import write_overlay
    from ..calcium.pipeline import analyse

    clf = _calcium_classifier(str(models_dir) if models_dir else None)
    res = analyse(volume, mode="auto", classifier=clf)
    d = res.to_dict()
    regions = {k: {kk: vv for kk, vv in v.items()} for k, v in d.get("regions", {}).items()}
    values = {
        "agatston": round(d["agatston"], 2), "volume_mm3": round(d["volume_mm3"], 2), "mass_mg": d["mass_mg"],
        "risk_category": d["risk_category"], "n_lesions": d["n_lesions"], "protocol": d["protocol"],
        "slice_increment_mm": d["slice_increment_mm"], "kvp": d["kvp"], "gated": d["gated"],
        "gated_reason": d["gated_reason"], "search_region": d.get("search_region"),
        "blood_pool_hu": d.get("blood_pool_hu"), "regions": regions,
        "fake_gated": d.get("fake_gated"), "lesions": d.get("lesions", []),
    }
    sec = Section("calcium", "Coronary artery calcium", values=values, warnings=list(d.get("warnings", [])))
    how = "ECG-gated exam" if d["gated"] else "non-gated exam, fake-gated to 3 mm slabs"
    sec.summary = [
        ("Agatston score", f"{d['agatston']:.1f} (category {d['risk_category']})"),
        ("Volume score", f"{d['volume_mm3']:.1f} mm3"),
        ("Mass score", "not calibrated" if d["mass_mg"] is None else f"{d['mass_mg']:.1f} mg"),
        ("Lesions", str(d["n_lesions"])),
    ]
    for name in ("LM", "LAD", "LCX", "RCA"):
        if name in regions:
            sec.summary.append((f"Agatston {name}", _fmt(float(regions[name]["agatston"]))))
    sec.summary += [("Scored as", f"{how} ({d['gated_reason']})"), ("Protocol", d["protocol"]),
                    ("Search region", str(d.get("search_region")))]
    if res.scored is not None and getattr(res.score, "lesion_map", None) is not None:
        sec.figures["calcium_overlay"] = _png(write_overlay, res)
    if clf is not None and hasattr(clf, "entry"):
        sec.models.append(clf.entry.summary())
    elif d.get("lesion_classifier"):
        info = d["lesion_classifier"]
        sec.models.append({k: info.get(k) for k in ("name", "sha256", "trained_on", "task") if k in info})
    if dicom_outputs and volume.meta.extra.get("source_files") and d["gated"]:
        # lesions and scores for PACS (only on the grid of the source images: the gated exam)
        from ..io.export import write_calcium_sr

        with tempfile.TemporaryDirectory() as tmp:
            p = write_calcium_sr(volume, d, Path(tmp) / "calcium_sr.dcm")
            sec.masks["calcium_sr.dcm"] = p.read_bytes()
    return sec


# ----------------------------------------------------------------------------- levels
@lru_cache(maxsize=4)
def _levels_predictor(models_dir: str | None) -> Any:
    from ..levels.predict import load_predictor

    return load_predictor(None, models_dir)


@_named("levels", "T12 / L3 levels and body composition at L3")
def levels(volume: Volume, *, models_dir: str | None = None, dicom_outputs: bool = True) -> Section:
    from ..levels.bodycomp import body_composition, bodycomp_overlay
    from ..levels.mip import compute_mips
    from ..levels.predict import overlay_png

    pred = _levels_predictor(str(models_dir) if models_dir else None)
    result = pred.predict(compute_mips(volume, exam_id=volume.meta.source or ""))
    values: dict[str, Any] = {}
    sec = Section("levels", "T12 / L3 levels and body composition at L3")
    for lev, a in result.answers.items():
        values[f"{lev}_slice"] = a.slice
        values[f"{lev}_z_mm"] = None if a.z_mm is None else round(a.z_mm, 2)
        values[f"{lev}_confidence"] = round(a.confidence, 3)
        if a.reason:
            values[f"{lev}_reason"] = a.reason
        sec.summary.append((f"{lev} slice", f"{a.slice} (z = {a.z_mm:.1f} mm, confidence {a.confidence:.2f})"
                            if a.slice is not None else f"not found: {a.reason}"))
    sec.figures["levels_mip"] = _png(overlay_png, result)
    if result.model:
        sec.models.append(result.model)
    l3 = result.answers.get("L3")
    if l3 is not None and l3.slice is not None:
        comp, masks, hu = body_composition(volume, l3.slice, level="L3")
        c = comp.to_dict()
        values.update({
            "L3_muscle_area_cm2": round(c["muscle_area_cm2"], 2), "L3_muscle_hu": c["muscle_hu"],
            "L3_sat_area_cm2": round(c["sat_area_cm2"], 2), "L3_vat_area_cm2": round(c["vat_area_cm2"], 2),
            "L3_imat_area_cm2": round(c["imat_area_cm2"], 2), "bodycomp_method": c["method"],
        })
        sec.summary += [
            ("L3 skeletal muscle", f"{c['muscle_area_cm2']:.1f} cm2, mean {_fmt(c['muscle_hu'])} HU"),
            ("L3 subcutaneous fat", f"{c['sat_area_cm2']:.1f} cm2"),
            ("L3 visceral fat", f"{c['vat_area_cm2']:.1f} cm2"),
            ("L3 intermuscular fat", f"{c['imat_area_cm2']:.1f} cm2"),
        ]
        sec.figures["bodycomp_L3"] = _png(bodycomp_overlay, hu, masks, title=f"L3 (slice {l3.slice})")
    else:
        sec.warnings.append("body composition not measured: L3 not in the field of view")
    sec.values = values
    return sec


# ----------------------------------------------------------------------------- vertebrae
@_named("vertebrae", "Vertebrae")
def vertebrae(volume: Volume, *, models_dir: str | None = None, dicom_outputs: bool = True) -> Section:
    from ..vertebrae.model import load_model
    from ..vertebrae.predict import label_map

    model = load_model(models_dir=models_dir)  # the bundled parameters, as `hounsfield vertebrae` uses them
    det = model.detect(volume)
    d = det.to_dict()
    names = [v["label"] for v in d["vertebrae"]]
    sec = Section("vertebrae", "Vertebrae", values={"n_vertebrae": len(names),
                                                    "vertebrae_found": ",".join(names), **d})
    if not names:
        sec.status = NOT_ANALYSED
        sec.reason = d.get("unlabelled") or "no vertebra found in the field of view"
        return sec
    sec.summary = [("Vertebrae found", f"{names[0]} to {names[-1]} ({len(names)})"),
                   ("Labelling anchored on", str(d.get("anchor")))]
    if model.summary:  # empty when no manifest entry was found and the built-in defaults ran
        sec.models.append(model.summary)
    labels = label_map(det, volume)
    sec.masks["vertebrae.nii.gz"] = labels
    sec.figures["vertebrae"] = _png(_vertebra_figure, volume, det)
    if dicom_outputs and volume.meta.extra.get("source_files"):
        from ..io.export import write_seg
        from ..vertebrae.formats import label_name

        import numpy as np

        segs = {int(v): label_name(int(v)) for v in np.unique(labels.array) if v}
        with tempfile.TemporaryDirectory() as tmp:
            p = write_seg(labels, volume, segs, Path(tmp) / "vertebrae_seg.dcm", kind="vertebrae")
            sec.masks["vertebrae_seg.dcm"] = p.read_bytes()
    return sec


def _vertebra_figure(volume: Volume, det: Any, path: Path) -> None:
    """Sagittal MIP of bone with the labelled centroids."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    v = volume.to_ras()
    # a 40 mm sagittal slab around the spine (a full-width MIP is all ribs)
    xs = [c.xyz[0] for c in det.centroids]
    i0 = float(v.voxel([float(np.median(xs)), 0, 0])[0]) if xs else v.shape[0] / 2
    half = max(1, int(round(20.0 / v.spacing[0])))
    lo, hi = max(0, int(i0) - half), min(v.shape[0], int(i0) + half + 1)
    arr = np.clip(v.array[lo:hi], -200, 1200).astype(np.float32)
    mip = arr.max(axis=0).T  # (k, j): z up with origin="lower"
    sp = v.spacing
    fig, ax = plt.subplots(figsize=(4, 6))
    extent = [v.affine[1, 3], v.affine[1, 3] + sp[1] * arr.shape[1], v.affine[2, 3], v.affine[2, 3] + sp[2] * arr.shape[2]]
    ax.imshow(mip, cmap="gray", origin="lower", extent=extent, aspect="equal")
    for c in det.centroids:
        ax.plot(c.xyz[1], c.xyz[2], "o", color="#f52", ms=4)
        ax.text(c.xyz[1] - 25, c.xyz[2], c.name, color="#ff0", fontsize=7, ha="right", va="center")
    ax.set_xlabel("y (mm, anterior +)")
    ax.set_ylabel("z (mm, superior +)")
    ax.set_title("vertebrae (sagittal MIP)")
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


# ----------------------------------------------------------------------------- clot
@_named("clot", "Stroke clot (CTA + NCCT)")
def clot(folder: Path, *, models_dir: str | None = None, dicom_outputs: bool = True) -> Section:
    from ..clot.predict import segment_clot
    from ..io import read

    files = {p.name.split(".")[0].lower(): p for p in Path(folder).iterdir() if p.is_file()}
    cta = read(files["cta"]) if "cta" in files else None
    ncct = read(files["ncct"]) if "ncct" in files else None
    res = segment_clot(cta, ncct)
    m = {k: v for k, v in res.measurements.items() if isinstance(v, (int, float, str, bool)) or v is None}
    values = {f"clot_{k}": v for k, v in m.items()}
    values["clot_notes"] = "; ".join(res.notes)
    sec = Section("clot", "Stroke clot (CTA + NCCT)", values=values, warnings=list(res.notes))
    sec.summary = [(k.replace("_", " "), _fmt(v)) for k, v in m.items()]
    sec.masks["clot.nii.gz"] = res.mask
    if res.model:
        sec.models.append({k: res.model.get(k) for k in ("name", "task", "sha256", "trained_on") if k in res.model})
    return sec


# ----------------------------------------------------------------------------- cxr
@_named("cxr", "Coronary calcium from the chest radiograph")
def cxr(path: Path, *, models_dir: str | None = None, dicom_outputs: bool = True) -> Section:
    from ..cxr.predict import predict_files, resolve_model

    model, label = resolve_model(None, models_dir)
    (row,) = predict_files([path], model, label)
    if row["status"] != "ok":  # a lateral or non-chest film (view_check)
        return Section("cxr", "Coronary calcium from the chest radiograph", status=NOT_ANALYSED, reason=row["note"])
    values = {k: v for k, v in row.items() if k != "status" and (isinstance(v, (int, float, str, bool)) or v is None)}
    sec = Section("cxr", "Coronary calcium from the chest radiograph", values=values,
                  warnings=[row["note"]] if row.get("note") else [])
    sec.summary = [(k, _fmt(v, 3)) for k, v in values.items() if k != "image"]
    if label:
        sec.models.append({"name": label, "trained_on": values.get("trained_on", "")})
    return sec
