"""Small synthetic patients shared by the phantom tests (session-scoped: generated once)."""

from __future__ import annotations

import pytest

from hounsfield.phantoms import generate_patient, sample_params

SEED = 0
SMALL = dict(matrix=112, gated_matrix=112, coverage="chest_abdomen", thickness=5.0)


def first_index(pred, seed: int = SEED, limit: int = 200) -> int:
    for i in range(limit):
        if pred(sample_params(seed, i)):
            return i
    raise AssertionError("no patient matches")


@pytest.fixture(scope="session")
def cac_patient():
    """A patient with coronary calcium (burden > 30), chest + abdomen coverage, small grids."""
    i = first_index(lambda p: p.cac_burden > 30)
    return generate_patient(SEED, i, **SMALL)


@pytest.fixture(scope="session")
def thin_patient():
    """Thin-slice chest CT of a patient with calcium (motion-blurred coronaries)."""
    i = first_index(lambda p: p.cac_burden > 100)
    return generate_patient(SEED, i, matrix=128, gated_matrix=128, coverage="chest", thickness=1.5)
