"""The one currency passed between all stages: :class:`Volume`.

Conventions (written down once, here; see also ``docs/conventions.md``)
-----------------------------------------------------------------------
* ``Volume.array`` has voxel axis order ``(i, j, k)`` exactly as stored in a
  NIfTI file: ``array[i, j, k]``. ``k`` is the slice axis. A "slice index"
  anywhere in hounsfield's outputs is the 0-based ``k`` of the input file.
* ``Volume.affine`` is a 4x4 matrix mapping voxel ``(i, j, k, 1)`` to world
  RAS+ millimetres (the NIfTI convention: ``+x`` towards the patient's Right,
  ``+y`` Anterior, ``+z`` Superior). DICOM and SimpleITK are LPS; they are
  converted at the IO boundary with ``diag(-1, -1, 1)``, and nowhere else.
* ``z`` in millimetres is the world RAS ``z`` coordinate: superior-positive.
* CT arrays are ``int16`` Hounsfield units.

Masks, label maps and ROIs are Volumes too; they are aligned to an image by
their affines (:meth:`Volume.resample_like`), never by array shape.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Volume", "VolumeMeta", "LPS_TO_RAS"]

#: Multiply a 4x4 LPS affine on the left by this to obtain the RAS affine (and back).
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass(frozen=True)
class VolumeMeta:
    """Acquisition metadata carried with a :class:`Volume`.

    Every field is optional; ``None`` means "not known", never "zero".
    ``decisions`` records what the reader decided (tilt correction,
    resampling of uneven spacing, dropped duplicates...) as human-readable
    strings, so they can be written to a sidecar and shown to a user.
    """

    modality: str | None = None
    kvp: float | None = None
    increment_mm: float | None = None
    thickness_mm: float | None = None
    kernel: str | None = None
    gated: bool | None = None
    gated_reason: str | None = None
    contrast: str | None = None
    description: str | None = None
    manufacturer: str | None = None
    patient_id: str | None = None
    study_uid: str | None = None
    series_uid: str | None = None
    frame_of_reference_uid: str | None = None
    series_number: int | None = None
    source: str | None = None
    gantry_tilt_deg: float | None = None
    decisions: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dictionary of the metadata."""
        d = dataclasses.asdict(self)
        d["decisions"] = list(self.decisions)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "VolumeMeta":
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in names}
        if "decisions" in kwargs:
            kwargs["decisions"] = tuple(kwargs["decisions"] or ())
        return cls(**kwargs)

    def replace(self, **changes: Any) -> "VolumeMeta":
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, eq=False)
class Volume:
    """A voxel array with its RAS+ affine and metadata.

    Parameters
    ----------
    array
        3-D array indexed ``[i, j, k]`` (NIfTI voxel order, ``k`` = slices).
    affine
        4x4 voxel-to-world matrix, world in RAS+ millimetres.
    meta
        :class:`VolumeMeta`.

    Examples
    --------
    >>> import numpy as np
    >>> v = Volume(np.zeros((4, 3, 2), np.int16), np.diag([0.5, 0.5, 3.0, 1.0]))
    >>> v.spacing
    (0.5, 0.5, 3.0)
    >>> v.world((1, 2, 1)).tolist()
    [0.5, 1.0, 3.0]
    """

    array: np.ndarray
    affine: np.ndarray
    meta: VolumeMeta = field(default_factory=VolumeMeta)

    def __post_init__(self) -> None:
        arr = np.asarray(self.array)
        if arr.ndim != 3:
            raise ValueError(f"Volume needs a 3-D array, got shape {arr.shape}")
        aff = np.asarray(self.affine, dtype=np.float64)
        if aff.shape != (4, 4):
            raise ValueError(f"affine must be 4x4, got {aff.shape}")
        if abs(np.linalg.det(aff[:3, :3])) < 1e-12:
            raise ValueError("affine is singular")
        object.__setattr__(self, "array", arr)
        object.__setattr__(self, "affine", aff)

    # ------------------------------------------------------------------ geometry
    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.array.shape)  # type: ignore[return-value]

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size in mm along i, j, k (column norms of the affine)."""
        return tuple(float(x) for x in np.linalg.norm(self.affine[:3, :3], axis=0))  # type: ignore[return-value]

    @property
    def voxel_volume_mm3(self) -> float:
        return float(abs(np.linalg.det(self.affine[:3, :3])))

    @property
    def orientation(self) -> str:
        """Axis codes such as ``'RAS'`` or ``'LPS'`` (nibabel's convention: the
        direction each voxel axis points *to*)."""
        import nibabel as nib

        return "".join(nib.aff2axcodes(self.affine))

    def world(self, ijk: Any) -> np.ndarray:
        """World RAS mm of voxel index/indices ``ijk`` (shape ``(3,)`` or ``(n, 3)``)."""
        ijk = np.asarray(ijk, dtype=np.float64)
        return ijk @ self.affine[:3, :3].T + self.affine[:3, 3]

    def voxel(self, xyz: Any) -> np.ndarray:
        """Continuous voxel index of world RAS mm point(s) ``xyz``."""
        xyz = np.asarray(xyz, dtype=np.float64)
        inv = np.linalg.inv(self.affine)
        return xyz @ inv[:3, :3].T + inv[:3, 3]

    def slice_z_mm(self, k: Any) -> np.ndarray | float:
        """Superior-positive world z (mm) at the centre of slice(s) ``k``."""
        k = np.asarray(k, dtype=np.float64)
        ci, cj = (self.shape[0] - 1) / 2.0, (self.shape[1] - 1) / 2.0
        z = self.affine[2, 0] * ci + self.affine[2, 1] * cj + self.affine[2, 2] * k + self.affine[2, 3]
        return float(z) if z.ndim == 0 else z

    @property
    def slice_axis_is_z(self) -> bool:
        """True when the k axis is (within 1 degree) the world superior/inferior axis."""
        kdir = self.affine[:3, 2] / np.linalg.norm(self.affine[:3, 2])
        return abs(kdir[2]) > np.cos(np.deg2rad(1.0))

    # ---------------------------------------------------------------- building
    def with_array(self, array: np.ndarray, **meta_changes: Any) -> "Volume":
        """Same geometry, new voxels (and optionally changed metadata)."""
        array = np.asarray(array)
        if array.shape != self.array.shape:
            raise ValueError(f"shape {array.shape} differs from {self.array.shape}")
        meta = self.meta.replace(**meta_changes) if meta_changes else self.meta
        return Volume(array, self.affine.copy(), meta)

    def with_meta(self, **changes: Any) -> "Volume":
        return Volume(self.array, self.affine, self.meta.replace(**changes))

    def add_decision(self, text: str) -> "Volume":
        return self.with_meta(decisions=self.meta.decisions + (text,))

    # -------------------------------------------------------------- resampling
    def resample_like(self, target: "Volume", order: int = 0, fill: float = 0) -> "Volume":
        """Resample this volume onto ``target``'s grid through world space.

        ``order=0`` (nearest) for masks and label maps, ``1`` for images.
        Voxels of the target outside this volume get ``fill``.
        """
        return self.resample_to(target.shape, target.affine, order=order, fill=fill)

    def resample_to(
        self, shape: tuple[int, int, int], affine: np.ndarray, order: int = 1, fill: float = 0
    ) -> "Volume":
        """Resample onto an arbitrary grid ``(shape, affine)``."""
        from scipy import ndimage

        affine = np.asarray(affine, dtype=np.float64)
        # target voxel -> source voxel
        m = np.linalg.inv(self.affine) @ affine
        if np.allclose(m, np.eye(4), atol=1e-6) and tuple(shape) == self.shape:
            return Volume(self.array.copy(), affine.copy(), self.meta)
        fast = self._permuted(m, tuple(int(s) for s in shape), fill)
        if fast is not None:  # the same voxels in another axis order: no interpolation needed
            return Volume(fast, affine.copy(), self.meta)
        src = self.array
        dtype = src.dtype
        work = src if order == 0 else src.astype(np.float32, copy=False)
        out = ndimage.affine_transform(
            work, m[:3, :3], offset=m[:3, 3], output_shape=tuple(shape), order=order,
            mode="constant", cval=fill, prefilter=False,
        )
        if np.issubdtype(dtype, np.integer) and order > 0:
            info = np.iinfo(dtype)
            out = np.clip(np.rint(out), info.min, info.max)
        return Volume(out.astype(dtype, copy=False), affine.copy(), self.meta)

    def _permuted(self, m: np.ndarray, shape: tuple[int, int, int], fill: float) -> np.ndarray | None:
        """``m`` (target voxel -> source voxel) as flips, an axis permutation and an integer shift,
        applied by indexing; ``None`` when ``m`` is anything else."""
        r = m[:3, :3]
        if not (np.allclose(r, np.rint(r), atol=1e-6) and np.allclose(np.abs(np.rint(r)).sum(axis=0), 1)
                and np.allclose(np.abs(np.rint(r)).sum(axis=1), 1) and np.allclose(m[:3, 3], np.rint(m[:3, 3]),
                                                                                    atol=1e-4)):
            return None
        r = np.rint(r).astype(int)
        t = np.rint(m[:3, 3]).astype(int)
        out = np.full(shape, fill, dtype=self.array.dtype)
        # target axis a reads source axis src[a] with sign sg[a]: source index = sg * target + t
        src = [int(np.flatnonzero(r[:, a])[0]) for a in range(3)]
        sg = [int(r[src[a], a]) for a in range(3)]
        tgt_sl, src_sl = [], []
        for a in range(3):
            n_src = self.shape[src[a]]
            idx = sg[a] * np.arange(shape[a]) + t[src[a]]
            ok = np.flatnonzero((idx >= 0) & (idx < n_src))
            if ok.size == 0:
                return out
            tgt_sl.append(slice(int(ok[0]), int(ok[-1]) + 1))
            lo, hi = int(idx[ok[0]]), int(idx[ok[-1]])
            src_sl.append(slice(lo, hi + 1) if sg[a] > 0 else slice(lo, (hi - 1) if hi > 0 else None, -1))
        # source block in source axis order, then permuted into target order
        block = self.array[tuple(src_sl[src.index(ax)] for ax in range(3))]
        out[tuple(tgt_sl)] = np.transpose(block, [src[a] for a in range(3)])
        return out

    def reorient(self, codes: str = "RAS") -> "Volume":
        """The same data reoriented by axis flips/permutations only (no
        interpolation) so voxel axes point as closely as possible to ``codes``
        (nibabel's axis codes, e.g. ``"RAS"``, ``"LAS"`` - the order in which a
        DICOM axial series is read - or ``"LPS"``)."""
        import nibabel as nib

        ornt = nib.orientations.io_orientation(self.affine)
        target = nib.orientations.axcodes2ornt(tuple(codes))
        tr = nib.orientations.ornt_transform(ornt, target)
        if np.array_equal(tr, [[0, 1], [1, 1], [2, 1]]):
            return self
        arr = nib.orientations.apply_orientation(self.array, tr)
        aff = self.affine @ nib.orientations.inv_ornt_aff(tr, self.shape)
        return Volume(np.ascontiguousarray(arr), aff, self.meta)

    def to_ras(self) -> "Volume":
        """:meth:`reorient` to ``"RAS"``."""
        return self.reorient("RAS")

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return (
            f"Volume(shape={self.shape}, dtype={self.array.dtype}, spacing="
            f"{tuple(round(s, 3) for s in self.spacing)}, orientation={self.orientation!r}, "
            f"modality={self.meta.modality!r})"
        )
