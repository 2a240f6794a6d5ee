"""Where the calcium is: a dense auxiliary target for the CXR networks (``hounsfield train cxr --aux-map``).

A label of CAC > 0 says *that* a film shows calcium, not *where*. With only that label a network learns the
easiest correlates (age, sex, arch calcium: see docs/cxr.md) and rarely the faint calcium itself. A synthetic
radiograph knows exactly where each plaque projects (:func:`~.phantom_drr.project_plaques`); so does a film
with a paired CT once the CT's calcium is projected onto it. Given that map, the network also predicts, on a
coarse grid over its input, how much calcium each cell holds; the loss teaches it what calcium looks like and
where to look. The map is a training aid only: the saved model and its inputs are unchanged.

Map files (``.npz``, written by ``hounsfield phantom cxr --n N --maps`` as ``calcium_maps.npz``, or by anyone
with films and paired CTs): where on each *film* the coronary calcium projects, independent of how a model
preprocesses it. Keys: ``ids`` (patient IDs of the labels CSV), ``shapes`` (``n x 2``, each film's rows and
columns), ``offsets`` (``n + 1``), and for image ``k`` the entries ``offsets[k]:offsets[k + 1]`` of ``rows``,
``cols`` (detector pixel) and ``values`` (the plaques' excess attenuation line integral integrated over the
pixel's area, mm^2; a pixel without calcium is not listed). Training maps each pixel's centre through the same
cut-out, resize and crop as the image (:func:`input_grid_maps`) and sums the values per cell. A patient not in
the file has no map target (masked); one in it with no entries has no calcium anywhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = ["sparse_map", "write_map_file", "read_map_file", "input_grid_map", "map_targets", "soft_presence", "block_sum", "MapHead", "map_loss", "MAP_SCALE"]

#: calcium per cell (mm^2 of excess line integral) at which the soft presence target reaches 1 - 1/e
MAP_SCALE = 0.1


def sparse_map(integrals: np.ndarray, pixel_mm: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]:
    """One film's entry of a map file: ``(rows, cols, values, shape)`` of the pixels of ``integrals`` (line
    integrals on the film's ``pixel_mm`` square pixels) that hold calcium; values integrated over the pixel (mm^2).
    """
    r, c = np.nonzero(integrals)
    return (r.astype(np.int32), c.astype(np.int32), (integrals[r, c] * pixel_mm * pixel_mm).astype(np.float32),
            (int(integrals.shape[0]), int(integrals.shape[1])))


def write_map_file(path: str | os.PathLike, ids: list[str],
                   entries: list[tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]]) -> Path:
    """Write the films' :func:`sparse_map` entries as a map file (see the module docstring); returns the path."""
    offsets = np.cumsum([0] + [len(e[0]) for e in entries]).astype(np.int64)
    cat = lambda k, dt: np.concatenate([np.asarray(e[k], dt) for e in entries] + [np.zeros(0, dt)])  # noqa: E731
    path = Path(path)
    np.savez_compressed(path, ids=np.array([str(i) for i in ids]),
                        shapes=np.array([e[3] for e in entries], np.int32).reshape(-1, 2), offsets=offsets,
                        rows=cat(0, np.int32), cols=cat(1, np.int32), values=cat(2, np.float32))
    return path


def input_grid_map(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int],
                   settings: Any, grid: int) -> np.ndarray:
    """Sum ``values`` of film pixels ``(rows, cols)`` (film of ``shape``) over a ``grid x grid`` partition of the
    network input that :func:`~.preprocess.preprocess` with ``settings`` makes of the film.

    Each pixel goes to the cell holding its centre after the same region cut-out, resize and centre crop
    (pixels cut away are dropped). ``grid`` must divide ``settings.size``.

    A 10 x 20 film, short side resized to 10 (no change), centre crop 8 x 8 (film rows 1-8, columns 6-13): the
    corner pixels are cut away, pixel (5, 10) lands at input (4.5, 4.5), in cell (1, 1) of 2 x 2.

    >>> from hounsfield.cxr.preprocess import Preprocess
    >>> input_grid_map(np.array([0, 9, 5]), np.array([0, 19, 10]), np.array([1.0, 2.0, 3.0]), (10, 20),
    ...                Preprocess(8, 10), 2).tolist()
    [[0.0, 0.0], [0.0, 3.0]]
    """
    from .preprocess import region_box, short_side_shape

    h, w = (int(v) for v in shape)
    size, resize = int(settings.size), int(settings.resize)
    if settings.region is not None:
        r0, r1, c0, c1 = region_box((h, w), settings.region)
        sy, sx, nh, nw = resize / (r1 - r0), resize / (c1 - c0), resize, resize
    else:
        r0 = c0 = 0
        nh, nw = short_side_shape((h, w), resize)
        sy, sx = nh / h, nw / w
    top, left = (nh - size) // 2, (nw - size) // 2
    y = (np.asarray(rows, np.float64) + 0.5 - r0) * sy - top
    x = (np.asarray(cols, np.float64) + 0.5 - c0) * sx - left
    cy, cx = np.floor(y * grid / size).astype(int), np.floor(x * grid / size).astype(int)
    ok = (cy >= 0) & (cy < grid) & (cx >= 0) & (cx < grid)
    out = np.zeros((grid, grid), np.float64)
    np.add.at(out, (cy[ok], cx[ok]), np.asarray(values, np.float64)[ok])
    return out.astype(np.float32)


def read_map_file(path: str | os.PathLike, patient_ids: list[str], settings: Any, grid: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``(maps, known)`` for the records' ``patient_ids`` on a ``grid x grid`` partition of the network input of
    preprocessing ``settings``: ``maps`` float32 ``n x grid x grid`` (zeros where unknown), ``known`` bool ``n``.
    One :class:`InputError` line for a missing or malformed file."""
    p = Path(path)
    keys = ("ids", "shapes", "offsets", "rows", "cols", "values")
    try:
        with np.load(p, allow_pickle=False) as z:
            ids, shapes, offsets, rows, cols, values = (np.asarray(z[k]) for k in keys)
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"--aux-map {p}: not a calcium-map file with {', '.join(keys)} ({exc})") from None
    n = len(ids)
    if (shapes.shape != (n, 2) or offsets.shape != (n + 1,) or not len(rows) == len(cols) == len(values)
            or (n and (offsets[0] != 0 or offsets[-1] != len(rows) or np.any(np.diff(offsets) < 0)))):
        raise InputError(f"--aux-map {p}: inconsistent calcium-map file ({n} ids, shapes {shapes.shape}, "
                         f"offsets {offsets.shape}, {len(rows)}/{len(cols)}/{len(values)} rows/cols/values)")
    where = {str(pid): k for k, pid in enumerate(ids)}
    out = np.zeros((len(patient_ids), grid, grid), np.float32)
    known = np.zeros(len(patient_ids), bool)
    for i, pid in enumerate(patient_ids):
        k = where.get(pid)
        if k is not None:
            s = slice(int(offsets[k]), int(offsets[k + 1]))
            out[i] = input_grid_map(rows[s], cols[s], values[s], tuple(shapes[k]), settings, grid)
            known[i] = True
    if not known.any():
        raise InputError(f"--aux-map {p}: none of the labels CSV's patient IDs is in the file")
    return out, known


def block_sum(maps: np.ndarray, grid: int) -> np.ndarray:
    """Sum ``... x G x G`` maps over ``G/grid`` blocks (``G`` must be a multiple of ``grid``).

    >>> block_sum(np.arange(16.0).reshape(1, 4, 4), 2).tolist()
    [[[10.0, 18.0], [42.0, 50.0]]]
    """
    g = maps.shape[-1]
    if g % grid:
        raise InputError(f"calcium maps of {g} x {g} cells cannot be summed onto a {grid} x {grid} feature grid")
    f = g // grid
    return maps.reshape(*maps.shape[:-2], grid, f, grid, f).sum(axis=(-3, -1))


def soft_presence(sums: np.ndarray, scale: float = MAP_SCALE) -> np.ndarray:
    """``1 - exp(-sum / scale)``: 0 without calcium, near 1 for a cell with several times ``scale``.

    >>> [round(float(v), 3) for v in soft_presence(np.array([0.0, 0.1]))]
    [0.0, 0.632]
    """
    return (1.0 - np.exp(-np.maximum(sums, 0.0) / scale)).astype(np.float32)


def map_targets(maps: np.ndarray, grid: int) -> np.ndarray:
    """Soft presence of calcium per cell of the ``grid x grid`` feature map."""
    return soft_presence(block_sum(maps, grid))


class MapHead:
    """A 1x1 convolution on an intermediate feature map of the image network, giving calcium logits per cell.

    The head is added to the network as the submodule ``calcium_map_head`` (so that it trains, and is averaged
    across DDP processes, with the rest) and reads the output of ``layer3`` (resnet18: 1/16 of the input with
    the stride-2 stem) through a forward hook. :meth:`remove` takes both away before the model is saved.
    """

    LAYERS = {"resnet18": "layer3"}

    def __init__(self, net: Any, arch: str, size: int) -> None:
        import torch

        if arch not in self.LAYERS:
            raise InputError(f"--aux-map is available for {', '.join(self.LAYERS)} only, not {arch}")
        self.net = net
        layer = getattr(net, self.LAYERS[arch])
        self._feat: Any = None
        self._hook = layer.register_forward_hook(lambda m, i, o: setattr(self, "_feat", o))
        was = net.training
        net.eval()
        with torch.no_grad():
            net(torch.zeros(1, 1, size, size))
        net.train(was)
        channels, self.grid = int(self._feat.shape[1]), int(self._feat.shape[-1])
        net.calcium_map_head = torch.nn.Conv2d(channels, 1, kernel_size=1)
        self._feat = None

    def logits(self) -> Any:
        """Calcium logits ``(batch, grid, grid)`` of the last forward pass."""
        if self._feat is None:
            raise RuntimeError("MapHead.logits() before a forward pass")
        return self.net.calcium_map_head(self._feat)[:, 0]

    def remove(self) -> None:
        self._hook.remove()
        if hasattr(self.net, "calcium_map_head"):
            del self.net.calcium_map_head
        self._feat = None


def map_loss(logits: Any, target: np.ndarray, known: np.ndarray) -> Any:
    """Binary cross-entropy (with logits) per cell against the soft presence, averaged over the images with a
    known map."""
    import torch

    t = torch.as_tensor(target, device=logits.device)
    k = torch.as_tensor(known, device=logits.device, dtype=logits.dtype)
    per = torch.nn.functional.binary_cross_entropy_with_logits(logits, t, reduction="none").mean(dim=(1, 2))
    return (per * k).sum() / k.sum().clamp_min(1.0)
