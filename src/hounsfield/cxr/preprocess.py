"""Preprocessing of radiographs for the CNNs, as published, with faster presets.

The published pipeline (Iodice/Gallone) windows the DICOM, equalises the
histogram, resizes the short side to 1248 px and centre-crops 1024 px. The
same crop fraction (1024/1248) is kept at the faster sizes 512 and 224. The
:class:`Preprocess` settings are saved in every model's config, and inference
applies exactly the settings the model was trained with.

Examples
--------
>>> import numpy as np
>>> p = Preprocess(size=8, resize=10, equalize=False)
>>> preprocess(np.ones((20, 40), np.float32), p).shape
(8, 8)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from .io import Radiograph

__all__ = ["HEART_REGION", "Preprocess", "preset", "preprocess", "equalize_histogram", "resize_short_side",
           "short_side_shape", "region_box", "centre_crop", "PRESETS"]

#: heart + mediastinum (aortic knob to diaphragm) of a PA film: rows 18-72 %, columns 23-77 % (a square of
#: ~23 cm on a 43 cm field, ~1 mm per pixel at 224 px)
HEART_REGION = (0.18, 0.72, 0.23, 0.77)
#: published sizes: short side resized to ``resize`` then centre-cropped to ``size``
PRESETS = {"published": (1024, 1248), "1024": (1024, 1248), "512": (512, 624), "224": (224, 273)}


@dataclass(frozen=True)
class Preprocess:
    """How a radiograph becomes a network input.

    Parameters
    ----------
    size
        Side of the square network input (the centre crop), px.
    resize
        Short side after resizing, before the centre crop (``>= size``).
    equalize
        Histogram equalisation (published: yes).
    bins
        Histogram bins for the equalisation.
    region
        Optional ``(top, bottom, left, right)`` fractions of the (equalised)
        image cut out before the resize: a higher-resolution view of the
        heart and mediastinum (e.g. :data:`HEART_REGION`). ``None``: whole image.
    """

    size: int = 224
    resize: int = 273
    equalize: bool = True
    bins: int = 4096
    region: tuple[float, float, float, float] | None = None

    def __post_init__(self) -> None:
        if self.size < 8 or self.resize < self.size:
            raise ValueError(f"need 8 <= size <= resize, got size={self.size}, resize={self.resize}")
        if self.region is not None:
            t, b, l, r = (float(v) for v in self.region)
            if not (0 <= t < b <= 1 and 0 <= l < r <= 1):
                raise ValueError(f"region must be (top, bottom, left, right) fractions with top < bottom, left < right; "
                                 f"got {self.region}")
            object.__setattr__(self, "region", (t, b, l, r))

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if self.region is None:
            del d["region"]  # whole-image models keep the published config
        else:
            d["region"] = list(self.region)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Preprocess":
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        if kw.get("region") is not None:
            kw["region"] = tuple(kw["region"])
        return cls(**kw)


def preset(size: int | str, equalize: bool = True, region: tuple[float, float, float, float] | None = None) -> Preprocess:
    """The published crop fraction at ``size`` (``224``, ``512``, ``1024``/``'published'`` or any int).

    >>> preset(1024)
    Preprocess(size=1024, resize=1248, equalize=True, bins=4096, region=None)
    >>> preset(64).resize
    78

    With a ``region`` the cut-out is resized straight to ``size`` (no further crop).
    """
    if region is not None:
        return Preprocess(size=int(size), resize=int(size), equalize=equalize, region=tuple(region))
    key = str(size)
    if key in PRESETS:
        s, r = PRESETS[key]
    else:
        s = int(size)
        r = int(round(s * 1248 / 1024))
    return Preprocess(size=s, resize=r, equalize=equalize)


def equalize_histogram(image: np.ndarray, bins: int = 4096) -> np.ndarray:
    """Histogram equalisation of an image in ``[0, 1]`` (output in ``[0, 1]``).

    Each value is mapped to the fraction of pixels at or below its bin (the
    empirical CDF), rescaled so the darkest bin maps to 0.

    >>> equalize_histogram(np.array([[0.0, 0.0, 0.5, 1.0]]), bins=4).tolist()
    [[0.0, 0.0, 0.5, 1.0]]
    """
    img = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    idx = np.minimum((img * bins).astype(np.int64), bins - 1)
    hist = np.bincount(idx.ravel(), minlength=bins).astype(np.float64)
    cdf = np.cumsum(hist)
    first = cdf[hist > 0][0] if np.any(hist > 0) else 0.0
    denom = cdf[-1] - first
    if denom <= 0:
        return np.zeros_like(img)
    lut = np.clip((cdf - first) / denom, 0.0, 1.0).astype(np.float32)
    return lut[idx]


def short_side_shape(shape: tuple[int, int], short: int) -> tuple[int, int]:
    """``(rows, cols)`` of an image of ``shape`` after :func:`resize_short_side` to ``short``."""
    h, w = (int(v) for v in shape)
    if min(h, w) == short:
        return h, w
    scale = short / min(h, w)
    return max(short, int(round(h * scale))), max(short, int(round(w * scale)))


def region_box(shape: tuple[int, int], region: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """``(top, bottom, left, right)`` pixel bounds (end exclusive) of the ``region`` fractions of an image."""
    h, w = (int(v) for v in shape)
    t, b, l, r = region
    r0, c0 = int(round(t * h)), int(round(l * w))
    return r0, max(int(round(b * h)), r0 + 1), c0, max(int(round(r * w)), c0 + 1)


def resize_short_side(image: np.ndarray, short: int) -> np.ndarray:
    """Resize (antialiased bilinear, Pillow) so the shorter side is ``short`` px."""
    from .._optional import import_optional

    image_mod = import_optional("PIL.Image", "ml", "resizing radiographs")
    nh, nw = short_side_shape(image.shape, short)
    if (nh, nw) == image.shape:
        return np.asarray(image, dtype=np.float32)
    im = image_mod.fromarray(np.asarray(image, dtype=np.float32), mode="F")
    return np.asarray(im.resize((nw, nh), resample=image_mod.Resampling.BILINEAR), dtype=np.float32)


def _resize_exact(image: np.ndarray, side: int) -> np.ndarray:
    """Resize (bilinear, Pillow) to ``side x side``."""
    from .._optional import import_optional

    image_mod = import_optional("PIL.Image", "ml", "resizing radiographs")
    im = image_mod.fromarray(np.asarray(image, dtype=np.float32), mode="F")
    return np.asarray(im.resize((side, side), resample=image_mod.Resampling.BILINEAR), dtype=np.float32)


def centre_crop(image: np.ndarray, size: int) -> np.ndarray:
    """The central ``size x size`` pixels (the image must be at least that big)."""
    h, w = image.shape
    if h < size or w < size:
        raise ValueError(f"image {h}x{w} smaller than the crop {size}")
    top, left = (h - size) // 2, (w - size) // 2
    return image[top:top + size, left:left + size]


def preprocess(image: Radiograph | np.ndarray, settings: Preprocess) -> np.ndarray:
    """Window-normalised radiograph -> ``float32 [size, size]`` network input in ``[0, 1]``.

    Order as published: histogram equalisation on the full image, resize of
    the short side, centre crop. With ``settings.region``: equalisation on the
    full image, cut-out of the region, resize to ``size x size``.
    """
    pixels = image.pixels if isinstance(image, Radiograph) else np.asarray(image, dtype=np.float32)
    if settings.equalize:
        pixels = equalize_histogram(pixels, settings.bins)
    if settings.region is not None:
        r0, r1, c0, c1 = region_box(pixels.shape, settings.region)
        pixels = pixels[r0:r1, c0:c1]
        pixels = _resize_exact(pixels, settings.resize)
    else:
        pixels = resize_short_side(pixels, settings.resize)
    return np.ascontiguousarray(centre_crop(pixels, settings.size), dtype=np.float32)
