"""Learned lesion classifier: coronary artery (LM, LAD, LCX, RCA) vs non-coronary, on hand-crafted features.

Why features and a gradient-boosted tree model rather than a network: the
candidates are already found exactly (threshold + connected components inside
the heart region), so what is left is to name each one from where it lies
relative to the heart and what it looks like. A dozen features do that, train
in seconds on a CPU from a few dozen patients, infer in milliseconds, and the
model is a few hundred kB. Features (per candidate lesion, scored grid, RAS mm):

* position relative to the heart search region: offsets from its centroid in mm
  and normalised by its spread (x, y, z), and depth below its surface (mm);
* size and density: log volume, log area, peak HU, mean HU, z extent (mm),
  Agatston weight;
* whether its centroid lies in the aorta region (when an aorta mask is given).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from ..volume import Volume
from .scoring import CalciumScore

__all__ = ["CLASS_NAMES", "FEATURES", "LesionClassifier", "lesion_features", "lesion_truth"]

#: model classes: 0 non-coronary (aorta, valves, annulus, noise, bone rims), 1-4 the arteries
CLASS_NAMES = {0: "other", 1: "LM", 2: "LAD", 3: "LCX", 4: "RCA"}
FEATURES = ["dx_mm", "dy_mm", "dz_mm", "u", "v", "w", "depth_mm", "log_volume", "log_area", "peak_hu", "mean_hu",
            "z_extent_mm", "weight", "in_aorta"]


def _region_geometry(region_map: Volume) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m = region_map.array > 0
    idx = np.argwhere(m).astype(np.float64)
    xyz = region_map.world(idx)
    centre = xyz.mean(axis=0)
    spread = xyz.std(axis=0) + 1e-6
    depth = ndimage.distance_transform_edt(m, sampling=region_map.spacing)
    return centre, spread, depth


def lesion_features(score: CalciumScore, scored: Volume, region_map: Volume) -> np.ndarray:
    """``(n_lesions, len(FEATURES))`` features of the lesions of ``score`` (see the module docstring)."""
    n = len(score.lesions)
    if n == 0:
        return np.zeros((0, len(FEATURES)))
    ras = scored.to_ras()
    lm = score.lesion_map
    assert lm is not None and lm.shape == ras.shape, "score must come from score_volume on the scored volume"
    sel = lm > 0
    ids = lm[sel]
    vals = ras.array[sel].astype(np.float64)
    cnt = np.bincount(ids, minlength=n + 1)[1:]
    mean_hu = np.bincount(ids, weights=vals, minlength=n + 1)[1:] / np.maximum(cnt, 1)
    objs = ndimage.find_objects(lm, max_label=n)
    inc = float(ras.spacing[2])
    z_ext = np.array([(o[2].stop - o[2].start) * inc if o is not None else 0.0 for o in objs])
    centre, spread, depth = _region_geometry(region_map)
    cents = np.array([l.centroid_mm for l in score.lesions])
    vox = np.rint(region_map.voxel(cents)).astype(int)
    inside = np.all((vox >= 0) & (vox < np.array(region_map.shape)), axis=1)
    d = np.zeros(n)
    lab = np.zeros(n)
    if inside.any():
        v = vox[inside]
        d[inside] = depth[v[:, 0], v[:, 1], v[:, 2]]
        lab[inside] = region_map.array[v[:, 0], v[:, 1], v[:, 2]]
    off = cents - centre
    X = np.column_stack([
        off, off / spread, d,
        np.log1p([l.volume_mm3 for l in score.lesions]), np.log1p([l.area_mm2 for l in score.lesions]),
        [l.peak_hu for l in score.lesions], mean_hu, z_ext, [l.weight for l in score.lesions], (lab == 2).astype(float),
    ])
    return X.astype(np.float64)


def lesion_truth(score: CalciumScore, scored: Volume, truth: Volume, mapping: dict[int, int],
                 min_overlap: float = 0.2) -> np.ndarray:
    """Class of each lesion from a reference label map (``mapping``: reference value -> model class).

    The majority reference label among the lesion's voxels, when it covers at
    least ``min_overlap`` of them; otherwise 0 (noise / not calcium of interest).
    """
    n = len(score.lesions)
    if n == 0:
        return np.zeros(0, np.int64)
    ras = scored.to_ras()
    ref = truth.resample_like(ras, order=0).array.astype(np.int64)
    lm = score.lesion_map
    sel = lm > 0
    top = int(ref.max()) + 1
    counts = np.bincount(lm[sel].astype(np.int64) * top + ref[sel], minlength=(n + 1) * top).reshape(n + 1, top)[1:]
    size = counts.sum(axis=1)
    lab_counts = counts.copy()
    lab_counts[:, 0] = 0
    best = lab_counts.argmax(axis=1)
    ok = lab_counts.max(axis=1) >= min_overlap * np.maximum(size, 1)
    lut = np.zeros(top, np.int64)
    for k, v in mapping.items():
        if k < top:
            lut[k] = v
    return np.where(ok, lut[best], 0)


@dataclass
class LesionClassifier:
    model: Any
    features: list[str]
    classes: dict[int, str]
    info: dict[str, Any]

    def predict(self, X: np.ndarray) -> np.ndarray:
        if X.shape[0] == 0:
            return np.zeros(0, np.int64)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):  # a few hundred rows: threads only add OpenMP start-up and spinning
            return np.asarray(self.model.predict(X), np.int64)

    def apply(self, score: CalciumScore, scored: Volume, region_map: Volume) -> tuple[CalciumScore, dict[str, Any]]:
        """Rename each lesion's region to its predicted artery (or "other") and rebuild the regions."""
        from .pipeline import _regions_from_lesions

        X = lesion_features(score, scored, region_map)
        pred = self.predict(X)
        lesions = [dataclasses.replace(l, region=self.classes.get(int(p), "other")) for l, p in zip(score.lesions, pred)]
        names = [c for c in ("LM", "LAD", "LCX", "RCA") if c in self.classes.values()] + ["other"]
        regions = _regions_from_lesions(lesions, names, score.mass_mg is not None)
        return dataclasses.replace(score, lesions=lesions, regions=regions), dict(self.info)

    def save(self, path: str) -> None:
        import joblib

        joblib.dump({"model": self.model, "features": self.features, "classes": self.classes, "info": self.info},
                    path, compress=3)

    @classmethod
    def load(cls, entry: Any) -> "LesionClassifier":
        import joblib

        d = joblib.load(entry.path)
        if d["features"] != FEATURES:
            from ..errors import HounsfieldError

            raise HounsfieldError(f"model '{entry.name}' was trained on other features; retrain it")
        info = entry.summary()
        return cls(model=d["model"], features=d["features"], classes={int(k): v for k, v in d["classes"].items()},
                   info=info)
