"""VerSe identification rule and localisation summaries on hand-made centroids."""

from __future__ import annotations

import json

import numpy as np

from hounsfield.vertebrae.evaluate import evaluate_scan, format_table, load_case_dir, summarise
from hounsfield.vertebrae.formats import Centroid


def C(name_label: int, xyz, conf: float = 1.0) -> Centroid:
    return Centroid(name_label, tuple(float(v) for v in xyz), conf)


REF = [C(22, (0, 0, 0)), C(21, (0, 0, 30)), C(20, (0, 0, 60)), C(19, (0, 0, 90))]


def test_verse_rule_by_hand():
    pred = [
        C(22, (3, 4, 0)),     # L3: 5 mm, identified
        C(21, (0, 0, 51)),    # L2 placed 21 mm off: closest to L1's reference? no: L1 pred is at 62
        C(20, (0, 0, 62)),    # L1: 2 mm
        C(18, (0, 0, 90)),    # labelled T11 at T12's place: T12 not identified
    ]
    r = evaluate_scan(pred, REF, "case")
    rows = {x.label: x for x in r.rows}
    assert rows[22].identified and np.isclose(rows[22].error_mm, 5.0)
    assert not rows[21].identified and np.isclose(rows[21].error_mm, 21.0)  # beyond 20 mm
    assert rows[20].identified and np.isclose(rows[20].error_mm, 2.0)
    assert not rows[19].identified and rows[19].error_mm is None and rows[19].closest_label == 18
    assert r.identification_rate == 0.5
    assert np.isclose(r.mean_error_mm, (5 + 21 + 2) / 3)
    s = summarise([r])
    assert s["n_vertebrae"] == 4 and s["identification_rate"] == 0.5
    assert np.isclose(s["median_error_mm"], 5.0)
    assert s["per_region"]["lumbar"]["n"] == 3 and np.isclose(s["per_region"]["lumbar"]["identification_rate"], 2 / 3)
    assert s["per_region"]["thoracic"]["identification_rate"] == 0.0
    t = format_table(r)
    assert "  L3 [" in t and "closest: T11" in t and "identified 2/4" in t


def test_closest_prediction_with_wrong_label_blocks_identification():
    # the right label exists within 20 mm, but a wrong-label prediction is closer
    pred = [C(22, (0, 0, 12)), C(21, (0, 0, 3))]
    r = evaluate_scan(pred, [REF[0]])
    assert not r.rows[0].identified and np.isclose(r.rows[0].error_mm, 12.0)


def test_restrict_labels_and_empty_prediction():
    r = evaluate_scan([], REF, labels={22, 21})
    assert len(r.rows) == 2 and r.identification_rate == 0.0 and np.isnan(r.mean_error_mm)


def test_load_case_dirs(tmp_path):
    pred = tmp_path / "pred"
    truth = tmp_path / "truth" / "patient_0007"
    pred.mkdir()
    truth.mkdir(parents=True)
    (pred / "patient_0007.json").write_text(json.dumps({"vertebrae": [
        {"label": "L3", "centroid_mm": [0, 0, 1], "confidence": 0.9}]}))
    (truth / "truth.json").write_text(json.dumps({"vertebrae": [
        {"label": "L3", "centroid_mm": [0, 0, 0], "slice": {"non_gated": 4}},
        {"label": "L2", "centroid_mm": [0, 0, 30], "slice": {"non_gated": None}},  # outside the field of view
    ]}))
    p = load_case_dir(pred, "prediction")
    t = load_case_dir(tmp_path / "truth", "reference")
    assert list(p) == ["patient_0007"] and list(t) == ["patient_0007"]
    assert [c.label for c in t["patient_0007"]] == [22]
    r = evaluate_scan(p["patient_0007"], t["patient_0007"])
    assert r.identification_rate == 1.0 and np.isclose(r.mean_error_mm, 1.0)
