"""Reading radiographs: real fixtures (CR DICOM JPEG baseline, MONOCHROME1, NIH PNGs) and written files."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from hounsfield.cxr.io import Radiograph, read_radiograph, write_png, write_radiograph_dicom
from hounsfield.cxr.preprocess import preprocess, preset
from hounsfield.errors import InputError, UnsupportedInputError

DCM = "1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm"


def test_real_cr_dicom_jpeg_baseline(fixtures_dir):
    r = read_radiograph(fixtures_dir / "cxr" / DCM)
    assert r.shape == (1024, 1024)
    assert r.spacing_mm == pytest.approx((0.168, 0.168))
    assert r.meta["transfer_syntax"] == "1.2.840.10008.1.2.4.50"  # JPEG baseline, decoded
    assert r.meta["photometric"] == "MONOCHROME2" and r.meta["view"] == "PA" and r.meta["modality"] == "CR"
    assert r.pixels.dtype == np.float32 and r.pixels.min() >= 0 and r.pixels.max() <= 1
    # 8-bit stored, no window: value/255 exactly
    raw = pydicom.dcmread(fixtures_dir / "cxr" / DCM).pixel_array
    np.testing.assert_allclose(r.pixels, raw / 255.0, atol=1e-6)


def test_monochrome1_is_inverted(fixtures_dir):
    """Fake_MONOHR1.dcm stores the same values under a MONOCHROME1 tag: it must display inverted,
    and equal the MONOCHROME2 image once that inversion is undone."""
    mono2 = read_radiograph(fixtures_dir / "cxr" / DCM)
    mono1 = read_radiograph(fixtures_dir / "cxr" / "Fake_MONOHR1.dcm")
    assert mono1.meta["photometric"] == "MONOCHROME1"
    assert any("inverted" in d for d in mono1.decisions)
    np.testing.assert_allclose(1.0 - mono1.pixels, mono2.pixels, atol=1e-6)
    # and preprocessing (no equalisation: it is not inversion-symmetric on ties) commutes with it
    p = preset(224, equalize=False)
    np.testing.assert_allclose(1.0 - preprocess(mono1, p), preprocess(mono2, p), atol=1e-5)


@pytest.mark.parametrize("name", ["00000001_000.png", "00027426_000.png"])
def test_nih_pngs(fixtures_dir, name):
    r = read_radiograph(fixtures_dir / "cxr" / name)
    assert r.shape == (512, 512) and r.spacing_mm is None
    assert 0.2 < float(r.pixels.mean()) < 0.8


def test_window_centre_width_is_applied(tmp_path):
    # stored values 0..4095 in a ramp; window C=2048 W=1024 -> linear between 1535.5 and 2559.5
    ramp = (np.arange(64 * 64, dtype=float).reshape(64, 64) / (64 * 64 - 1))
    rad = Radiograph(ramp, (0.3, 0.3))
    path = write_radiograph_dicom(rad, tmp_path / "w.dcm", extra={"WindowCenter": 2048, "WindowWidth": 1024})
    stored = pydicom.dcmread(path).pixel_array.astype(float)
    got = read_radiograph(path)
    expected = np.clip((stored - (2048 - 0.5)) / (1024 - 1) + 0.5, 0, 1)
    np.testing.assert_allclose(got.pixels, expected, atol=2e-3)
    assert got.spacing_mm == pytest.approx((0.3, 0.3))
    assert any("window centre 2048" in d for d in got.decisions)


def test_voi_lut_sequence_is_applied(tmp_path):
    from pydicom.dataset import Dataset

    ramp = np.linspace(0, 1, 32 * 32).reshape(32, 32)
    path = write_radiograph_dicom(Radiograph(ramp, None), tmp_path / "lut.dcm", bits=8)
    ds = pydicom.dcmread(path)
    item = Dataset()
    item.LUTDescriptor = [256, 0, 8]
    item.add_new(0x00283006, "OW", (255 - np.arange(256)).astype("<u2").tobytes())  # LUTData: an inverting LUT
    ds.VOILUTSequence = [item]
    ds.save_as(path)
    got = read_radiograph(path)
    np.testing.assert_allclose(got.pixels, 1.0 - np.rint(ramp * 255) / 255, atol=1e-6)


def test_written_dicom_and_png_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    rad = Radiograph(rng.random((40, 30)), (0.5, 0.4))
    for mono1 in (False, True):
        back = read_radiograph(write_radiograph_dicom(rad, tmp_path / f"m{int(mono1)}.dcm", monochrome1=mono1))
        np.testing.assert_allclose(back.pixels, np.rint(rad.pixels * 4095) / 4095, atol=1e-6)
        assert back.spacing_mm == pytest.approx((0.5, 0.4))
    for bits, tol in ((8, 0.5 / 255 + 1e-6), (16, 0.5 / 65535 + 1e-6)):
        back = read_radiograph(write_png(rad, tmp_path / f"p{bits}.png", bits=bits))
        assert np.abs(back.pixels - rad.pixels).max() <= tol


def test_errors(tmp_path):
    with pytest.raises(InputError):
        read_radiograph(tmp_path / "missing.dcm")
    (tmp_path / "empty.dcm").write_bytes(b"")
    with pytest.raises(InputError):
        read_radiograph(tmp_path / "empty.dcm")
    (tmp_path / "junk.dcm").write_bytes(b"not a dicom at all" * 10)
    with pytest.raises(InputError):
        read_radiograph(tmp_path / "junk.dcm")
    # a CT slice is refused
    path = write_radiograph_dicom(Radiograph(np.zeros((8, 8)), None), tmp_path / "ct.dcm", extra={"Modality": "CT"})
    with pytest.raises(UnsupportedInputError):
        read_radiograph(path)


def test_corrupt_header_element_is_one_input_error(fixtures_dir, tmp_path):
    """Found by fuzzing the real CR film (session 11): one changed byte in the value representation of
    PixelSpacing (0028,0030). pydicom reads the file and raises NotImplementedError only when the element is
    first read, after the pixels; that escaped the reader as a traceback. It is one InputError now, naming the
    file, so `hounsfield cxr` marks that row as an error and scores the others."""
    data = bytearray((fixtures_dir / "cxr" / DCM).read_bytes())
    i = bytes(data).index(b"\x28\x00\x30\x00DS")  # (0028,0030) PixelSpacing, explicit VR "DS"
    data[i + 5] = 0x06
    bad = tmp_path / "corrupt_spacing.dcm"
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError, match="corrupt_spacing.dcm: unreadable radiograph"):
        read_radiograph(bad)
