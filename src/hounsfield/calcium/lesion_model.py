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
* whether its centroid lies in the aorta region (when an aorta mask is given);
* what surrounds it, in the same slices (in-plane distance from the lesion):
  within 3 mm and from 3 to 8 mm, the fractions of fat (-190..-30 HU), lung
  or air (< -400 HU), soft tissue and blood (-30..100 HU) and dense voxels
  (>= the threshold, other lesions and bone), and the mean HU. A coronary
  plaque sits in a vessel running through epicardial fat; aortic-wall calcium
  borders the aortic lumen and mediastinal fat or lung; valve and annulus
  calcium is wrapped in blood and myocardium; noise is a speck in whatever
  tissue it falls on. These features do not depend on the search region, so
  an imperfect heart region costs less;
* the scan: in-plane pixel size and image noise (robust SD of neighbour
  differences in the region's soft tissue), so one model serves 0.4 mm gated
  and 0.8-1.6 mm non-gated pixels, where a noise speck covers 1 mm^2.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from ..volume import Volume
from .scoring import CalciumScore, _bbox

__all__ = ["CLASS_NAMES", "FEATURES", "LesionClassifier", "decide", "lesion_features", "lesion_truth"]

#: model classes: 0 non-coronary (aorta, valves, annulus, noise, bone rims), 1-4 the arteries
CLASS_NAMES = {0: "other", 1: "LM", 2: "LAD", 3: "LCX", 4: "RCA"}
FEATURES = ["dx_mm", "dy_mm", "dz_mm", "u", "v", "w", "depth_mm", "log_volume", "log_area", "peak_hu", "mean_hu",
            "z_extent_mm", "weight", "in_aorta",
            "near_fat", "near_lung", "near_soft", "near_dense", "near_hu",
            "ring_fat", "ring_lung", "ring_soft", "ring_dense", "ring_hu", "pixel_mm", "noise_hu"]
#: in-plane distances (mm) of the two context shells around a lesion
NEAR_MM, RING_MM = 3.0, 8.0


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
        _context(lm, ras.array, ras.spacing, n, score.threshold_hu),
        np.full(n, float(ras.spacing[0])), np.full(n, _noise_hu(ras.array, region_map, ras)),
    ])
    return X.astype(np.float64)


def _noise_hu(arr: np.ndarray, region_map: Volume, ras: Volume) -> float:
    """Image noise (HU): robust SD of left-right neighbour differences of soft tissue (-50..130 HU) in the box
    holding the search region (blood pool and myocardium dominate it)."""
    idx = np.argwhere(region_map.array > 0)
    if idx.size == 0:
        return 0.0
    corners = np.array([[a, b, c] for a in (idx[:, 0].min(), idx[:, 0].max()) for b in (idx[:, 1].min(), idx[:, 1].max())
                        for c in (idx[:, 2].min(), idx[:, 2].max())], np.float64)
    vox = ras.voxel(region_map.world(corners))
    lo = np.clip(np.floor(vox.min(0)).astype(int), 0, np.array(arr.shape) - 1)
    hi = np.clip(np.ceil(vox.max(0)).astype(int) + 1, 1, np.array(arr.shape))
    a = arr[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]].astype(np.float32)
    if a.shape[0] < 2:
        return 0.0
    d = a[1:] - a[:-1]
    ok = (a[1:] > -50) & (a[1:] < 130) & (a[:-1] > -50) & (a[:-1] < 130)
    if ok.sum() < 100:
        return 0.0
    return float(1.4826 * np.median(np.abs(d[ok])) / np.sqrt(2.0))


def _context(lm: np.ndarray, arr: np.ndarray, spacing, n: int, threshold: float) -> np.ndarray:
    """``(n, 10)`` tissue fractions and mean HU in the near shell and the ring around each lesion (same slices)."""
    dx, dy = float(spacing[0]), float(spacing[1])
    pad = np.array([int(np.ceil(RING_MM / dx)) + 1, int(np.ceil(RING_MM / dy)) + 1, 0])
    box = _bbox(lm > 0, pad)
    sub = lm[box]
    hu = arr[box].astype(np.float32)
    # in-plane distance to (and id of) the nearest lesion voxel of the same slice
    dist, ind = ndimage.distance_transform_edt(sub == 0, sampling=(dx, dy, 1e6), return_indices=True)
    owner = sub[ind[0], ind[1], ind[2]].astype(np.int64)
    out = np.zeros((n, 10))
    classes = (
        (hu >= -190) & (hu < -30),  # fat
        hu < -400,  # lung / air
        (hu >= -30) & (hu < 100),  # soft tissue, blood
        hu >= threshold,  # dense: other lesions, bone
    )
    for j, (lo_mm, hi_mm) in enumerate(((0.0, NEAR_MM), (NEAR_MM, RING_MM))):
        shell = (dist > lo_mm) & (dist <= hi_mm)
        ids = owner[shell]
        cnt = np.bincount(ids, minlength=n + 1)[1:].astype(np.float64)
        safe = np.maximum(cnt, 1.0)
        for k, cls in enumerate(classes):
            out[:, 5 * j + k] = np.bincount(ids, weights=cls[shell].astype(np.float64), minlength=n + 1)[1:] / safe
        out[:, 5 * j + 4] = np.bincount(ids, weights=hu[shell].astype(np.float64), minlength=n + 1)[1:] / safe
    return out


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
    #: P(coronary) = 1 - P(other) at or above which a lesion is coronary (chosen on validation patients);
    #: None: the model's own argmax
    threshold: float | None = None

    def predict(self, X: np.ndarray) -> np.ndarray:
        if X.shape[0] == 0:
            return np.zeros(0, np.int64)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):  # a few hundred rows: threads only add OpenMP start-up and spinning
            if self.threshold is None:
                return np.asarray(self.model.predict(X), np.int64)
            proba = self.model.predict_proba(X)
        return decide(proba, np.asarray(self.model.classes_), self.threshold)

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

        joblib.dump({"model": self.model, "features": self.features, "classes": self.classes, "info": self.info,
                     "threshold": self.threshold}, path, compress=3)

    @classmethod
    def load(cls, entry: Any) -> "LesionClassifier":
        import joblib

        d = joblib.load(entry.path)
        if d["features"] != FEATURES:
            from ..errors import HounsfieldError

            raise HounsfieldError(f"model '{entry.name}' was trained on other features; retrain it")
        info = entry.summary()
        return cls(model=d["model"], features=d["features"], classes={int(k): v for k, v in d["classes"].items()},
                   info=info, threshold=d.get("threshold"))


def decide(proba: np.ndarray, classes: np.ndarray, threshold: float) -> np.ndarray:
    """Class per row: coronary when ``1 - P(other) >= threshold``, then the most probable artery; else 0."""
    classes = np.asarray(classes, np.int64)
    other = classes == 0
    p_cor = 1.0 - (proba[:, other].sum(axis=1) if other.any() else 0.0)
    if (~other).any():
        art = classes[~other][np.argmax(proba[:, ~other], axis=1)]
    else:
        art = np.zeros(len(proba), np.int64)
    return np.where(p_cor >= threshold, art, 0).astype(np.int64)
