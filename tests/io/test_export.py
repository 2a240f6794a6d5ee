"""DICOM SEG and TID 1500 SR referencing the source series, read back with highdicom/pydicom."""

import numpy as np
import pydicom
import pytest

from hounsfield import InputError
from hounsfield.examples import cylinder_ct
from hounsfield.io import read, write_dicom_series
from hounsfield.io.export import write_calcium_sr, write_seg

hd = pytest.importorskip("highdicom")


@pytest.fixture()
def source(tmp_path):
    write_dicom_series(cylinder_ct(shape=(20, 16, 5)), tmp_path / "ct", prefix="IM")
    return read(tmp_path / "ct")


def test_seg_frames_land_on_the_right_source_pixels(source, tmp_path):
    lab = np.zeros(source.shape, np.uint8)
    lab[3, 4, 1] = 1  # LAD voxel on slice 1
    lab[10:12, 2, 3] = 3  # RCA on slice 3
    path = write_seg(source.with_array(lab), source, {1: "LAD", 2: "LCX", 3: "RCA"}, tmp_path / "seg.dcm")
    seg = hd.seg.segread(path)
    assert [d.SegmentLabel for d in seg.SegmentSequence] == ["LAD", "RCA"]
    uids = source.meta.extra["sop_instance_uids"]
    nrows = source.shape[1]
    for segno, (k, i, j) in ((1, (1, 3, 4)), (2, (3, 10, 2))):
        arr = seg.get_pixels_by_source_instance(source_sop_instance_uids=[uids[k]], segment_numbers=[segno])
        frame = arr[0, :, :, 0]
        assert frame[nrows - 1 - j, i] == 1 and frame.sum() == (1 if segno == 1 else 2)
    refs = {r.ReferencedSOPInstanceUID for r in seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence}
    assert refs <= set(uids)


def test_seg_aligns_labels_from_another_grid(source, tmp_path):
    # the label map stored RAS (flipped i and j): alignment is through world space
    lab = np.zeros(source.shape, np.uint8)
    lab[5, 6, 2] = 7
    ras = source.with_array(lab).to_ras()
    path = write_seg(ras, source, {7: "L3"}, tmp_path / "v.dcm", kind="vertebrae")
    seg = hd.seg.segread(path)
    assert seg.SegmentSequence[0].SegmentedPropertyTypeCodeSequence[0].CodeMeaning == "L3 vertebra"
    arr = seg.get_pixels_by_source_instance(source_sop_instance_uids=[source.meta.extra["sop_instance_uids"][2]],
                                            segment_numbers=[1])
    assert arr[0, source.shape[1] - 1 - 6, 5, 0] == 1


def test_sr_holds_scores_and_references_the_series(source, tmp_path):
    scores = {"agatston": 123.4, "volume_mm3": 98.7, "mass_mg": None,
              "regions": {"LAD": {"agatston": 100.0, "volume_mm3": 80.0, "mass_mg": None},
                          "RCA": {"agatston": 23.4, "volume_mm3": 18.7, "mass_mg": None}}}
    path = write_calcium_sr(source, scores, tmp_path / "sr.dcm")
    ds = pydicom.dcmread(path)
    assert ds.Modality == "SR"
    text = str(ds)
    assert "123.4" in text and "Agatston" in text and "Left Anterior Descending" in text
    assert "Calcium Mass" not in text  # uncalibrated mass is not reported
    ev = ds.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0]
    assert ev.SeriesInstanceUID == pydicom.dcmread(source.meta.extra["source_files"][0]).SeriesInstanceUID
    assert len(ev.ReferencedSOPSequence) == source.shape[2]


def test_export_refuses_volumes_without_dicom_source(tmp_path):
    vol = cylinder_ct(shape=(8, 8, 3))
    with pytest.raises(InputError, match="read from a DICOM series"):
        write_calcium_sr(vol, {"agatston": 0, "volume_mm3": 0}, tmp_path / "x.dcm")
