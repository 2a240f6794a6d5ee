"""One asymmetric volume written as DICOM (LPS), NIfTI (LAS and RAS), NRRD and MHA:
every reader must find the same value at the same world point."""

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

from hounsfield import Volume, VolumeMeta
from hounsfield.io import read, write_dicom_series, write_itk, write_nifti


def asymmetric_volume() -> Volume:
    rng = np.random.default_rng(3)
    arr = rng.integers(-1000, 2000, size=(7, 5, 4)).astype(np.int16)  # all dimensions differ
    arr[6, 4, 3] = 3000  # a marker in one corner
    lps = np.diag([0.7, 0.9, 2.5, 1.0])
    lps[:3, 3] = [-30.0, 12.0, -40.0]
    from hounsfield.volume import LPS_TO_RAS

    return Volume(arr, LPS_TO_RAS @ lps, VolumeMeta(modality="CT"))


def test_same_world_voxel_in_dicom_and_nifti_las_and_ras(tmp_path):
    v = asymmetric_volume()
    write_dicom_series(v, tmp_path / "dcm", prefix="IM")
    las, ras = v.reorient("LAS"), v.reorient("RAS")
    assert las.orientation == "LAS" and ras.orientation == "RAS" and v.orientation == "LPS"
    write_nifti(las, tmp_path / "las.nii.gz")
    write_nifti(ras, tmp_path / "ras.nii")
    write_itk(v, tmp_path / "v.nrrd")
    write_itk(v, tmp_path / "v.mha")
    marker_world = v.world([6, 4, 3])
    readers = {
        "dicom": read(tmp_path / "dcm"),
        "las": read(tmp_path / "las.nii.gz"),
        "ras": read(tmp_path / "ras.nii"),
        "nrrd": read(tmp_path / "v.nrrd"),
        "mha": read(tmp_path / "v.mha"),
    }
    for name, r in readers.items():
        ijk = r.voxel(marker_world)
        assert np.allclose(ijk, np.rint(ijk), atol=1e-3), name
        assert r.array[tuple(np.rint(ijk).astype(int))] == 3000, name
        # and every voxel agrees once brought to one orientation
        assert np.array_equal(r.to_ras().array, ras.array), name
        assert np.allclose(r.to_ras().affine, ras.affine, atol=1e-4), name
    # files opened by nibabel and SimpleITK directly agree with the readers
    img = nib.load(tmp_path / "las.nii.gz")
    assert np.array_equal(np.asarray(img.dataobj), las.array)
    s = sitk.ReadImage(str(tmp_path / "v.nrrd"))
    assert s.TransformIndexToPhysicalPoint((6, 4, 3)) == pytest.approx(tuple(marker_world * [-1, -1, 1]))
    # the DICOM series is read back exactly in LAS order (what scanners and dcm2niix give)
    assert np.array_equal(readers["dicom"].array, las.array)


def test_dicom_positions_follow_the_affine(tmp_path):
    import pydicom

    v = asymmetric_volume()
    files = write_dicom_series(v, tmp_path, prefix="IM")
    ds = pydicom.dcmread(files[0])
    las = v.reorient("LAS")
    # first transmitted pixel = voxel (0, nj - 1, 0) of the LAS array, in LPS
    expected = las.world([0, las.shape[1] - 1, 0]) * [-1, -1, 1]
    assert np.allclose([float(x) for x in ds.ImagePositionPatient], expected, atol=1e-4)
    assert [round(float(x), 6) for x in ds.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0]


def test_multiframe_enhanced_ct_reads_like_the_single_frame_series(tmp_path):
    import highdicom as hd
    import pydicom

    v = asymmetric_volume()
    files = write_dicom_series(v, tmp_path / "single", prefix="IM")
    sources = [pydicom.dcmread(f) for f in files]
    mf = hd.legacy.LegacyConvertedEnhancedCTImage(
        legacy_datasets=sources, series_instance_uid=hd.UID(), series_number=9, sop_instance_uid=hd.UID(),
        instance_number=1,
    )
    (tmp_path / "multi").mkdir()
    mf.save_as(tmp_path / "multi" / "enhanced.dcm")
    single = read(tmp_path / "single")
    multi = read(tmp_path / "multi")
    assert np.array_equal(multi.array, single.array)
    assert np.allclose(multi.affine, single.affine, atol=1e-4)
