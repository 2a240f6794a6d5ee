"""Opt-in costal cartilage calcification by age and sex (a sign of age on chest radiographs).

Off by default: a patient gets it only when ``PatientParams.cartilage_mm > 0``, which
:func:`~.patient.sample_params` draws only when called with ``age_signs=True`` (``hounsfield phantom cxr
--age-signs``). Default phantoms are unchanged.

Why: coronary calcium rises steeply with age, and on real films age shows; in the phantom radiographs it
did not (a linear probe on the films read the age with r = 0.10, ``benchmarks/cxr_clinical_probe.py``). Costal
cartilage calcification is one of the plainest signs of age on a PA film.

Published: on 700 chest radiographs (Age and Ageing 1989;18:333) costal cartilage calcification was seen in
6 % of people in their 20s and 45 % in their 80s; the first costal cartilage calcifies first and most. Its
pattern differs by sex (Navani et al., AJR 1970;108:771; Rejtarova et al. 2004): in men marginal, lines along the
upper and lower borders of the cartilage starting at the rib end; in women central, a tongue along the axis.

Model (:func:`draw_cartilage_calcification`): present with probability ``sigmoid(-2.75 + 0.0425 (age - 25))``
(6 % at 25, 45 % at 85, 23 % at 62); its extent, the mean calcified length per involved cartilage, is
``U(6, 14) + 0.25 (age - 50)`` mm (clipped to 4-30 mm), and the number of involved cartilages per side
``1 + Binomial(6, clip(0.1 + 0.01 (age - 50), 0.05, 0.6))`` (the first always). :func:`sample_cartilage_plaques`
lays the calcium in the cartilage tubes of :mod:`.skeleton` (label ``costal_cartilage``): in men two plates
0.5-0.9 mm thick (semi-axis) on the upper and lower borders, in women one tongue 1.2-2.2 mm (semi-axis) high on
the axis, both spanning 60-90 % of the cartilage's depth, density 400-800 mg/cm^3 HA (~470-940 HU). The
extent, counts, shapes and density are this model's assumptions (the cited papers give prevalence and pattern,
not sizes).
"""

from __future__ import annotations

import numpy as np

from .calcium import Plaque

__all__ = ["draw_cartilage_calcification", "sample_cartilage_plaques", "prevalence"]


def prevalence(age: float) -> float:
    """Probability of visible costal cartilage calcification at ``age`` (see the module docstring).

    >>> round(prevalence(25), 3), round(prevalence(85), 3)
    (0.06, 0.45)
    """
    return float(1.0 / (1.0 + np.exp(-(-2.7515 + 0.042513 * (age - 25.0)))))


def draw_cartilage_calcification(age: float, rng: np.random.Generator) -> float:
    """Mean calcified length (mm) per involved cartilage, 0 = none."""
    if rng.random() >= prevalence(age):
        return 0.0
    return float(np.clip(rng.uniform(6.0, 14.0) + 0.25 * (age - 50.0), 4.0, 30.0))


def sample_cartilage_plaques(length_mm: float, spine, body, params, rng: np.random.Generator) -> list[Plaque]:
    """Calcium in the costal cartilages: ``length_mm`` of it on average from each involved cartilage's rib end,
    marginal (two lines on the upper and lower borders) in men, central (one tongue on the axis) in women."""
    if length_mm <= 0:
        return []
    from .skeleton import _rib_paths

    paths = [(num, side, cart) for num, side, _, cart in _rib_paths(spine, body, params) if cart is not None]
    r_cart = 4.5 * params.stature
    p_more = float(np.clip(0.1 + 0.01 * (params.age - 50.0), 0.05, 0.6))
    male = params.sex == "M"
    up = np.array([0.0, 0.0, 1.0])
    out: list[Plaque] = []
    for side in (1, -1):
        mine = sorted((c for c in paths if c[1] == side), key=lambda c: c[0])
        n_inv = 1 + int(rng.binomial(6, p_more))
        chosen = [mine[0]] + [mine[i] for i in sorted(rng.choice(np.arange(1, len(mine)), size=min(n_inv - 1, len(mine) - 1), replace=False))]
        for _, _, cart in chosen:
            a, b = np.asarray(cart[0], float), np.asarray(cart[-1], float)
            seg = np.linalg.norm(b - a)
            if seg < 1.0:
                continue
            t = (b - a) / seg
            m = up - (up @ t) * t  # towards the cartilage's upper border
            m = m / max(np.linalg.norm(m), 1e-9)
            w = np.cross(t, m)
            ln = float(np.clip(length_mm * rng.uniform(0.6, 1.4), 3.0, 0.9 * seg))
            c = a + t * (0.5 * ln + float(rng.uniform(0.0, 0.1)) * seg)
            density = float(rng.uniform(400.0, 800.0))
            if male:  # marginal: lines on the upper and lower borders
                for s in (1.0, -1.0):
                    thick = float(rng.uniform(0.5, 0.9))
                    out.append(Plaque("costal_cartilage", c + s * m * (r_cart - thick), np.stack([t, m, w], axis=1),
                                      np.array([0.5 * ln, thick, float(rng.uniform(0.7, 0.9)) * r_cart]), density))
            else:  # central tongue
                out.append(Plaque("costal_cartilage", c, np.stack([t, m, w], axis=1),
                                  np.array([0.5 * ln, float(rng.uniform(1.2, 2.2)), float(rng.uniform(0.6, 0.9)) * r_cart]),
                                  density))
    return out
