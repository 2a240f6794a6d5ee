import numpy as np

from hounsfield.clot.augment import apply_2d, augment_2d, augment_3d, replay_2d


def _sample():
    rng = np.random.default_rng(0)
    ch = (rng.random((2, 48, 48)) * 255).astype(np.uint8)
    m = np.zeros((48, 48), np.uint8)
    m[5:9, 30:40] = 1
    return ch, m


def test_seeded_and_replayable():
    ch, m = _sample()
    a, b = augment_2d(seed=4), augment_2d(seed=4)
    for _ in range(4):
        c1, m1, rec = apply_2d(a, ch, m)
        c2, m2, _ = apply_2d(b, ch, m)
        assert np.array_equal(c1, c2) and np.array_equal(m1, m2)
        c3, m3 = replay_2d(rec, ch, m)
        assert np.array_equal(c1, c3) and np.array_equal(m1, m3)


def test_published_transforms_and_probability():
    aug = augment_2d(seed=0)
    names = [t.__class__.__name__ for t in aug.transforms]
    assert names == ["HorizontalFlip", "VerticalFlip", "RandomBrightnessContrast", "RandomGamma", "AdvancedBlur", "CLAHE"]
    assert aug.p == 0.8
    ch, m = _sample()
    untouched = sum(not any(t["applied"] for t in apply_2d(aug, ch, m)[2]["transforms"]) for _ in range(200))
    assert 20 <= untouched <= 90  # p = 0.8 overall (plus draws where no child fired)


def test_mask_follows_flips_and_channels_share_parameters():
    ch, m = _sample()
    ch[1] = ch[0]
    aug = augment_2d(seed=1)
    for _ in range(20):
        c, mm, rec = apply_2d(aug, ch, m)
        assert np.array_equal(c[0], c[1])  # same parameters on both channels
        applied = {t["__class_fullname__"] for t in rec["transforms"] if t["applied"]}
        exp = m
        if "HorizontalFlip" in applied:
            exp = exp[:, ::-1]
        if "VerticalFlip" in applied:
            exp = exp[::-1, :]
        assert np.array_equal(mm, exp)


def test_monai_3d_seeded():
    x = {"image": np.random.default_rng(1).random((2, 16, 16, 8)).astype(np.float32), "mask": np.zeros((1, 16, 16, 8), np.float32)}
    a = augment_3d(seed=5)(dict(x))
    b = augment_3d(seed=5)(dict(x))
    assert np.allclose(np.asarray(a["image"]), np.asarray(b["image"]))
