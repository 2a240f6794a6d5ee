"""Same seed -> identical bytes; different seeds -> different patients."""

from __future__ import annotations

import hashlib

import numpy as np

from hounsfield.phantoms import generate_patient, write_patient

OPTS = dict(matrix=64, gated_matrix=64, coverage="chest", thickness=5.0)


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes(tmp_path):
    a = generate_patient(5, 3, **OPTS)
    b = generate_patient(5, 3, **OPTS)
    assert np.array_equal(a.gated.ct.array, b.gated.ct.array)
    assert np.array_equal(a.non_gated.organ, b.non_gated.organ)
    write_patient(a, tmp_path / "a")
    write_patient(b, tmp_path / "b")
    da, db = digest(tmp_path / "a"), digest(tmp_path / "b")
    assert da == db and "gated.nii.gz" in da and "truth.json" in da


def test_different_seeds_differ():
    a = generate_patient(5, 3, **OPTS)
    c = generate_patient(6, 3, **OPTS)
    assert a.truth["params"] != c.truth["params"]
    assert not np.array_equal(a.non_gated.ct.array, c.non_gated.ct.array) or a.non_gated.ct.shape != c.non_gated.ct.shape
