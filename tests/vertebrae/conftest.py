"""One small synthetic patient shared by the vertebra tests (generated once per session)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def phantom(tmp_path_factory):
    from hounsfield.phantoms import generate_patient, write_patient

    r = generate_patient(seed=5, index=0, matrix=160, gated_matrix=32, coverage="chest_abdomen", max_slices=150)
    folder = tmp_path_factory.mktemp("phantom") / "patient_0000"
    write_patient(r, folder, formats=("nifti",))
    return folder


@pytest.fixture(scope="session")
def contrast_phantom(tmp_path_factory):
    """The same patient as ``phantom``, scanned after contrast (arterial blood pool ~300 HU)."""
    from hounsfield.phantoms import generate_patient, write_patient

    r = generate_patient(seed=5, index=0, matrix=160, gated_matrix=32, coverage="chest_abdomen", max_slices=150,
                         contrast=True)
    folder = tmp_path_factory.mktemp("contrast") / "patient_0000"
    write_patient(r, folder, formats=("nifti",))
    return folder
