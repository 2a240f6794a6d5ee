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
    assert best["val_dice"] == 1.0 and len(rows) == 36
