"""Acquisition models: grid, slice profile, point spread, calcium, correlated noise.

:func:`acquire` renders a :class:`~.chest.ChestPhantom` onto the grid of an
:class:`Acquisition` slab by slab (bounded memory): the anatomy is evaluated
at ``n_sub`` positions across each slice's thickness and averaged (slice
profile, partial volume along z), blurred in-plane by the scanner's Gaussian
point spread, the calcium is added from its high-resolution description
(:func:`~.calcium.render_plaques`), then correlated noise: white noise
band-limited in-plane like a filtered-back-projection noise power spectrum,
with a standard deviation set by dose, slice thickness and patient size.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from ..volume import Volume, VolumeMeta
from .calcium import ALL_CALCIUM_LABELS, render_plaques
from .shapes import Canvas

__all__ = ["Acquisition", "Rendered", "acquire", "gated_acquisition", "non_gated_acquisition", "COVERAGES"]

COVERAGES = ("chest", "chest_abdomen", "abdomen")


@dataclass(frozen=True)
class Acquisition:
    """Where and how a volume is reconstructed (all lengths in mm)."""

    name: str
    matrix: int
    fov_mm: float
    centre_xy: tuple[float, float]
    z_first: float  # centre of slice 0 (most inferior)
    n_slices: int
    thickness_mm: float
    increment_mm: float
    noise_sd: float  # HU in water-equivalent soft tissue
    psf_sigma_mm: float = 0.5
    kvp: float = 120.0
    gated: bool = False
    motion: bool = False  # cardiac motion blur of the coronaries
    coverage: str = "heart"
    kernel: str = "B35f"
    noise_corr_px: float = 1.15  # NPS peak ~0.17 cycles/pixel: lag-1 correlation ~0.4 (soft-tissue kernels)

    @property
    def spacing(self) -> tuple[float, float, float]:
        d = self.fov_mm / self.matrix
        return d, d, self.increment_mm

    @property
    def affine(self) -> np.ndarray:
        d = self.fov_mm / self.matrix
        x0 = self.centre_xy[0] - self.fov_mm / 2 + d / 2
        y0 = self.centre_xy[1] - self.fov_mm / 2 + d / 2
        return np.array([[d, 0, 0, x0], [0, d, 0, y0], [0, 0, self.increment_mm, self.z_first], [0, 0, 0, 1.0]])

    def axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a = self.affine
        n = self.matrix
        return (a[0, 3] + a[0, 0] * np.arange(n), a[1, 3] + a[1, 1] * np.arange(n),
                a[2, 3] + a[2, 2] * np.arange(self.n_slices))

    def slice_of(self, z_mm: float) -> int | None:
        """0-based slice whose centre is nearest ``z_mm`` (None outside the volume)."""
        k = (z_mm - self.z_first) / self.increment_mm
        if k < -0.5 or k > self.n_slices - 0.5:
            return None
        return int(np.clip(np.rint(k), 0, self.n_slices - 1))

    @property
    def z_range(self) -> tuple[float, float]:
        return self.z_first, self.z_first + (self.n_slices - 1) * self.increment_mm

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["spacing_mm"] = list(self.spacing)
        d["shape"] = [self.matrix, self.matrix, self.n_slices]
        return d

    def replace(self, **kw) -> "Acquisition":
        return dataclasses.replace(self, **kw)


@dataclass
class Rendered:
    """A rendered volume with its label maps (same grid)."""

    ct: Volume
    organ: np.ndarray  # uint8 organ ids (1-28 VerSe vertebrae)
    tissue: np.ndarray  # uint8 tissue classes
    calcium: np.ndarray  # uint8 CALCIUM_LABELS
    acquisition: Acquisition
    plaque_peaks: list[float]  # peak HU added by each rendered plaque (smallest first)
    timings: dict[str, float] = dataclasses.field(default_factory=dict)


def _noise_bank(rng: np.random.Generator, n: int, pad: int, depth: int, corr: float) -> np.ndarray:
    """Unit-variance, in-plane correlated noise slices, shape ``(depth, n + pad, n + pad)``.

    White noise shaped in the Fourier domain by the amplitude of a filtered
    back-projection noise power spectrum, NPS(f) ~ f exp(-(f / fc)^2) (ramp
    times apodisation), with the peak frequency set by ``corr`` (pixels).
    """
    m = n + pad
    w = rng.standard_normal((depth, m, m), dtype=np.float32)
    fx = np.fft.fftfreq(m)[:, None]
    fy = np.fft.rfftfreq(m)[None, :]
    f = np.sqrt(fx ** 2 + fy ** 2)
    fc = 0.28 / max(corr, 0.3)
    amp = np.sqrt(f * np.exp(-((f / fc) ** 2))).astype(np.float32)
    spec = np.fft.rfft2(w, axes=(1, 2))
    spec *= amp[None, :, :]
    b = np.fft.irfft2(spec, s=(m, m), axes=(1, 2)).astype(np.float32)
    b /= b.std()
    return b


def _binomial_blur(a: np.ndarray, axis: int, passes: int) -> None:
    """In-place [1, 2, 1] / 4 smoothing along ``axis`` (sigma = 0.707 px per pass)."""
    src = np.moveaxis(a, axis, 0)
    for _ in range(passes):
        orig = src.copy(order="K")
        np.add(orig[:-2], orig[2:], out=src[1:-1])
        src[1:-1] *= 0.25
        orig[1:-1] *= 0.5
        src[1:-1] += orig[1:-1]
        src[0] = 0.75 * orig[0] + 0.25 * orig[1]
        src[-1] = 0.75 * orig[-1] + 0.25 * orig[-2]


def acquire(phantom, acq: Acquisition, *, seed_seq: np.random.SeedSequence, chunk: int = 48,
            sub_step_mm: float = 1.0, calcium: bool = True) -> Rendered:
    """Render ``phantom`` with acquisition ``acq`` (deterministic given ``seed_seq``)."""
    x, y, z = acq.axes()
    n, nk = acq.matrix, acq.n_slices
    th = acq.thickness_mm
    n_sub = max(1, 2 * int(round(th / sub_step_mm / 2)) + 1) if th > 1.6 * sub_step_mm else 1
    offs = (np.arange(n_sub) - (n_sub - 1) / 2) * (th / n_sub) if n_sub > 1 else np.zeros(1)
    out = np.empty((n, n, nk), np.int16, order="F")
    organ = np.empty((n, n, nk), np.uint8, order="F")
    tissue = np.empty((n, n, nk), np.uint8, order="F")
    lut = np.asarray(phantom.hu, np.float32)
    sig_px = acq.psf_sigma_mm / acq.spacing[0]
    passes = int(round((sig_px / 0.7071) ** 2)) if sig_px > 0.35 else 0
    rng = np.random.default_rng(seed_seq)
    depth = 16
    pad = 64
    bank = _noise_bank(rng, n, pad, depth, acq.noise_corr_px) * np.float32(acq.noise_sd) if acq.noise_sd > 0 else None
    offsets = rng.integers(0, pad, size=(nk, 2))
    bank_k = rng.integers(0, depth, size=nk)
    # the F-ordered outputs seen transposed are C-ordered (slice, j, i): one contiguous block per chunk
    out_t, organ_t, tissue_t = out.T, organ.T, tissue.T
    tm = dict.fromkeys(("paint", "labels", "hu", "blur", "noise", "store", "calcium"), 0.0)
    clock = time.perf_counter
    for k0 in range(0, nk, chunk):
        k1 = min(nk, k0 + chunk)
        zc = z[k0:k1]
        zs = (zc[:, None] + offs[None, :]).ravel()
        t0 = clock()
        cv = Canvas(x, y, zs)
        phantom.paint(cv)
        t1 = clock()
        tm["paint"] += t1 - t0
        mid = n_sub // 2
        organ_t[k0:k1] = cv.organ[mid::n_sub]
        tissue_t[k0:k1] = cv.tissue[mid::n_sub]
        t2 = clock()
        tm["labels"] += t2 - t1
        hu = lut[cv.tissue]  # (nc * n_sub, j, i), C-contiguous
        if n_sub > 1:
            h4 = hu.reshape(k1 - k0, n_sub, n, n)
            acc = h4[:, 0].copy()
            for si in range(1, n_sub):
                acc += h4[:, si]
            acc *= np.float32(1.0 / n_sub)
            hu = acc
        t3 = clock()
        tm["hu"] += t3 - t2
        if passes:
            for ax in (1, 2):
                _binomial_blur(hu, ax, passes)
        t4 = clock()
        tm["blur"] += t4 - t3
        if bank is not None:
            for kk in range(k1 - k0):
                oi, oj = offsets[k0 + kk]
                hu[kk] += bank[bank_k[k0 + kk], oj:oj + n, oi:oi + n]
        t5 = clock()
        tm["noise"] += t5 - t4
        np.clip(hu, -1024, 3071, out=hu)
        np.rint(hu, out=hu)
        out_t[k0:k1] = hu
        tm["store"] += clock() - t5
    t6 = clock()
    calc = np.zeros((n, n, nk), np.uint8, order="F")
    peaks: list[float] = []
    if calcium:
        plaques = list(phantom.plaques) + list(phantom.distractors)
        # larger plaques last so they win label overlaps
        order = sorted(range(len(plaques)), key=lambda i: plaques[i].volume_mm3)
        contribs = render_plaques([plaques[i] for i in order], x, y, z, thickness=th,
                                  psf_sigma=acq.psf_sigma_mm, motion=acq.motion)
        for item, i in zip(contribs, order):
            if item is None:  # plaque outside this volume
                continue
            sl, c = item
            peaks.append(float(c.max()))
            sub = out[sl].astype(np.float32) + c
            out[sl] = np.rint(np.clip(sub, -1024, 3071)).astype(np.int16)
            lab = ALL_CALCIUM_LABELS[plaques[i].kind]
            np.copyto(calc[sl], np.uint8(lab), where=c > 25.0)
    tm["calcium"] = clock() - t6
    meta = VolumeMeta(
        modality="CT", kvp=acq.kvp, increment_mm=acq.increment_mm, thickness_mm=th, kernel=acq.kernel,
        gated=acq.gated, gated_reason="synthetic: ECG-gated calcium-score protocol" if acq.gated else
        "synthetic: non-gated chest CT", contrast="arterial" if phantom.params.contrast else "none",
        description=f"hounsfield phantom {acq.name}", manufacturer="hounsfield phantom",
        patient_id=f"phantom_{phantom.params.seed}_{phantom.params.index:04d}", source="hounsfield.phantoms",
    )
    vol = Volume(out, acq.affine, meta)
    return Rendered(ct=vol, organ=organ, tissue=tissue, calcium=calc, acquisition=acq, plaque_peaks=peaks,
                    timings={k: round(v, 3) for k, v in tm.items()})


def _body_size(phantom, z: float) -> float:
    yc, ax, ay, ap = phantom.body.outer(z)
    return float(ax + 0.5 * (ay + ap))


def gated_acquisition(phantom, rng: np.random.Generator, matrix: int = 512) -> Acquisition:
    """ECG-gated calcium-score scan: 3 mm / 3 mm, ~25 cm FOV centred on the heart, heart only in z."""
    h = phantom.heart
    z_lo = float(h.apex[2]) - rng.uniform(8, 20)
    z_hi = max(float(h.root[2]), float(h.centrelines["LM"][:, 2].max())) + rng.uniform(15, 30)
    inc = 3.0
    nk = int(np.ceil((z_hi - z_lo) / inc)) + 1
    fov = float(rng.uniform(220, 260))
    c = h.centre[:2] + rng.normal(0, 6, 2)
    size = _body_size(phantom, float(h.centre[2]))
    sd = float(rng.uniform(14, 24)) * (size / 270.0) ** 1.5
    return Acquisition(name="gated", matrix=matrix, fov_mm=fov, centre_xy=(float(c[0]), float(c[1])), z_first=z_lo,
                       n_slices=nk, thickness_mm=3.0, increment_mm=inc, noise_sd=sd, psf_sigma_mm=0.45,
                       gated=True, motion=False, coverage="heart", kernel="B35f")


def non_gated_acquisition(phantom, rng: np.random.Generator, matrix: int = 512, coverage: str | None = None,
                          thickness: float | None = None, max_slices: int | None = None) -> Acquisition:
    """Routine non-gated CT: chest, chest+abdomen or abdomen coverage; 1-1.5 mm or 2-5 mm slices."""
    lm, sp = phantom.landmarks, phantom.spine
    if coverage is None:
        coverage = str(rng.choice(COVERAGES, p=[0.5, 0.33, 0.17]))
    top_chest = lm["lung_apex_z"] + rng.uniform(5, 35)
    if coverage == "chest":
        z_hi = top_chest
        z_lo = sp.z_of("L1") + rng.uniform(-35, 25)
    elif coverage == "chest_abdomen":
        z_hi = top_chest
        z_lo = lm["femoral_head_z"] - rng.uniform(-20, 50)
    elif coverage == "abdomen":
        z_hi = lm["dome_r_z"] + rng.uniform(10, 45)
        z_lo = lm["femoral_head_z"] - rng.uniform(-20, 50)
    else:
        raise ValueError(f"unknown coverage {coverage!r} (choose from {', '.join(COVERAGES)})")
    if thickness is None:
        thin_p = {"chest": 0.7, "chest_abdomen": 0.3, "abdomen": 0.4}[coverage]
        if rng.random() < thin_p:
            thickness = float(rng.choice([1.0, 1.25, 1.5]))
        else:
            thickness = float(rng.choice([2.0, 3.0, 5.0], p=[0.2, 0.4, 0.4]))
    inc = thickness if rng.random() < 0.8 or thickness > 3 else round(thickness * 0.8, 3)
    nk = int(np.ceil((z_hi - z_lo) / inc)) + 1
    if max_slices is not None and nk > max_slices:
        inc = (z_hi - z_lo) / (max_slices - 1)
        thickness = max(thickness, inc)
        nk = max_slices
    size = _body_size(phantom, 0.5 * (z_lo + z_hi))
    width = float(np.max(phantom.body.outer(np.linspace(z_lo, z_hi, 20))[1])) * 2
    fov = float(np.clip(width + rng.uniform(20, 70), 340, 480))
    yc = 0.5 * (phantom.landmarks["table_y"] + float(phantom.body.outer(0.5 * (z_lo + z_hi))[0]))
    c = (float(phantom.body.xc + rng.normal(0, 8)), float(yc + rng.uniform(0, 40)))
    low_dose = rng.random() < 0.5
    sd = (rng.uniform(35, 60) if low_dose else rng.uniform(20, 35)) * np.sqrt(1.25 / thickness) * (size / 270) ** 1.5
    return Acquisition(name="non_gated", matrix=matrix, fov_mm=fov, centre_xy=c, z_first=float(z_lo), n_slices=nk,
                       thickness_mm=float(thickness), increment_mm=float(inc), noise_sd=float(sd),
                       psf_sigma_mm=0.55, gated=False, motion=True, coverage=coverage,
                       kernel="B30f" if not low_dose else "B31f")
