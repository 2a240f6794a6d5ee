import json

import numpy as np
import pytest

from hounsfield.clot.data import (ClotCase, detect_layout, find_cases, load_case, load_or_make_splits, make_splits,
                                  write_folders, write_nnunet, write_published)
from hounsfield.errors import InputError


def _cases(heads):
    return [ClotCase(f"head_{i}", h.cta, h.ncct, h.clot) for i, h in enumerate(heads)]


def test_published_layout_round_trip(small_heads, tmp_path):
    ids = write_published(_cases(small_heads), tmp_path)
    assert ids == ["CS1", "CS2", "CS3"]
    assert (tmp_path / "DL_vol_files/binary/CS2_CTA_Binary.npy").exists()
    assert (tmp_path / "DL_vol_files/binary/CS2_NCCT_Reg_Binary.npy").exists()
    assert (tmp_path / "DL_seg_files/binary/CS2_seg_corrected_binary.npy").exists()
    assert detect_layout(tmp_path) == "published"
    refs = find_cases(tmp_path)
    assert [r.case_id for r in refs] == ids
    c = load_case(refs[1])
    assert np.array_equal(c.cta.array, small_heads[1].cta.array)
    assert np.array_equal(c.mask.array, small_heads[1].clot.array)
    assert np.allclose(c.cta.affine, small_heads[1].cta.affine)  # geometry.json sidecar
    # without the sidecar the spacing argument is used
    (tmp_path / "DL_vol_files/binary/geometry.json").unlink()
    c = load_case(refs[0], spacing=(0.5, 0.5, 2.0))
    assert c.cta.spacing == (0.5, 0.5, 2.0)


def test_nnunet_layout_round_trip(small_heads, tmp_path):
    ids = write_nnunet(_cases(small_heads[:2]), tmp_path)
    assert (tmp_path / f"imagesTr/{ids[0]}_0000.nii.gz").exists()
    assert (tmp_path / f"imagesTr/{ids[0]}_0001.nii.gz").exists()
    assert (tmp_path / f"labelsTr/{ids[0]}.nii.gz").exists()
    ds = json.loads((tmp_path / "dataset.json").read_text())
    assert ds["channel_names"] == {"0": "CTA", "1": "NCCT"} and ds["labels"]["clot"] == 1 and ds["numTraining"] == 2
    assert detect_layout(tmp_path) == "nnunet"
    c = load_case(find_cases(tmp_path)[1])
    assert np.array_equal(c.ncct.array, small_heads[1].ncct.array)
    assert np.array_equal(c.mask.array, small_heads[1].clot.array)


def test_folder_layout_natural_order(small_heads, tmp_path):
    cases = [ClotCase(n, small_heads[0].cta, None, None) for n in ("p10", "p2", "p1")]
    write_folders(cases, tmp_path)
    assert [r.case_id for r in find_cases(tmp_path)] == ["p1", "p2", "p10"]
    with pytest.raises(InputError):
        detect_layout(tmp_path / "p1" / "cta.nii.gz")


def test_splits_60_20_20_by_patient():
    ids = [f"CS{i}" for i in range(1, 21)]
    s = make_splits(ids, seed=3)
    assert [len(s[k]) for k in ("train", "val", "test")] == [12, 4, 4]
    assert sorted(s["train"] + s["val"] + s["test"], key=lambda x: int(x[2:])) == ids
    assert make_splits(ids, seed=3) == s and make_splits(ids, seed=4) != s
    assert [len(make_splits(ids[:5])[k]) for k in ("train", "val", "test")] == [3, 1, 1]


def test_splits_saved_and_reused(tmp_path):
    ids = [f"c{i}" for i in range(10)]
    s1, reused1 = load_or_make_splits(tmp_path / "splits.json", ids, seed=1)
    s2, reused2 = load_or_make_splits(tmp_path / "splits.json", ids, seed=99)  # seed ignored: file reused
    assert not reused1 and reused2 and s1 == s2
    with pytest.raises(InputError, match="delete it"):
        load_or_make_splits(tmp_path / "splits.json", ids[:5])
