"""Image operations shared by the analyses (MIPs, ...)."""

from .mip import mip, mip_pair, save_mip_npz, load_mip_npz

__all__ = ["mip", "mip_pair", "save_mip_npz", "load_mip_npz"]
