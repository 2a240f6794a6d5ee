"""The clot networks: MONAI U-Nets on 2 channels (CTA, NCCT), 2-D (published) or 3-D.

A checkpoint is one ``.pt`` file holding ``{"state_dict", "config"}``; the
config records everything needed to rebuild the network and to prepare its
input (spacing, padded size, windows), so a model trained with other
settings is used with its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import InputError

__all__ = ["DEFAULT_NET", "build_model", "save_checkpoint", "load_checkpoint", "loss_function"]

#: network settings of the bundled model (small enough for CPU training and a < 5 MB file)
DEFAULT_NET: dict[str, Any] = {"dims": 2, "in_channels": 2, "out_channels": 2, "channels": [24, 48, 96, 192],
                               "strides": [2, 2, 2], "num_res_units": 1, "dropout": 0.0, "norm": "batch"}


def build_model(dims: int = 2, in_channels: int = 2, out_channels: int = 2, channels: Any = (24, 48, 96, 192),
                strides: Any = (2, 2, 2), num_res_units: int = 1, dropout: float = 0.0, norm: str = "batch") -> Any:
    """A MONAI ``UNet`` (``spatial_dims`` = ``dims``) returning logits for background and clot.

    Batch normalisation (not MONAI's default instance normalisation): training
    sees small crops, inference whole padded slices, and instance statistics
    differ between the two while the running batch statistics do not.
    """
    from monai.networks.nets import UNet

    if dims not in (2, 3):
        raise ValueError("dims must be 2 or 3")
    return UNet(spatial_dims=dims, in_channels=in_channels, out_channels=out_channels, channels=tuple(channels),
                strides=tuple(strides), num_res_units=num_res_units, dropout=dropout, norm=norm)


def loss_function(kind: str = "dice_ce") -> Any:
    """The training loss, logits ``(B, 2, ...)`` and labels ``(B, 1, ...)`` in.

    ``"dice_ce"``: Dice (clot channel, over the batch) + cross-entropy (MONAI
    ``DiceCELoss``, softmax over 2 classes). ``"crop_dice_ce"``: MONAI
    ``DiceLoss`` per sample, averaged over the samples that contain clot (a
    crop of a thin M2 clot counts as much as one of an ICA clot; crops without
    clot add no Dice term), + cross-entropy over all pixels.
    """
    from monai.losses import DiceCELoss, DiceLoss

    if kind == "dice_ce":
        return DiceCELoss(to_onehot_y=True, softmax=True, batch=True, include_background=False)
    if kind != "crop_dice_ce":
        raise InputError(f"unknown loss {kind!r}: 'dice_ce' or 'crop_dice_ce'")
    import torch

    dice = DiceLoss(to_onehot_y=True, softmax=True, batch=False, include_background=False, reduction="none")

    def crop_dice_ce(logits: Any, y: Any) -> Any:
        ce = torch.nn.functional.cross_entropy(logits, y[:, 0].long())
        pos = y.flatten(1).amax(1) > 0
        if not bool(pos.any()):
            return ce
        return dice(logits[pos], y[pos]).mean() + ce

    return crop_dice_ce


def save_checkpoint(model: Any, config: dict[str, Any], path: str | Path, half: bool = True) -> Path:
    """Save weights (float16 when ``half``, to keep bundled files small; tensors float16 cannot hold stay
    float32, see :func:`hounsfield.training.weights.half_state`) and config."""
    import torch

    from ..training.weights import half_state

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = half_state(model.state_dict()) if half else {k: v.cpu() for k, v in model.state_dict().items()}
    tmp = path.with_name(path.name + ".part")
    torch.save({"state_dict": state, "config": config}, tmp)
    tmp.replace(path)
    return path


def load_checkpoint(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """Rebuild the network of a checkpoint (float32, eval mode) and return it with its config."""
    import torch

    blob = torch.load(str(path), map_location="cpu", weights_only=True)
    config = blob["config"]
    model = build_model(**config["net"])
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in blob["state_dict"].items()})
    model.eval()
    return model, config
