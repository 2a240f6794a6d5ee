"""Seeded, replayable augmentation: albumentations for 2-D slices, MONAI for 3-D.

The 2-D pipeline is the published one (CT-ClotSeg): horizontal and vertical
flips, brightness/contrast, gamma, advanced blur and CLAHE, the whole
pipeline applied with probability 0.8. The CTA and NCCT channels (uint8) get
the same geometric and intensity parameters; the mask follows the flips.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["MAX_CHANNELS", "augment_2d", "apply_2d", "replay_2d", "augment_3d"]

#: most channels one 2-D sample may have (2 images x up to 4 slices of context)
MAX_CHANNELS = 8


def augment_2d(seed: int | None = 0, p: float = 0.8) -> Any:
    """The published 2-D pipeline as an albumentations ``ReplayCompose`` seeded with ``seed``.

    Two pipelines made with the same seed produce the same sequence of
    augmentations; each result carries its ``replay`` record (see
    :func:`replay_2d`).
    """
    import albumentations as A

    aug = A.ReplayCompose(
        [
            A.HorizontalFlip(p=0.5),
            A.VerticalFlip(p=0.5),
            A.RandomBrightnessContrast(brightness_limit=0.15, contrast_limit=0.15, p=0.5),
            A.RandomGamma(gamma_limit=(85, 115), p=0.5),
            A.AdvancedBlur(blur_limit=(3, 5), sigma_x_limit=(0.2, 0.8), sigma_y_limit=(0.2, 0.8), p=0.3),
            A.CLAHE(clip_limit=2.0, tile_grid_size=(8, 8), p=0.2),
        ],
        p=p,
        additional_targets={f"image{i}": "image" for i in range(1, MAX_CHANNELS)},
    )
    aug.set_random_seed(seed)
    return aug


def _targets(channels: np.ndarray, mask: np.ndarray | None) -> dict[str, np.ndarray]:
    d = {("image" if i == 0 else f"image{i}"): np.ascontiguousarray(c) for i, c in enumerate(channels)}
    if mask is not None:
        d["mask"] = np.ascontiguousarray(mask)
    return d


def _collect(out: dict[str, Any], n: int) -> tuple[np.ndarray, np.ndarray | None]:
    chans = np.stack([out["image" if i == 0 else f"image{i}"] for i in range(n)])
    return chans, out.get("mask")


def apply_2d(aug: Any, channels: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
    """Augment ``channels`` (``(C, H, W)`` uint8, C <= ``MAX_CHANNELS``) and ``mask`` (``(H, W)``).

    Returns the new channels, mask and the replay record.
    """
    out = aug(**_targets(channels, mask))
    chans, m = _collect(out, len(channels))
    return chans, m, out["replay"]


def replay_2d(record: dict[str, Any], channels: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Apply exactly the augmentation described by ``record`` again."""
    import albumentations as A

    out = A.ReplayCompose.replay(record, **_targets(channels, mask))
    return _collect(out, len(channels))


def augment_3d(seed: int = 0, keys: tuple[str, ...] = ("image", "mask"), p: float = 0.8) -> Any:
    """MONAI dictionary transforms for 3-D patches ``(C, X, Y, Z)``: flips, intensity
    scale and shift, contrast (gamma) and Gaussian noise; seeded with ``seed``."""
    from monai.transforms import (Compose, RandAdjustContrastd, RandFlipd, RandGaussianNoised, RandScaleIntensityd,
                                  RandShiftIntensityd)

    img = keys[:1]
    t = Compose([
        RandFlipd(keys=list(keys), prob=0.5 * p, spatial_axis=0),
        RandFlipd(keys=list(keys), prob=0.5 * p, spatial_axis=1),
        RandScaleIntensityd(keys=list(img), factors=0.1, prob=0.5 * p),
        RandShiftIntensityd(keys=list(img), offsets=0.05, prob=0.5 * p),
        RandAdjustContrastd(keys=list(img), gamma=(0.85, 1.15), prob=0.5 * p),
        RandGaussianNoised(keys=list(img), std=0.02, prob=0.3 * p),
    ])
    t.set_random_state(seed=seed)
    return t
