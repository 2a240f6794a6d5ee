"""The cohort command's contract: `hounsfield phantom chest --n N --seed S -o DIR`."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np

from hounsfield.cli import main


def test_phantom_chest_contract(tmp_path):
    out = tmp_path / "cohort"
    rc = main(["phantom", "chest", "--n", "2", "--seed", "3", "-o", str(out), "--matrix", "64",
               "--gated-matrix", "64", "--coverage", "chest_abdomen", "--thickness", "5", "--format", "nifti,mip"])
    assert rc == 0
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert folders == ["patient_0000", "patient_0001"]
    for f in folders:
        d = out / f
        for name in ("gated.nii.gz", "non_gated.nii.gz", "truth.json", "gated_lesions.nii.gz",
                     "gated_lesions4.nii.gz", "non_gated_vertebrae.nii.gz", "non_gated_heart.nii.gz",
                     "non_gated_bones.nii.gz", "non_gated_aorta.nii.gz"):
            assert (d / name).is_file(), name
        t = json.loads((d / "truth.json").read_text())
        for key in ("agatston", "volume_mm3", "mass_mg", "risk_category"):
            assert key in t and set(t["arteries"]) == {"LM", "LAD", "LCX", "RCA"} and key in t["arteries"]["LAD"]
        assert all(set(v) >= {"label", "centroid_mm"} and len(v["centroid_mm"]) == 3 for v in t["vertebrae"])
        assert {"T12_z_mm", "L3_z_mm"} <= set(t["levels"])
        k = t["levels"]["L3_slice"]["non_gated"]
        img = nib.load(str(d / "non_gated.nii.gz"))
        z = nib.affines.apply_affine(img.affine, [0, 0, k])[2]
        assert abs(z - t["levels"]["L3_z_mm"]) <= img.header.get_zooms()[2] / 2 + 1e-6
        vert = np.asanyarray(nib.load(str(d / "non_gated_vertebrae.nii.gz")).dataobj)
        assert 22 in np.unique(vert)  # L3 is in a chest + abdomen field of view
    assert (out / "mips.npz").is_file()


def test_bad_format_is_one_line_error(tmp_path, capsys):
    rc = main(["phantom", "chest", "--n", "1", "-o", str(tmp_path), "--format", "png"])
    assert rc != 0
    assert "unknown format" in capsys.readouterr().err
