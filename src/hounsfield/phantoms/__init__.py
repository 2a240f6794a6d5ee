"""Synthetic patients with exact ground truth: chest/abdomen CT, gated and non-gated.

>>> from hounsfield.phantoms import generate_patient
>>> r = generate_patient(seed=0, index=0, matrix=128, gated_matrix=128)  # doctest: +SKIP
>>> r.truth["agatston"], r.truth["levels"]["L3_z_mm"]  # doctest: +SKIP

See ``docs/phantoms.md`` for what is modelled and how realistic it is.
"""

from .calcium import CALCIUM_LABELS, MASS_CALIBRATION, Plaque
from .chest import ChestPhantom, build_patient
from .cohort import generate_cohort
from .generate import PatientResult, generate_patient
from .patient import PatientParams, sample_params
from .scanner import COVERAGES, Acquisition, Rendered, acquire
from .writers import FORMATS, write_patient

__all__ = [
    "Acquisition",
    "CALCIUM_LABELS",
    "COVERAGES",
    "ChestPhantom",
    "FORMATS",
    "MASS_CALIBRATION",
    "PatientParams",
    "PatientResult",
    "Plaque",
    "Rendered",
    "acquire",
    "build_patient",
    "generate_cohort",
    "generate_patient",
    "sample_params",
    "write_patient",
]
