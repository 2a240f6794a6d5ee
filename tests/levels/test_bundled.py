"""The bundled level model: manifest entry, checksum, size, honest provenance."""

from hounsfield.levels.predict import DEFAULT_MODEL, load_predictor
from hounsfield.models.registry import load_entry


def test_bundled_model_entry():
    e = load_entry(DEFAULT_MODEL)                     # verifies the sha256
    assert e.task == "levels" and e.trained_on.startswith("synthetic")
    assert e.path.stat().st_size < 5 * 1024 * 1024
    assert e.command.startswith("hounsfield train levels")
    m = e.metrics["synthetic_heldout_seed2000_n40_full_coverage"]
    for lv in ("T12", "L3"):
        assert m[lv]["median_mm"] <= 3.0 and m[lv]["within_10mm"] >= 0.95
    assert abs(e.metrics["real_ct_abdomen_L3"]["as_stored_RAS_3mm"]["L3_error_mm"]) <= 10
    p = load_predictor()
    assert p.levels == ("T12", "L3") and p.info["name"] == DEFAULT_MODEL
