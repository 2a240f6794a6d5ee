"""One call per patient: parameters -> description -> gated + non-gated volumes -> truth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import __version__
from .chest import ChestPhantom, build_patient
from .patient import PatientParams, patient_rng, sample_params
from .scanner import Acquisition, Rendered, acquire, gated_acquisition, non_gated_acquisition
from .truth import (body_composition, calcium_legend, calcium_truth, level_truth, organ_legend, vertebra_truth)

__all__ = ["PatientResult", "generate_patient"]


@dataclass
class PatientResult:
    patient_id: str
    params: PatientParams
    phantom: ChestPhantom
    gated: Rendered
    non_gated: Rendered
    truth: dict[str, Any]


def generate_patient(seed: int, index: int = 0, *, matrix: int = 512, gated_matrix: int = 512,
                     coverage: str | None = None, thickness: float | None = None, max_slices: int | None = 700,
                     contrast: bool = False, zero_cac_rate: float = 0.5, transitional_rate: float = 0.08,
                     params: PatientParams | None = None) -> PatientResult:
    """Generate patient ``index`` of cohort ``seed`` (byte-identical for the same arguments).

    Parameters
    ----------
    matrix, gated_matrix
        In-plane matrix of the non-gated and gated volumes (512 clinical; smaller for fast tests).
    coverage
        Non-gated z coverage: ``'chest'``, ``'chest_abdomen'``, ``'abdomen'`` or None (drawn per patient).
    thickness
        Non-gated slice thickness in mm (None: drawn from 1-1.5 mm and 2-5 mm protocols).
    """
    p = params or sample_params(seed, index, zero_cac_rate=zero_cac_rate, transitional_rate=transitional_rate,
                                contrast=contrast)
    ph = build_patient(p)
    arng = patient_rng(seed, index, 7)
    g_acq = gated_acquisition(ph, arng, matrix=gated_matrix)
    n_acq = non_gated_acquisition(ph, arng, matrix=matrix, coverage=coverage, thickness=thickness,
                                  max_slices=max_slices)
    gated = acquire(ph, g_acq, seed_seq=np.random.SeedSequence([seed, index, 100]))
    non_gated = acquire(ph, n_acq, seed_seq=np.random.SeedSequence([seed, index, 101]))
    pid = f"patient_{index:04d}"
    acqs = {"gated": g_acq, "non_gated": n_acq}
    truth: dict[str, Any] = {"patient_id": pid, "seed": int(seed), "index": int(index),
                             "generator": f"hounsfield.phantoms {__version__}", "synthetic": True}
    truth.update(calcium_truth(gated.ct, gated.calcium, ph.plaques, ph.distractors))
    truth["vertebrae"] = vertebra_truth(ph.spine, acqs)
    truth["levels"] = level_truth(ph.spine, acqs)
    z_l3 = ph.spine.z_of("L3")
    truth["body_composition"] = body_composition(ph, z_l3)
    truth["anatomy"] = {
        "sex": p.sex, "age": p.age, "transitional": p.transitional,
        "n_thoracic": sum(1 for v in ph.spine.vertebrae if v.name[0] == "T"),
        "n_lumbar": sum(1 for v in ph.spine.vertebrae if v.name[0] == "L"),
        "n_rib_pairs": sum(1 for v in ph.spine.vertebrae if v.name[0] == "T"),
        "heart_centre_mm": [round(float(v), 2) for v in ph.heart.centre],
        "heart_axes_mm": [round(2 * float(v), 2) for v in (ph.heart.A, ph.heart.B, ph.heart.C)],
        "contrast": p.contrast,
        "landmarks_z_mm": {k: round(float(v), 2) for k, v in ph.landmarks.items() if k.endswith("_z")},
    }
    truth["volumes"] = {name: _acq_info(a, r) for (name, a), r in zip(acqs.items(), (gated, non_gated))}
    truth["labels"] = {"organs": organ_legend(), "calcium": calcium_legend({d.kind for d in ph.distractors}),
                       "lesions": {"1": "LAD (incl. LM)", "2": "LCX", "3": "RCA"},
                       "lesions4": {"1": "LM", "2": "LAD", "3": "LCX", "4": "RCA"}}
    truth["params"] = p.to_dict()
    return PatientResult(patient_id=pid, params=p, phantom=ph, gated=gated, non_gated=non_gated, truth=truth)


def _acq_info(a: Acquisition, r: Rendered) -> dict[str, Any]:
    d = a.to_dict()
    d["z_range_mm"] = [round(v, 3) for v in a.z_range]
    counts = np.bincount(r.organ[::2, ::2, :].ravel(), minlength=256)
    in_view = [int(v) for v in np.flatnonzero(counts[1:29]) + 1]
    d["vertebrae_in_view"] = in_view
    return d
