import numpy as np
import pytest

from hounsfield.levels.evaluate import compare, error_histograms, summarise


def _write(path, rows, cols):
    path.write_text(",".join(cols) + "\n" + "\n".join(",".join(str(r.get(c, "")) for c in cols) for r in rows) + "\n")
    return path


def test_errors_by_hand(tmp_path):
    cols = ["exam_id", "T12_slice", "L3_slice", "T12_z_mm", "L3_z_mm"]
    truth = _write(tmp_path / "t.csv", [
        dict(exam_id="a", T12_slice=100, L3_slice=50, T12_z_mm=300.0, L3_z_mm=150.0),
        dict(exam_id="b", T12_slice=80, L3_slice=40, T12_z_mm=240.0, L3_z_mm=120.0),
        dict(exam_id="c", T12_slice="", L3_slice=30, T12_z_mm="", L3_z_mm=90.0),
        dict(exam_id="d", T12_slice=70, L3_slice=20, T12_z_mm=210.0, L3_z_mm=60.0),
    ], cols)
    pred = _write(tmp_path / "p.csv", [
        dict(exam_id="a", T12_slice=101, L3_slice=50, T12_z_mm=303.0, L3_z_mm=151.0),
        dict(exam_id="b", T12_slice=76, L3_slice=44, T12_z_mm=228.0, L3_z_mm=132.0),
        dict(exam_id="c", T12_slice=90, L3_slice=30, T12_z_mm=270.0, L3_z_mm=90.0),
        dict(exam_id="d", T12_slice="", L3_slice=21, T12_z_mm="", L3_z_mm=63.0),
    ], cols)
    e = compare(pred, truth)
    assert e["T12"].slices.tolist() == [1.0, -4.0] and e["T12"].mm.tolist() == [3.0, -12.0]
    assert e["T12"].missed == ["d"] and e["T12"].false == ["c"]
    assert e["L3"].mm.tolist() == [1.0, 12.0, 0.0, 3.0]
    s = summarise(e)
    assert s["T12"]["median_abs_mm"] == pytest.approx(7.5)
    assert s["T12"]["within_5mm"] == pytest.approx(1 / 3)      # the miss counts as outside
    assert s["L3"]["median_abs_slices"] == pytest.approx(0.5)  # |0|, |4|, |0|, |1|
    assert s["L3"]["within_10mm"] == pytest.approx(0.75) and s["L3"]["mean_abs_mm"] == pytest.approx(4.0)
    pngs = error_histograms(e, tmp_path / "h")
    assert [p.name for p in pngs] == ["errors_hist_t12.png", "errors_hist_l3.png"]
    assert all(p.stat().st_size > 1000 for p in pngs)


def test_slices_only_with_thickness(tmp_path):
    cols = ["exam_id", "L3_slice"]
    t = _write(tmp_path / "t.csv", [dict(exam_id="a", L3_slice=10)], cols)
    p = _write(tmp_path / "p.csv", [dict(exam_id="a", L3_slice=12)], cols)
    e = compare(p, t, levels=("L3",), thickness_mm=2.5)
    assert e["L3"].mm.tolist() == [5.0]
    assert np.isnan(compare(p, t, levels=("L3",))["L3"].mm[0])
