import numpy as np
import pytest

from hounsfield.errors import InputError
from hounsfield.levels.archive import load_mips, save_mips
from hounsfield.levels.data import Example, load_dataset
from hounsfield.levels.mip import MipGrid, compute_mips

from .helpers import torso


def test_round_trip_keeps_geometry_and_levels(tmp_path):
    p = compute_mips(torso(), "exam1")
    q = compute_mips(torso(shape=(60, 50, 30)), "exam2")
    lv = np.array([[50.0, 10.0], [np.nan, -20.0]])
    path = save_mips([p, q], tmp_path / "m.npz", lv)
    pairs, got = load_mips(path)
    assert [x.exam_id for x in pairs] == ["exam1", "exam2"]
    np.testing.assert_array_equal(got, lv)
    assert pairs[0].z_top_mm == p.z_top_mm and pairs[0].k_z0 == p.k_z0 and pairs[0].k_dz == p.k_dz
    np.testing.assert_array_equal(pairs[0].frontal, np.rint(p.frontal))
    # published keys are there, with v_levels in MIP rows and -1 for absent
    d = np.load(path, allow_pickle=True)
    assert {"imgs_f", "imgs_s", "ids", "thicks", "v_levels"} <= set(d.files)
    assert d["v_levels"][1, 0] == -1
    assert d["v_levels"][0, 1] == int(np.rint(p.z_to_row(10.0)))
    assert d["thicks"][0] == pytest.approx(5.0)


def test_published_training_archive_loads(tmp_path):
    rng = np.random.default_rng(0)
    f = np.empty(2, object)
    s = np.empty(2, object)
    f[0], s[0] = rng.normal(200, 50, (300, 200)), rng.normal(200, 50, (300, 150))
    f[1], s[1] = rng.normal(200, 50, (250, 180)), rng.normal(200, 50, (250, 140))
    np.savez_compressed(tmp_path / "pub.npz", imgs_f=f, imgs_s=s, ids=np.array(["a", "b"], object),
                        thicks=np.array([2.5, 5.0]), v_levels=np.array([[120, 210], [-1, 150]]))
    pairs, lv = load_mips(tmp_path / "pub.npz")
    assert pairs[0].z_top_mm is None and pairs[0].z_mm == 1.0
    assert lv[0].tolist() == [120.0, 210.0] and np.isnan(lv[1, 0])
    ex = load_dataset([tmp_path / "pub.npz"], MipGrid())
    assert isinstance(ex[0], Example)
    # 1 mm rows -> 2 mm rows of the model grid
    assert ex[0].rows.tolist() == [60.0, 105.0]
    assert ex[0].pair.frontal.shape == (150, 96)


def test_published_inference_archive_x_only(tmp_path):
    x = np.empty(1, object)
    x[0] = np.zeros((100, 80))
    np.savez_compressed(tmp_path / "inf.npz", x=x, ids=np.array(["e"], object), thicks=np.array([3.0]))
    pairs, lv = load_mips(tmp_path / "inf.npz")
    assert pairs[0].frontal.shape == (100, 80) and pairs[0].sagittal.shape == (100, 80)
    assert np.isnan(lv).all()


def test_not_an_archive(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"nope")
    with pytest.raises(InputError):
        load_mips(tmp_path / "bad.npz")
    np.savez(tmp_path / "other.npz", y=np.zeros(3))
    with pytest.raises(InputError, match="imgs_f"):
        load_mips(tmp_path / "other.npz")
