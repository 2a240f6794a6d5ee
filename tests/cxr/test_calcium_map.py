"""Calcium maps as a dense auxiliary target (train cxr --aux-map): the file, its geometry through the
preprocessing, targets, head, loss, augmentation, the phantom maps and the CLI."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from hounsfield.cli import main
from hounsfield.cxr.calcium_map import (MapHead, block_sum, input_grid_map, map_loss, map_targets, read_map_file,
                                        soft_presence, sparse_map, write_map_file)
from hounsfield.cxr.io import Radiograph, write_png
from hounsfield.cxr.model import build_network, load_model
from hounsfield.cxr.preprocess import HEART_REGION, Preprocess, preprocess, preset
from hounsfield.errors import InputError


def test_block_sum_and_soft_presence_by_hand():
    m = np.arange(16.0).reshape(1, 4, 4)
    assert block_sum(m, 2).tolist() == [[[0 + 1 + 4 + 5, 2 + 3 + 6 + 7], [8 + 9 + 12 + 13, 10 + 11 + 14 + 15]]]
    assert block_sum(m, 4).tolist() == m.tolist() and block_sum(m, 1).item() == m.sum()
    with pytest.raises(InputError, match="cannot be summed"):
        block_sum(m, 3)
    assert soft_presence(np.array([0.0, 0.1, -1.0])).tolist() == pytest.approx([0.0, 1 - np.exp(-1), 0.0])
    t = map_targets(np.pad(np.full((1, 2, 2), 0.05), ((0, 0), (0, 2), (0, 2))), 2)  # 0.2 in the top-left cell
    assert t[0].ravel().tolist() == pytest.approx([1 - np.exp(-2), 0.0, 0.0, 0.0])


def test_map_loss_by_hand():
    import torch

    logits = torch.zeros((2, 2, 2))
    target = np.zeros((2, 2, 2), np.float32)
    target[0, 0, 0] = 1.0
    # every cell has BCE(logit 0) = ln 2 whatever its target; the second image's map is unknown: left out
    assert float(map_loss(logits, target, np.array([True, False]))) == pytest.approx(np.log(2.0))
    logits = torch.full((1, 2, 2), -20.0)
    logits[0, 0, 0] = 20.0  # confident and right everywhere
    assert float(map_loss(logits, target[:1], np.array([True]))) < 1e-6
    assert float(map_loss(logits, 1 - target[:1], np.array([True]))) == pytest.approx(20.0, rel=1e-3)


def test_map_file_round_trip(tmp_path):
    a = np.zeros((8, 8), np.float32)
    b = np.zeros((8, 8), np.float32)
    b[4, 6], b[0, 2] = 0.7, 0.1
    write_map_file(tmp_path / "m.npz", ["a", "b"], [sparse_map(a, 2.0), sparse_map(b, 2.0)])
    with np.load(tmp_path / "m.npz") as z:
        assert z["offsets"].tolist() == [0, 0, 2] and z["shapes"].tolist() == [[8, 8], [8, 8]]
        assert sorted(z["values"].tolist()) == pytest.approx([0.4, 2.8])  # x 4 mm^2 per pixel
    # an 8 x 8 input (no resize, no crop) on a 2 x 2 grid: cell (1, 1) holds pixel (4, 6), cell (0, 0) pixel (0, 2)
    got, known = read_map_file(tmp_path / "m.npz", ["b", "c", "a"], Preprocess(8, 8, equalize=False), 2)
    assert known.tolist() == [True, False, True]
    assert got[0].ravel().tolist() == pytest.approx([0.4, 0.0, 0.0, 2.8]) and got[1].sum() == 0 and got[2].sum() == 0
    with pytest.raises(InputError, match="none of the labels"):
        read_map_file(tmp_path / "m.npz", ["x"], Preprocess(8, 8), 2)
    np.savez(tmp_path / "bad.npz", ids=np.array(["a"]), maps=np.zeros((1, 4, 4)))
    with pytest.raises(InputError, match="not a calcium-map file"):
        read_map_file(tmp_path / "bad.npz", ["a"], Preprocess(8, 8), 2)
    with pytest.raises(InputError, match="not a calcium-map file"):
        read_map_file(tmp_path / "missing.npz", ["a"], Preprocess(8, 8), 2)
    with np.load(tmp_path / "m.npz") as z:
        d = dict(z)
    d["offsets"] = np.array([0, 1, 3])
    np.savez(tmp_path / "off.npz", **d)
    with pytest.raises(InputError, match="inconsistent"):
        read_map_file(tmp_path / "off.npz", ["a"], Preprocess(8, 8), 2)


@pytest.mark.parametrize("settings", [preset(32, equalize=False), preset(32, equalize=False, region=HEART_REGION),
                                      Preprocess(16, 24, equalize=False)], ids=["whole", "heart", "crop"])
@pytest.mark.parametrize("shape", [(120, 90), (101, 150)])
def test_map_cells_follow_the_preprocessing(settings, shape):
    """A bright pixel on a film lands, after the real preprocessing, in the cell the map puts its value in."""
    rng = np.random.default_rng(shape[0])
    grid = settings.size // 4
    centre = np.zeros(shape, np.float32)
    centre[shape[0] // 2, shape[1] // 2] = 1.0
    whole = preprocess(centre, settings).sum()  # a dot's mass on the input when none of it is cut away
    hits = 0
    for _ in range(16):
        r, c = int(rng.integers(0, shape[0])), int(rng.integers(0, shape[1]))
        film = np.zeros(shape, np.float32)
        film[r, c] = 1.0
        x = preprocess(film, settings)
        cells = input_grid_map(np.array([r]), np.array([c]), np.array([1.0]), shape, settings, grid)
        if cells.sum() == 0:  # its centre was cut away: at most a blurred edge of it is left
            assert x.sum() < 0.5 * whole
            continue
        y0, x0 = np.unravel_index(np.argmax(x), x.shape)
        mass = block_sum(x[None], grid)[0]  # the blurred dot's mass per cell
        assert cells.sum() == 1.0
        assert cells[y0 * grid // settings.size, x0 * grid // settings.size] == 1.0 or \
            mass[np.unravel_index(np.argmax(cells), cells.shape)] >= 0.25 * mass.max()  # on a cell border
        hits += 1
    assert hits >= 3


def test_head_reads_layer3_and_leaves_no_trace():
    import torch

    net = build_network("resnet18", 3, width=0.25, stem_stride=2)
    keys = set(net.state_dict())
    head = MapHead(net, "resnet18", 64)
    assert head.grid == 4  # 64 px / 16 (stride-2 stem, max pool, layers 2 and 3)
    out = net(torch.zeros(2, 1, 64, 64))
    assert tuple(out.shape) == (2, 3) and tuple(head.logits().shape) == (2, 4, 4)
    assert any(k.startswith("calcium_map_head") for k in net.state_dict())
    head.remove()
    assert set(net.state_dict()) == keys
    net(torch.zeros(1, 1, 64, 64))
    assert head._feat is None  # the hook is gone too
    with pytest.raises(InputError, match="resnet18 only"):
        MapHead(build_network("densenet121", 3), "densenet121", 64)


def test_augmentation_moves_the_map_with_the_image():
    from hounsfield.cxr.train import _augmenter

    aug = _augmenter(3)
    x = np.zeros((6, 1, 32, 32), np.float32)
    maps = np.zeros((6, 32, 32), np.float32)
    for i in range(6):
        x[i, 0, 8 + i, 20 - i] = 1.0
        maps[i, 8 + i, 20 - i] = 1.0
    xa, ma = aug(x, maps)
    assert xa.shape == x.shape and ma.shape == maps.shape
    moved = 0
    for i in range(6):
        if ma[i].max() > 0:  # nearest-neighbour mask, bilinear image: the brightest pixel is where the dot went
            assert np.unravel_index(np.argmax(ma[i]), ma[i].shape) == np.unravel_index(np.argmax(xa[i, 0]), (32, 32))
            moved += np.argmax(ma[i]) != np.argmax(maps[i])
    assert moved >= 1  # the affine part was applied to at least one of them


@pytest.fixture(scope="module")
def dot_cohort(tmp_path_factory):
    """Noise films; CAC > 0 ones carry a faint dot somewhere, and the map says where."""
    root = tmp_path_factory.mktemp("dots")
    rng = np.random.default_rng(11)
    rows, ids, maps = [], [], []
    for i in range(40):
        img = rng.normal(0.5, 0.05, (32, 32)).astype(np.float32)
        m = np.zeros((32, 32), np.float32)
        cac = 0.0
        if i % 2:
            r, c = rng.integers(4, 28, 2)
            img[r - 1:r + 1, c - 1:c + 1] += 0.15
            m[r - 1:r + 1, c - 1:c + 1] = 0.125
            cac = 50.0
        write_png(Radiograph(np.clip(img, 0, 1), (1.0, 1.0), {}), root / f"i{i:02d}.png")
        rows.append([f"i{i:02d}.png", f"p{i:02d}", f"{cac:g}"])
        ids.append(f"p{i:02d}")
        maps.append(m)
    with open(root / "labels.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "patient_id", "cac"])
        w.writerows(rows)
    write_map_file(root / "maps.npz", ids, [sparse_map(m, 1.0) for m in maps])
    return root


def _train(root, out, *extra):
    return main(["train", "cxr", "--data", str(root / "labels.csv"), "-o", str(out), "--arch", "resnet18",
                 "--width", "0.25", "--stem-stride", "2", "--kfold", "2", "--epochs", "2", "--size", "32",
                 "--batch-size", "8", "--no-equalize", "--n-boot", "20", "--threads", "1", "--seed", "0", *extra])


def test_training_with_maps_saves_a_plain_model(dot_cohort, tmp_path, fixtures_dir):
    out = tmp_path / "m"
    assert _train(dot_cohort, out, "--aux-map", str(dot_cohort / "maps.npz"), "--aux-map-weight", "2", "--save") == 0
    hist = list(csv.DictReader(open(out / "history.csv")))
    assert len(hist) == 4 and all(float(h["train_map_loss"]) > 0 and float(h["val_map_loss"]) > 0 for h in hist)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["aux_map"] == str(dot_cohort / "maps.npz") and cfg["aux_map_weight"] == 2.0
    model = load_model(out / "model.pt")  # the head was a training aid: the saved network is the plain one
    plain = build_network("resnet18", 3, width=0.25, stem_stride=2)
    assert set(model.net.state_dict()) == set(plain.state_dict())
    pred = tmp_path / "p.csv"
    assert main(["cxr", str(fixtures_dir / "cxr" / "00000001_000.png"), "--csv", str(pred), "--model",
                 str(out / "model.pt"), "--threads", "1"]) == 0
    (row,) = list(csv.DictReader(open(pred)))
    assert 0 <= float(row["p_cac_gt0"]) <= 1


def test_bad_map_options_are_one_line(dot_cohort, tmp_path, capsys):
    assert _train(dot_cohort, tmp_path / "a", "--aux-map", str(dot_cohort / "maps.npz"), "--size", "40") == 2
    assert "multiple of 16" in capsys.readouterr().err
    assert _train(dot_cohort, tmp_path / "b", "--aux-map", str(tmp_path / "none.npz")) == 2
    assert _train(dot_cohort, tmp_path / "c", "--aux-map", str(dot_cohort / "maps.npz"), "--aux-map-weight", "-1") == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "--aux-map-weight must be >= 0" in err
    assert _train(dot_cohort, tmp_path / "d", "--aux-map", str(dot_cohort / "maps.npz"), "--arch", "densenet121") == 2
    assert "resnet18 only" in capsys.readouterr().err
    assert not (tmp_path / "d").exists() or not any((tmp_path / "d").iterdir())  # refused before any work


def test_phantom_maps_hold_each_plaques_attenuation_inside_the_heart_cut_out(tmp_path, capsys):
    """phantom cxr --maps: one entry list per film, empty without plaques; the map's mass is each coronary
    plaque's excess attenuation times its volume (the line integral integrated over the detector, mm^2), and
    all of it lies in the heart cut-out the bundled recipe trains on."""
    from hounsfield.cxr.drr import DRRSettings, attenuation
    from hounsfield.phantoms import build_patient, sample_params
    from hounsfield.phantoms.calcium import plaque_occupancy

    out = tmp_path / "drr"
    assert main(["phantom", "cxr", "--n", "4", "--seed", "3", "--pixel-mm", "2", "--voxel-mm", "4", "--maps",
                 "-o", str(out)]) == 0
    rows = list(csv.DictReader(open(out / "labels.csv")))
    assert json.loads((out / "cohort.json").read_text())["calcium_maps"] == "calcium_maps.npz"
    with np.load(out / "calcium_maps.npz") as z:
        assert z["ids"].tolist() == [r["patient_id"] for r in rows]
        counts = np.diff(z["offsets"]).tolist()
        totals = [float(z["values"][a:b].sum()) for a, b in zip(z["offsets"][:-1], z["offsets"][1:])]
        assert z["shapes"].tolist() == [[215, 215]] * 4  # 43 cm at 2 mm
    assert [c > 0 for c in counts] == [int(r["n_plaques"]) > 0 for r in rows] == [False, False, False, True]
    s = DRRSettings()
    mu = lambda hu: float(attenuation(np.array([hu]), s.mu_water_per_mm, s.bone_factor)[0])  # noqa: E731
    ph = build_patient(sample_params(3, 3, arch_link=0.8))
    expected = sum((mu(p.hu) - mu(40.0)) * plaque_occupancy(p)[-1].sum() * 0.2 ** 3 for p in ph.plaques)
    assert totals[3] == pytest.approx(expected, rel=1e-4)
    heart, known = read_map_file(out / "calcium_maps.npz", [r["patient_id"] for r in rows],
                                 preset(224, equalize=False, region=HEART_REGION), 56)
    assert known.all() and heart[3].sum() == pytest.approx(totals[3], rel=1e-5)
    assert main(["phantom", "cxr", "--simple", "2", "--maps", "-o", str(tmp_path / "x")]) == 2
    assert "--maps needs --n" in capsys.readouterr().err
    # two worker processes: the same films, labels and maps
    par = tmp_path / "par"
    assert main(["phantom", "cxr", "--n", "4", "--seed", "3", "--pixel-mm", "2", "--voxel-mm", "4", "--maps",
                 "--workers", "2", "-o", str(par)]) == 0
    assert (par / "labels.csv").read_text() == (out / "labels.csv").read_text()
    assert all((par / r["image"]).read_bytes() == (out / r["image"]).read_bytes() for r in rows)
    with np.load(out / "calcium_maps.npz") as a, np.load(par / "calcium_maps.npz") as b:
        assert all(np.array_equal(a[k], b[k]) for k in a.files)


@pytest.mark.skipif(__import__("shutil").which("torchrun") is None, reason="torchrun (PyTorch) is not on PATH")
def test_map_head_trains_under_torchrun(tmp_path):
    """The head's parameters are part of the DDP-wrapped network: 2 CPU processes train with --aux-map and stop
    together; the saved model is the plain network."""
    import os
    import shutil
    import subprocess

    data = tmp_path / "drr"
    assert main(["phantom", "cxr", "--n", "12", "--seed", "3", "--pixel-mm", "2", "--voxel-mm", "4", "--maps",
                 "-o", str(data)]) == 0
    out = tmp_path / "run"
    cmd = [shutil.which("torchrun"), "--standalone", "--nproc_per_node", "2", "-m", "hounsfield", "train", "cxr",
           "--data", str(data / "labels.csv"), "-o", str(out), "--arch", "resnet18", "--width", "0.25",
           "--stem-stride", "2", "--kfold", "2", "--epochs", "2", "--size", "64", "--batch-size", "4",
           "--n-boot", "20", "--threads", "1", "--save", "--device", "cpu", "--seed", "3",
           "--aux-map", str(data / "calcium_maps.npz")]
    res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    hist = list(csv.DictReader(open(out / "history.csv")))
    assert len(hist) == 4 and all(float(h["val_map_loss"]) > 0 for h in hist)
    assert json.loads((out / "config.json").read_text())["distributed"]["world_size"] == 2
    plain = build_network("resnet18", 3, width=0.25, stem_stride=2)
    assert set(load_model(out / "model.pt").net.state_dict()) == set(plain.state_dict())
