import shutil
from pathlib import Path

import pytest

from hounsfield.examples import cylinder_ct
from hounsfield.io import write_dicom_series, write_nifti


def make_cohort(root: Path, n_dicom: int = 4, bad: bool = True) -> Path:
    for i in range(n_dicom):
        write_dicom_series(cylinder_ct(shape=(24, 20, 6), seed=i), root / f"p{i:02d}", prefix="IM")
    write_nifti(cylinder_ct(shape=(16, 16, 4)), root / "nifti" / "ct.nii.gz")
    write_nifti(cylinder_ct(shape=(16, 16, 4)), root / "nifti" / "ct_mask.nii.gz")  # not an exam
    if bad:
        (root / "bad.nii.gz").write_bytes(b"garbage")
    return root


@pytest.fixture()
def cohort(tmp_path):
    return make_cohort(tmp_path / "root")
