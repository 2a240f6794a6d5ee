import torch

from hounsfield.clot.model import build_model, load_checkpoint, loss_function, save_checkpoint


def test_2d_and_3d_unets_and_checkpoint_round_trip(tmp_path):
    m2 = build_model(dims=2, channels=(4, 8, 16), strides=(2, 2))
    assert m2(torch.zeros(1, 2, 32, 32)).shape == (1, 2, 32, 32)
    m3 = build_model(dims=3, channels=(4, 8), strides=(2,))
    assert m3(torch.zeros(1, 2, 16, 16, 8)).shape == (1, 2, 16, 16, 8)
    cfg = {"net": {"dims": 2, "channels": [4, 8, 16], "strides": [2, 2]}}
    save_checkpoint(m2, cfg, tmp_path / "m.pt")
    back, cfg2 = load_checkpoint(tmp_path / "m.pt")
    m2.eval()
    x = torch.rand(1, 2, 32, 32)
    assert cfg2 == cfg and torch.allclose(back(x), m2.half().float()(x), atol=1e-2)


def test_loss_is_dice_on_clot_plus_ce():
    loss = loss_function()
    y = torch.zeros(2, 1, 8, 8)
    y[:, :, 2:5, 2:5] = 1
    perfect = torch.cat([(1 - y) * 20 - 10, y * 20 - 10], dim=1)
    assert float(loss(perfect, y)) < 0.01
    assert float(loss(-perfect, y)) > 1.5  # all wrong: Dice term ~1 plus a large CE
