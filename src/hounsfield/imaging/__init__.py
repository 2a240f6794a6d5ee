"""Image operations shared by several subsystems (slab averaging, ...)."""

from .slabs import slab_average, slab_weights

__all__ = ["slab_average", "slab_weights"]
