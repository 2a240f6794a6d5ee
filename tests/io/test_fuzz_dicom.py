"""Fuzzing the DICOM reader: corrupted files give a Volume or a HounsfieldError, nothing else."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hounsfield import HounsfieldError, Volume
from hounsfield.examples import cylinder_ct
from hounsfield.io import read, write_dicom_series


@pytest.fixture(scope="module")
def valid_files(tmp_path_factory) -> list[bytes]:
    folder = tmp_path_factory.mktemp("valid")
    files = write_dicom_series(cylinder_ct(shape=(16, 12, 3)), folder, prefix="IM")
    return [f.read_bytes() for f in files]


mutation = st.one_of(
    st.tuples(st.just("truncate"), st.integers(0, 2000)),
    st.tuples(st.just("flip"), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=20)),
    st.tuples(st.just("insert"), st.tuples(st.integers(0, 2000), st.binary(min_size=1, max_size=64))),
)


def mutate(data: bytes, m) -> bytes:
    kind, arg = m
    if kind == "truncate":
        return data[: min(arg, len(data))]
    if kind == "flip":
        b = bytearray(data)
        for pos, val in arg:
            b[pos % len(b)] = val
        return bytes(b)
    pos, blob = arg
    return data[:pos] + blob + data[pos:]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(0, 2), m=mutation)
def test_corrupted_series_never_crashes(tmp_path_factory, valid_files, which, m):
    folder = Path(tmp_path_factory.mktemp("fuzz"))
    for n, data in enumerate(valid_files):
        (folder / f"IM{n + 1}.dcm").write_bytes(mutate(data, m) if n == which else data)
    try:
        vol = read(folder, allow_single_slice=True)
    except HounsfieldError as exc:
        assert str(exc) and "\n" not in str(exc).strip()
    else:
        assert isinstance(vol, Volume) and vol.array.ndim == 3 and np.isfinite(vol.affine).all()
