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


def test_crop_dice_loss_counts_each_clot_crop_and_ignores_empty_ones():
    y = torch.zeros(2, 1, 2, 2)
    y[0, 0, 0, 0] = 1  # crop 0: one clot pixel; crop 1: no clot
    pred = torch.zeros(2, 1, 2, 2)
    pred[0, 0, 0, :] = 1  # crop 0: the clot pixel and one wrong pixel
    logits = torch.cat([(1 - pred) * 20 - 10, pred * 20 - 10], dim=1)  # margin 20: softmax 0/1, CE of a wrong pixel 20
    loss = loss_function("crop_dice_ce")
    # Dice of crop 0: 2 * 1 / (2 + 1) -> loss 1/3 (crop 1 has no clot: no Dice term); CE: 20 over 8 pixels
    assert abs(float(loss(logits, y)) - (1 / 3 + 20 / 8)) < 1e-3
    y0 = torch.zeros(2, 1, 2, 2)  # no clot in the batch: CE only (the two predicted pixels wrong)
    assert abs(float(loss(logits, y0)) - 40 / 8) < 1e-3
