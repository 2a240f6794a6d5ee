"""Overlay picture: lesions coloured by region (artery) on axial slices, plus an axial MIP."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .pipeline import CalciumResult

__all__ = ["REGION_COLOURS", "write_overlay"]

REGION_COLOURS = {"LM": "#ffd400", "LAD": "#ff2a2a", "LCX": "#2a7fff", "RCA": "#20c040", "heart": "#ff8c00",
                  "aorta": "#b040ff", "other": "#a0a0a0", "all": "#ff8c00"}


def _colour(region: str, n: int) -> str:
    if region in REGION_COLOURS:
        return REGION_COLOURS[region]
    import matplotlib

    return matplotlib.colors.to_hex(matplotlib.colormaps["tab10"](n % 10))


def write_overlay(result: CalciumResult, path: str | os.PathLike, n_slices: int = 3, window: tuple[float, float] = (-200, 600)) -> Path:
    """Write a PNG: the ``n_slices`` axial slices holding most calcium score, and an axial MIP."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    score = result.score
    vol = result.scored.to_ras() if result.scored is not None else None
    if vol is None or score.lesion_map is None:
        raise ValueError("the result holds no scored volume")
    arr = vol.array.astype(np.float32)
    lm = score.lesion_map
    lesions = score.lesions
    regions = sorted({l.region for l in lesions})
    reg_index = {r: i + 1 for i, r in enumerate(regions)}
    les_reg = np.zeros(len(lesions) + 1, np.int32)
    for n, l in enumerate(lesions):
        les_reg[n + 1] = reg_index[l.region]
    colour_map = les_reg[lm]
    # slices with the largest score share
    # slices ranked by the score they hold, counting lesions (coronary first) rather than non-coronary ones
    counted = [n for n, l in enumerate(lesions) if l.region not in ("other", "aorta")] or list(range(len(lesions)))
    per_slice = np.zeros(arr.shape[2])
    for n in counted:
        l = lesions[n]
        ks = np.flatnonzero((lm == n + 1).any(axis=(0, 1)))
        per_slice[ks] += l.agatston / max(len(ks), 1)
    order = [int(k) for k in np.argsort(per_slice)[::-1][:n_slices] if per_slice[k] > 0]
    if not order:
        order = [arr.shape[2] // 2]
    order.sort()
    cmap = ListedColormap(["#00000000"] + [_colour(r, i) for i, r in enumerate(regions)])
    panels = len(order) + 1
    fig, axes = plt.subplots(1, panels, figsize=(3.2 * panels, 3.6), dpi=110)
    axes = np.atleast_1d(axes)

    def show(ax, img, lab, title):  # radiological view: patient right on the left, anterior up
        ax.imshow(img[::-1, ::-1].T, cmap="gray", vmin=window[0], vmax=window[1], interpolation="nearest")
        masked = np.ma.masked_equal(lab[::-1, ::-1].T, 0)
        ax.imshow(masked, cmap=cmap, vmin=0, vmax=max(len(regions), 1), interpolation="nearest", alpha=0.9)
        ax.set_title(title, fontsize=8)
        ax.axis("off")

    for ax, k in zip(axes, order):
        z = float(vol.slice_z_mm(k))
        show(ax, arr[:, :, k], colour_map[:, :, k], f"slice {k} (z {z:.0f} mm), {per_slice[k]:.0f} AU")
    region_vox = None
    if result.region_map is not None:
        region_vox = result.region_map.resample_like(vol, order=0).array > 0
    mip_src = np.where(region_vox, arr, -1000) if region_vox is not None and region_vox.any() else arr
    show(axes[-1], mip_src.max(axis=2), colour_map.max(axis=2), "MIP (search region)")
    handles = [Patch(color=_colour(r, i), label=r) for i, r in enumerate(regions)]
    if handles:
        fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    fig.suptitle(f"Agatston {score.agatston:.1f} ({score.risk_category}), {score.n_lesions} lesions", fontsize=9)
    fig.tight_layout(rect=(0, 0.06, 1, 0.95))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
