"""DICOM results for PACS: segmentations (SEG) and measurement reports (TID 1500 SR), via highdicom.

Written only when the analysed volume was read from DICOM on the files' own
grid (``meta.extra["source_files"]``), so every frame references its source image.
"""

from .seg import VERTEBRA_CODES, read_seg, write_seg
from .sr import write_calcium_sr

__all__ = ["VERTEBRA_CODES", "read_seg", "write_calcium_sr", "write_seg"]
