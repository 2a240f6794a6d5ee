"""Vertebra detection, identification and centroids in CT."""
from .formats import Centroid, body_centroids, mask_centroids, read_verse_ctd, write_verse_ctd

__all__ = ["Centroid", "body_centroids", "mask_centroids", "read_verse_ctd", "write_verse_ctd"]
