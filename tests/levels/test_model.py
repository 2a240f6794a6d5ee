import numpy as np
import pytest
import torch

from hounsfield.levels.model import LevelNet, decode, heatmap_loss, target_rows


def test_target_rows_gaussian_absent_and_valid_mask():
    t = target_rows(np.array([5.0, np.nan]), 12, sigma=1.0, valid=np.arange(12) < 7)
    assert t.shape == (2, 13)
    assert t[0, :12].sum() == pytest.approx(1.0) and t[0, 12] == 0
    assert int(np.argmax(t[0])) == 5 and t[0, 7:12].sum() == 0
    assert t[1, 12] == 1.0 and t[1, :12].sum() == 0


def test_decode_peak_and_absent():
    h = 20
    rows = torch.full((1, 2, h), -10.0)
    rows[0, 0, 8] = 10.0
    rows[0, 0, 9] = 10.0          # two equal peaks: the answer lies between them
    absent = torch.tensor([[-10.0, 10.0]])
    valid = torch.ones(1, h, dtype=torch.bool)
    hm = decode(rows, absent, valid, z_mm=2.0)[0]
    assert hm[0].row == pytest.approx(8.5, abs=1e-3) and hm[0].confidence > 0.99
    assert hm[1].row is None and hm[1].p_absent > 0.99


def test_invalid_rows_never_chosen():
    h = 16
    rows = torch.zeros(1, 1, h)
    rows[0, 0, 3] = 20.0
    valid = torch.ones(1, h, dtype=torch.bool)
    valid[0, :6] = False
    hm = decode(rows, torch.tensor([[0.0]]), valid, z_mm=2.0)[0][0]
    assert hm.row is None or hm.row >= 6


def test_network_shapes_loss_and_speed():
    net = LevelNet()
    net.eval()
    f = torch.rand(2, 1, 64, 96)
    v = torch.ones(2, 64, dtype=torch.bool)
    rows, absent = net(f, f, v)
    assert rows.shape == (2, 2, 64) and absent.shape == (2, 2)
    t = torch.from_numpy(np.stack([target_rows(np.array([10.0, np.nan]), 64, 1.5)] * 2))
    loss = heatmap_loss(rows, absent, v, t)
    assert torch.isfinite(loss) and loss.item() > 0
    assert sum(p.numel() for p in net.parameters()) < 1_000_000   # well under 5 MB of float32
