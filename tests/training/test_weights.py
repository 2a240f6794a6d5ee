"""float16 storage that never overflows, and precise BN restoring statistics."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hounsfield.clot.model import load_checkpoint, save_checkpoint  # noqa: E402
from hounsfield.training.weights import half_state, recalibrate_batchnorm  # noqa: E402


def test_half_state_keeps_what_float16_cannot_hold():
    s = half_state({"w": torch.tensor([0.5, -3.0]), "var": torch.tensor([2.0, 65504.0, 70000.0]),
                    "bad": torch.tensor([1.0, float("inf")]), "n": torch.tensor(7)})
    assert s["w"].dtype == torch.float16 and s["w"].tolist() == [0.5, -3.0]
    assert s["var"].dtype == torch.float32 and s["var"].tolist() == [2.0, 65504.0, 70000.0]
    assert s["bad"].dtype == torch.float32 and s["n"].dtype == torch.int64
    # 65504 itself fits
    assert half_state({"v": torch.tensor([65504.0])})["v"].dtype == torch.float16


def test_clot_checkpoint_with_a_large_running_var_round_trips(tmp_path):
    """The session-3 clot model stored running_var > 65504 as inf (14 dead channels); now it stays finite."""
    from hounsfield.clot.model import DEFAULT_NET, build_model

    net = build_model(**{**DEFAULT_NET, "in_channels": 2})
    bn = next(m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))
    with torch.no_grad():
        bn.running_var[:] = 1.5e5
    save_checkpoint(net, {"net": {**DEFAULT_NET, "in_channels": 2}}, tmp_path / "m.pt")
    back, _ = load_checkpoint(tmp_path / "m.pt")
    bn2 = next(m for m in back.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert torch.isfinite(bn2.running_var).all() and float(bn2.running_var[0]) == 1.5e5


def test_recalibrate_batchnorm_gives_exact_statistics():
    net = torch.nn.Sequential(torch.nn.BatchNorm1d(2))
    x = np.array([[1.0, 10.0], [3.0, 20.0], [5.0, 30.0], [7.0, 40.0]], np.float32)
    net[0].running_var[:] = float("inf")
    recalibrate_batchnorm(net, x, batch_size=2)
    # cumulative average of the two batches' statistics: means (2, 15) and (6, 35) -> (4, 25);
    # unbiased batch variances (2, 50) and (2, 50) -> (2, 50)
    assert net[0].running_mean.tolist() == pytest.approx([4.0, 25.0])
    assert net[0].running_var.tolist() == pytest.approx([2.0, 50.0])
    assert not net.training
