"""The level network: a small 2-D CNN over the MIP pair giving a 1-D heat map along z per level.

Each view (frontal, sagittal) goes through its own 2-D convolutional encoder
that halves z twice and pools the columns away; the two 1-D feature profiles
(plus the field-of-view mask) are concatenated and passed through a stack of
dilated residual 1-D convolutions (receptive field about 500 mm, enough to
see the sacrum or the lowest ribs from L3). The head gives, per level, one
logit per row and one "outside the field of view" logit; a softmax over the
valid rows plus that extra bin is the heat map. Rows outside the scanned field
of view are masked out, so a level there can only be reported as absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["LevelNet", "Heatmap", "decode", "heatmap_loss", "target_rows"]


def _block2d(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
    )


class _ViewEncoder(nn.Module):
    """(B, 1, H, W) -> (B, C, H/4): z halved twice, columns pooled (max and mean)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        w = width
        self.b1 = _block2d(1, w)
        self.b2 = _block2d(w, 2 * w)
        self.b3 = _block2d(2 * w, 2 * w)
        self.b4 = _block2d(2 * w, 4 * w)
        self.out_channels = 8 * w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.b1(x), (2, 2))        # H/2, W/2
        x = F.max_pool2d(self.b2(x), (1, 2))        # H/2, W/4
        x = F.max_pool2d(self.b3(x), (2, 2))        # H/4, W/8
        x = self.b4(x)
        return torch.cat([x.amax(dim=3), x.mean(dim=3)], dim=1)


class _Res1d(nn.Module):
    def __init__(self, c: int, dilation: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(c, c, 3, padding=dilation, dilation=dilation, bias=False)
        self.bn1 = nn.BatchNorm1d(c)
        self.conv2 = nn.Conv1d(c, c, 1, bias=False)
        self.bn2 = nn.BatchNorm1d(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(x + self.bn2(self.conv2(y)))


class LevelNet(nn.Module):
    """MIP pair -> per-level row logits and outside-the-field-of-view logits.

    Parameters
    ----------
    n_levels
        Number of levels (2: T12, L3).
    width
        Channels of the first 2-D block.
    channels
        Channels of the 1-D stack.
    dilations
        Dilations of the 1-D residual blocks (in units of 4 rows).

    Forward: ``frontal, sagittal`` of shape ``(B, 1, H, W)`` in ``[0, 1]``
    (bone window), ``valid`` of shape ``(B, H)``; returns ``(row_logits (B, L,
    H), absent_logits (B, L))``. ``H`` must be a multiple of 4.
    """

    def __init__(self, n_levels: int = 2, width: int = 8, channels: int = 64,
                 dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 1)) -> None:
        super().__init__()
        self.config = {"n_levels": n_levels, "width": width, "channels": channels, "dilations": list(dilations)}
        self.enc_f = _ViewEncoder(width)
        self.enc_s = _ViewEncoder(width)
        cin = 2 * self.enc_f.out_channels + 1
        self.proj = nn.Sequential(nn.Conv1d(cin, channels, 1, bias=False), nn.BatchNorm1d(channels), nn.ReLU(inplace=True))
        self.stack = nn.Sequential(*[_Res1d(channels, d) for d in dilations])
        self.rows = nn.Conv1d(channels, n_levels, 1)
        self.absent = nn.Linear(2 * channels, n_levels)

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> "LevelNet":
        return cls(n_levels=int(cfg["n_levels"]), width=int(cfg["width"]), channels=int(cfg["channels"]),
                   dilations=tuple(int(d) for d in cfg["dilations"]))

    def forward(self, frontal: torch.Tensor, sagittal: torch.Tensor,
                valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = frontal.shape[2]
        v4 = F.avg_pool1d(valid[:, None].float(), 4)  # (B, 1, H/4)
        x = torch.cat([self.enc_f(frontal), self.enc_s(sagittal), v4], dim=1)
        x = self.stack(self.proj(x))
        rows = F.interpolate(self.rows(x), size=h, mode="linear", align_corners=False)
        w = (v4 > 0.5).float()
        denom = w.sum(dim=2).clamp(min=1.0)
        pooled = torch.cat([(x * w).sum(dim=2) / denom, (x + (w - 1) * 1e4).amax(dim=2)], dim=1)
        return rows, self.absent(pooled)


def _masked_logits(rows: torch.Tensor, absent: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """(B, L, H + 1) logits with invalid rows at -inf-ish and the absent bin last."""
    m = valid[:, None, :].expand_as(rows)
    rows = rows.masked_fill(~m, -1e4)
    return torch.cat([rows, absent[:, :, None]], dim=2)


def target_rows(rows: np.ndarray, h: int, sigma: float, valid: np.ndarray | None = None) -> np.ndarray:
    """Soft targets ``(L, H + 1)``: a Gaussian of ``sigma`` rows at each (fractional) row, or the absent bin for NaN.

    Rows outside ``valid`` get no target mass (the network cannot put any there).
    """
    rows = np.asarray(rows, np.float64)
    t = np.zeros((len(rows), h + 1), np.float32)
    r = np.arange(h)
    for i, c in enumerate(rows):
        g = np.exp(-0.5 * ((r - c) / sigma) ** 2) if np.isfinite(c) and -0.5 <= c <= h - 0.5 else np.zeros(h)
        if valid is not None:
            g = g * np.asarray(valid, bool)
        if g.sum() > 1e-12:
            t[i, :h] = g / g.sum()
        else:
            t[i, h] = 1.0
    return t


def heatmap_loss(rows: torch.Tensor, absent: torch.Tensor, valid: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy between the soft target ``(B, L, H + 1)`` and the softmax over valid rows + absent bin."""
    logp = F.log_softmax(_masked_logits(rows, absent, valid), dim=2)
    return -(target * logp).sum(dim=2).mean()


@dataclass(frozen=True)
class Heatmap:
    """Decoded answer for one level of one exam."""

    row: float | None          # fractional row (None when absent)
    confidence: float          # probability mass within +-5 mm of the peak (0..1)
    p_absent: float            # probability of "outside the field of view"
    profile: np.ndarray        # per-row probabilities


def decode(rows: torch.Tensor, absent: torch.Tensor, valid: torch.Tensor, z_mm: float,
           window_mm: float = 5.0) -> list[list[Heatmap]]:
    """Turn network outputs into per-exam, per-level :class:`Heatmap` answers.

    The row is the probability-weighted mean within ``window_mm`` of the
    peak; the level is absent when the absent bin outweighs that peak mass.
    """
    prob = F.softmax(_masked_logits(rows, absent, valid), dim=2).detach().cpu().numpy()
    b, L, h1 = prob.shape
    h = h1 - 1
    half = max(1, int(round(window_mm / z_mm)))
    out: list[list[Heatmap]] = []
    for i in range(b):
        per = []
        for j in range(L):
            p = prob[i, j, :h]
            pa = float(prob[i, j, h])
            k = int(np.argmax(p))
            lo, hi = max(0, k - half), min(h, k + half + 1)
            mass = float(p[lo:hi].sum())
            if pa >= mass or mass <= 0:
                per.append(Heatmap(None, mass, pa, p))
            else:
                row = float((p[lo:hi] * np.arange(lo, hi)).sum() / mass)
                per.append(Heatmap(row, mass, pa, p))
        out.append(per)
    return out
