import json

import numpy as np

from hounsfield.levels.data import Augment, Example, sample_crop
from hounsfield.levels.mip import MipGrid, compute_mips
from hounsfield.levels.predict import LevelPredictor
from hounsfield.levels.train import TrainConfig, split_examples, train

from .helpers import torso


def _examples(n=4):
    out = []
    for i in range(n):
        p = compute_mips(torso(shape=(40, 34, 30), bone_k=(10 + i, 12 + i)), f"e{i}")
        out.append(Example(p, np.array([p.z_to_row(-100 + 5 * (11 + i) + 30), p.z_to_row(-100 + 5 * (11 + i))])))
    return out


def test_sample_crop_keeps_levels_consistent():
    ex = _examples(1)[0]
    rng = np.random.default_rng(0)
    for _ in range(20):
        f, s, v, rows = sample_crop(ex, 32, rng, Augment(), 2.0)
        assert f.shape == s.shape == (32, 96) and v.shape == (32,)
        assert f.min() >= 0 and f.max() <= 1
        for r in rows:  # a present level always lies inside the valid field of view
            assert np.isnan(r) or v[int(np.clip(np.rint(r), 0, 31))]
    f, s, v, rows = sample_crop(ex, 32, rng, None, 2.0)   # deterministic centre crop
    f2, *_ = sample_crop(ex, 32, np.random.default_rng(5), None, 2.0)
    np.testing.assert_array_equal(f, f2)


def test_split_is_deterministic_and_disjoint():
    ex = _examples(4)
    a = split_examples(ex, 0.25, 3)
    b = split_examples(ex, 0.25, 3)
    assert [e.pair.exam_id for e in a[1]] == [e.pair.exam_id for e in b[1]]
    assert len(a[1]) == 1 and not {e.pair.exam_id for e in a[0]} & {e.pair.exam_id for e in a[1]}


def test_tiny_training_run_writes_weights_config_and_log(tmp_path):
    cfg = TrainConfig(steps=4, batch_size=2, crop_rows=32, val_every=2, seed=1)
    res = train(_examples(4), tmp_path, cfg, command="hounsfield train levels (test)", data=["hand-built"])
    for name in ("levels_mip.pt", "config.json", "log.csv", "metrics.json", "checkpoints/last.pt"):
        assert (tmp_path / name).exists(), name
    conf = json.loads((tmp_path / "config.json").read_text())
    assert conf["config"]["seed"] == 1 and conf["command"].startswith("hounsfield") and conf["n_val"] == 1
    assert res["steps_run"] == 4
    pred = LevelPredictor(tmp_path / "levels_mip.pt")
    assert pred.grid == MipGrid() and pred.levels == ("T12", "L3")
    r = pred.predict(_examples(1)[0].pair)
    assert set(r.answers) == {"T12", "L3"}


def test_fine_tuning_starts_from_given_weights(tmp_path):
    import torch

    ex = _examples(3)
    train(ex, tmp_path / "a", TrainConfig(steps=1, batch_size=2, crop_rows=32, val_every=1, seed=2))
    w0 = torch.load(tmp_path / "a" / "levels_mip.pt", weights_only=True)["state_dict"]
    cfg = TrainConfig(steps=1, batch_size=2, crop_rows=32, val_every=1, seed=2, lr=1e-12,
                      init=str(tmp_path / "a" / "levels_mip.pt"))
    train(ex, tmp_path / "b", cfg)
    w1 = torch.load(tmp_path / "b" / "levels_mip.pt", weights_only=True)["state_dict"]
    conv = "enc_f.b1.0.weight"
    assert torch.allclose(w0[conv], w1[conv], atol=1e-6)    # a tiny learning rate keeps the start weights
