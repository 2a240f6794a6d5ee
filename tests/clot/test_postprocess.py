"""2.5-D input, ROI-box inference and the post-processing rules of clot masks."""

import numpy as np

from hounsfield.clot.predict import network_input, postprocess, roi_box, stack_context
from hounsfield.clot.preprocess import prepare
from hounsfield.clot.train import TrainConfig, _Sampler, select_postprocess


def test_stack_context_orders_neighbours_and_repeats_the_ends():
    x = np.arange(4, dtype=np.uint8)[:, None, None, None] * np.ones((4, 2, 3, 3), np.uint8)
    y = stack_context(x, 1)
    assert y.shape == (4, 6, 3, 3)
    assert y[:, ::2, 0, 0].tolist() == [[0, 0, 1], [1, 0, 2], [2, 1, 3], [3, 2, 3]]  # offsets 0, -1, +1
    assert stack_context(x, 0) is x


def test_network_input_and_sampler_agree_on_channels(small_heads):
    h = small_heads[0]
    prep = prepare(h.cta, h.ncct, h.clot, spacing=(1.0, 1.0, 2.0), size=160)
    box = roi_box(prep)
    assert all((s.stop - s.start) % 16 == 0 for s in box)
    x = network_input(prep, {"context": 1}, box)
    assert x.shape[1] == 6 and x.shape[2:] == (box[0].stop - box[0].start, box[1].stop - box[1].start)
    cfg = TrainConfig(data="", out="", context=1, batch_size=6, crop=64, size=160, vessel_fraction=0.5, aug_p=0.0,
                      cta_dropout=0.0)
    s = _Sampler([prep], cfg)
    assert s.vessel  # contrast-filled vessel pixels found for hard negatives
    xs, ys = s.batch()
    assert xs.shape == (6, 6, 64, 64) and ys.shape == (6, 1, 64, 64) and 0 <= xs.min() and xs.max() <= 1


def _blobs(prep):
    """Probabilities: the true clot (0.9), a bigger blob far from any vessel (0.6) and a tiny speck."""
    p = np.zeros(prep.mask.shape, np.float32)
    p[prep.mask > 0] = 0.9
    k = prep.channels.shape[0] // 2
    oi, oj = prep.offset
    p[k - 2:k + 3, oi + 2:oi + 12, oj + 2:oj + 12] = 0.6  # at the ROI corner: brain/skull, no lumen
    p[k, oi + 30, oj + 30] = 0.95
    return p


def test_postprocess_rules(small_heads):
    h = small_heads[2]
    prep = prepare(h.cta, h.ncct, h.clot, spacing=(1.0, 1.0, 2.0), size=160)
    p = _blobs(prep)
    truth = prep.mask > 0
    assert postprocess(p, prep, 0.5, 5.0, "all")[p > 0.94].sum() == 0  # speck below 5 mm^3 removed
    largest = postprocess(p, prep, 0.5, 5.0, "largest")
    assert largest.sum() == (p == 0.6).sum() or largest.sum() == truth.sum()
    assert np.array_equal(postprocess(p, prep, 0.5, 5.0, "largest", vessel_mm=2.0) > 0, truth)  # far blob dropped
    assert postprocess(p, prep, 0.95, 5.0, "mass").sum() == 0
    best, rows = select_postprocess({"a": p}, {"a": prep}, 5.0)
    assert best["val_dice"] == 1.0 and len(rows) == 60
    assert best["select"] == "largest" and best["keep_frac"] == 1.0 and best["tta"] is False  # earliest of the ties
    _, rows2 = select_postprocess({"a": p}, {"a": prep}, 5.0, probs_tta={"a": p})
    assert len(rows2) == 120 and sum(r["tta"] for r in rows2) == 60


class _Prep:
    """The two attributes :func:`postprocess` reads of a prepared case (1 mm voxels, no CTA)."""

    roi_affine = np.eye(4)
    has_cta = False


def test_keep_frac_keeps_pieces_with_enough_probability_mass():
    p = np.zeros((1, 5, 12), np.float32)
    p[0, 0:2, 0:5] = 0.8   # 10 voxels, mass 8.0
    p[0, 3:5, 0:3] = 0.9   # 6 voxels, mass 5.4 (0.675 of the highest)
    p[0, 0:2, 7:12] = 0.5  # 10 voxels, mass 5.0 (0.625), below a 0.6 threshold
    p[0, 4, 8:12] = 0.7    # 4 voxels, mass 2.8 (0.35)
    one = postprocess(p, _Prep(), 0.45, 1.0, "mass")
    assert one.sum() == 10 and one[0, 0, 0] == 1
    assert postprocess(p, _Prep(), 0.45, 1.0, "mass", keep_frac=0.6).sum() == 10 + 6 + 10
    assert postprocess(p, _Prep(), 0.45, 1.0, "mass", keep_frac=0.3).sum() == 30
    assert postprocess(p, _Prep(), 0.6, 1.0, "mass", keep_frac=0.6).sum() == 10 + 6  # 0.5 blob under threshold
    assert postprocess(p, _Prep(), 0.45, 5.0, "mass", keep_frac=0.3).sum() == 26  # 4-voxel piece < 5 mm^3


def test_clot_weights_give_thin_clots_their_share():
    from types import SimpleNamespace

    from hounsfield.clot.train import clot_weights

    wide = np.zeros((2, 8, 8), np.uint8)
    wide[0, :, :4] = 1  # one slice, 32 pixels (an M1 along the slice)
    thin = np.zeros((4, 8, 8), np.uint8)
    thin[:, 3, 3] = 1  # four slices, 1 pixel each (an M2 across the slices)
    cases = [SimpleNamespace(mask=wide), SimpleNamespace(mask=thin)]
    pos = [(0, 0), (1, 0), (1, 1), (1, 2), (1, 3)]
    w0 = clot_weights(cases, pos, 0.0)  # each clot half, its slices equal
    assert np.allclose(w0, [0.5, 0.125, 0.125, 0.125, 0.125])
    w1 = clot_weights(cases, pos, 1.0)  # areas 32 and 1, median 16.5: weights 16.5/32 and 16.5
    share_thin = 16.5 / (16.5 + 16.5 / 32)
    assert np.isclose(w1[1:].sum(), share_thin) and np.allclose(w1[1:], share_thin / 4)


def test_sampler_with_thin_weight_draws_the_thin_clot_more_often(small_heads):
    prep = [prepare(h.cta, h.ncct, h.clot, spacing=(1.0, 1.0, 2.0), size=160) for h in small_heads[:2]]
    cfg = TrainConfig(data="", out="", batch_size=4, crop=64, size=160, aug_p=0.0, cta_dropout=0.0, pos_fraction=1.0,
                      thin_weight=2.0)
    s = _Sampler(prep, cfg)
    assert s.pos_p is not None and np.isclose(s.pos_p.sum(), 1.0)
    xs, ys = s.batch()
    assert ys.reshape(4, -1).max(1).min() == 1  # every crop holds clot
    assert _Sampler(prep, TrainConfig(data="", out="", thin_weight=0.0)).pos_p is None  # default: as before


def test_tta_equals_plain_prediction_for_a_flip_equivariant_network(small_heads):
    import torch

    from hounsfield.clot.predict import predict_case

    h = small_heads[0]
    prep = prepare(h.cta, h.ncct, h.clot, spacing=(1.0, 1.0, 2.0), size=160)
    torch.manual_seed(0)
    net = torch.nn.Conv2d(6, 2, 1)  # 1 x 1 convolution: commutes with flips
    a = predict_case(net, prep, {"context": 1}, tta=False)
    b = predict_case(net, prep, {"context": 1}, tta=True)
    assert np.allclose(a, b, atol=1e-6) and a.max() > 0
    wide = torch.nn.Conv2d(6, 2, 3, padding=1)  # a 3 x 3 kernel does not: the flip average differs
    assert not np.allclose(predict_case(wide, prep, {"context": 1}, tta=False),
                           predict_case(wide, prep, {"context": 1}, tta=True), atol=1e-6)


def test_model_trained_on_registered_pairs_registers_at_inference(small_heads):
    from hounsfield.clot.model import build_model
    from hounsfield.clot.predict import segment_clot

    h = small_heads[1]
    net = build_model(in_channels=2, channels=(4, 8), strides=(2,))
    cfg = {"context": 0, "preprocess": {"spacing": [1.0, 1.0, 2.0], "size": 160}, "register": True,
           "postprocess": {"threshold": 0.5, "select": "largest", "tta": True}}
    res = segment_clot(h.cta, h.ncct, net.eval(), cfg, {})
    assert res.registration["registered"] is True and any("rigidly registered" in n for n in res.notes)
    assert res.measurements["postprocess"]["tta"] is True and res.measurements["postprocess"]["keep_frac"] == 1.0
    cfg["register"] = False
    assert segment_clot(h.cta, h.ncct, net.eval(), cfg, {}).registration["registered"] is False
