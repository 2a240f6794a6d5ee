"""Calcium scores as a TID 1500 Comprehensive 3D SR referencing the source series."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ... import __version__
from ..._optional import import_optional
from ...volume import Volume
from .common import source_datasets

__all__ = ["write_calcium_sr"]

_ARTERY_SITES = {
    "LM": ("3227004", "Left Main Coronary Artery"),
    "LAD": ("59438005", "Left Anterior Descending Coronary Artery"),
    "LCX": ("41879009", "Circumflex Coronary Artery"),
    "RCA": ("13647002", "Right Coronary Artery"),
}


def write_calcium_sr(
    source: Volume,
    scores: dict[str, Any],
    path: str | os.PathLike,
) -> Path:
    """Write total and per-artery Agatston, volume and mass scores.

    ``scores`` is the calcium result dictionary (``agatston``, ``volume_mm3``,
    ``mass_mg``, ``risk_category``, ``regions`` -> {name: {agatston, volume_mm3, mass_mg}}).
    Mass is written only when it was calibrated (never guessed).
    """
    hd = import_optional("highdicom", "dicom-export", "DICOM SR export")
    from pydicom.sr.codedict import codes

    evidence = source_datasets(source)
    unit_none = hd.sr.CodedConcept("1", "UCUM", "no units")
    mm3 = hd.sr.CodedConcept("mm3", "UCUM", "cubic millimeter")
    mg = hd.sr.CodedConcept("mg", "UCUM", "milligram")
    algo = hd.sr.AlgorithmIdentification(name="hounsfield", version=__version__)

    def group(name: str, values: dict[str, Any], site: tuple[str, str] | None) -> Any:
        ms = [hd.sr.Measurement(name=codes.DCM.CalciumScore, value=float(values["agatston"]), unit=unit_none,
                                method=codes.DCM.AgatstonScoringMethod, algorithm_id=algo)]
        ms.append(hd.sr.Measurement(name=codes.DCM.CalciumVolume, value=float(values["volume_mm3"]), unit=mm3,
                                    algorithm_id=algo))
        if values.get("mass_mg") is not None:
            ms.append(hd.sr.Measurement(name=codes.DCM.CalciumMass, value=float(values["mass_mg"]), unit=mg,
                                        algorithm_id=algo))
        sites = [hd.sr.FindingSite(hd.sr.CodedConcept(site[0], "SCT", site[1]))] if site else None
        return hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier=name),
            finding_type=codes.SCT.CoronaryArteryCalciumScore, finding_sites=sites, measurements=ms,
            algorithm_id=algo,
        )

    groups = [group("coronary calcium (total)", scores, ("41801008", "Coronary artery"))]
    for name, values in (scores.get("regions") or {}).items():
        if name in _ARTERY_SITES:
            groups.append(group(f"coronary calcium {name}", values, _ARTERY_SITES[name]))
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=hd.UID(), name="hounsfield", model_name=f"hounsfield {__version__}"),
    )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=codes.SCT.CardiacCTForCalciumScoring if hasattr(codes.SCT, "CardiacCTForCalciumScoring")
        else hd.sr.CodedConcept("CT", "DCM", "CT"),
        imaging_measurements=groups,
    )
    sr = hd.sr.Comprehensive3DSR(
        evidence=evidence, content=report, series_instance_uid=hd.UID(), series_number=902,
        sop_instance_uid=hd.UID(), instance_number=1, manufacturer="hounsfield", is_complete=True,
        series_description="hounsfield calcium scores",
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    sr.save_as(tmp)
    os.replace(tmp, path)
    return path
