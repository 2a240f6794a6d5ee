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


def test_unparsable_rescale_slope_skips_that_file(tmp_path, valid_files):
    """Found by the fuzzer (session 11): one flipped byte turned RescaleSlope '1 ' into '\\x01 '. pydicom reads the
    value anyway; converting it to a number raised ValueError out of the reader. That file is skipped with its
    reason, and the other two slices are read."""
    from hounsfield.io import discover

    bad = bytearray(valid_files[1])
    i = bytes(bad).index(b"(\x00S\x10DS\x02\x001 ")  # (0028,1053) RescaleSlope, DS, length 2, "1 "
    bad[i + 8] = 1
    for n, data in enumerate(valid_files):
        (tmp_path / f"IM{n + 1}.dcm").write_bytes(bytes(bad) if n == 1 else data)
    series, skipped = discover(tmp_path)
    assert [len(s.slices) for s in series] == [2]
    assert [(Path(s.path).name, s.reason.split(" (")[0]) for s in skipped] == [("IM2.dcm", "invalid header value")]
    vol = read(tmp_path, allow_single_slice=True)
    assert vol.shape[2] == 2


def test_unreadable_series_description_does_not_stop_the_read(tmp_path, valid_files):
    """Found by the fuzzer (session 11): one byte of the value representation of SeriesDescription (0008,103E)
    in the series' first file. pydicom parses an element when it is first read, and reading the description
    raised NotImplementedError out of the reader. The description is not needed for the volume: all three
    slices are read."""
    bad = bytearray(valid_files[0])
    i = bytes(bad).index(b"\x08\x00\x3e\x10LO")  # (0008,103E) SeriesDescription, explicit VR "LO"
    bad[i + 5] = 0
    for n, data in enumerate(valid_files):
        (tmp_path / f"IM{n + 1}.dcm").write_bytes(bytes(bad) if n == 0 else data)
    vol = read(tmp_path, allow_single_slice=True)
    assert vol.shape[2] == 3
