from pydicom.dataset import Dataset

from hounsfield.io import classify_gating


def ds(**kw):
    d = Dataset()
    for k, v in kw.items():
        setattr(d, k, v)
    return d


def test_synchronisation_technique_is_decisive():
    assert classify_gating(ds(CardiacSynchronizationTechnique="PROSPECTIVE", SeriesDescription="Thorax"))[0] is True
    assert classify_gating(ds(CardiacSynchronizationTechnique="NONE", SeriesDescription="CaSc"))[0] is False


def test_trigger_time():
    gated, reason = classify_gating(ds(TriggerTime="420"))
    assert gated is True and "TriggerTime" in reason
    assert classify_gating(ds(TriggerTime="0", ReconstructionDiameter="400"))[0] is False


def test_description_keywords():
    for text in ("CaSc 3.0 Qr36", "Calcium Score", "CACS", "Cardiac 3mm", "HEART CA SCORE"):
        assert classify_gating(ds(SeriesDescription=text))[0] is True, text
    for text in ("Thorax 1.0 Br40", "CHEST LOW DOSE", "non-gated chest", "Lung 1mm"):
        assert classify_gating(ds(SeriesDescription=text))[0] is False, text


def test_field_of_view_heuristic_and_unknown():
    gated, reason = classify_gating(ds(ReconstructionDiameter="220", SliceThickness="3"))
    assert gated is True and "heuristic" in reason
    assert classify_gating(ds(ReconstructionDiameter="380", SliceThickness="1"))[0] is False
    assert classify_gating(ds()) == (None, "no gating metadata")
