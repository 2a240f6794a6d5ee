"""Image operations shared by the analyses (MIPs, slab averaging, ...)."""

from .mip import load_mip_npz, mip, mip_pair, save_mip_npz
from .slabs import slab_average, slab_weights

__all__ = ["load_mip_npz", "mip", "mip_pair", "save_mip_npz", "slab_average", "slab_weights"]
