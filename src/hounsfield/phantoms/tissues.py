"""Tissue classes (what sets a voxel's HU) and organ ids (what structure it belongs to).

HU values are non-contrast 120 kVp values from the CT literature; bone values
fall with age (:func:`tissue_hu`). Organ ids 1-28 are the VerSe vertebra
numbers (1-7 C1-C7, 8-19 T1-T12, 20-25 L1-L6, 26 sacrum, 28 T13), so the
organ map restricted to 1..28 *is* the VerSe vertebra label map.
"""

from __future__ import annotations

import numpy as np

__all__ = ["T", "O", "ORGAN_NAMES", "BONE_TISSUES", "MUSCLE_ORGANS", "tissue_hu", "VERSE_NAMES", "verse_number"]


class T:
    """Tissue class numbers (uint8)."""

    AIR = 0
    LUNG = 1
    FAT = 2
    SKIN = 3
    MUSCLE = 4
    BLOOD = 5
    MYOCARDIUM = 6
    LIVER = 7
    SPLEEN = 8
    KIDNEY = 9
    BOWEL = 10
    GAS = 11
    FLUID = 12  # CSF, bladder, bowel fluid
    DISC = 13
    CARTILAGE = 14
    CORTICAL = 15
    CANCELLOUS = 16
    MARROW = 17  # rib / pelvis / sternum marrow space (mixed)
    POSTERIOR = 18  # posterior vertebral elements (mostly cortical, thin)
    VESSEL_WALL = 19
    TABLE = 20
    TABLE_FOAM = 21
    GLAND = 22  # breast glandular tissue
    LUNG_VESSEL = 23
    AIRWAY_WALL = 24
    PERICARDIUM = 25
    N = 26


class O:
    """Organ ids (uint8); 1-28 are VerSe vertebra numbers."""

    SACRUM = 26
    T13 = 28
    HEART = 40  # everything inside the pericardium (chambers, myocardium, epicardial fat, coronaries)
    AORTA = 41
    RIB = 42
    STERNUM = 43
    CLAVICLE = 44
    SCAPULA = 45
    PELVIS = 46
    FEMUR = 47
    COSTAL_CARTILAGE = 48
    DISC = 49
    LUNG_R = 50
    LUNG_L = 51
    LIVER = 52
    SPLEEN = 53
    KIDNEY_R = 54
    KIDNEY_L = 55
    STOMACH = 56
    BOWEL = 57
    BLADDER = 58
    SAT = 60  # subcutaneous fat (and skin)
    VAT = 61  # visceral fat / cavity fill
    MUSCLE_WALL = 62  # abdominal/chest wall muscles
    MUSCLE_BACK = 63  # erector spinae and other back muscles
    PSOAS = 64
    MEDIASTINUM = 65
    SPINAL_CANAL = 66
    TRACHEA = 67
    OESOPHAGUS = 68
    VESSEL = 69  # other vessels: IVC, SVC, pulmonary arteries
    BREAST = 70
    TABLE = 71


ORGAN_NAMES: dict[int, str] = {v: k.lower() for k, v in vars(O).items() if not k.startswith("_") and isinstance(v, int)}

#: tissue classes counted as bone in the bone mask
BONE_TISSUES = (T.CORTICAL, T.CANCELLOUS, T.MARROW, T.POSTERIOR)
#: organ ids whose muscle tissue is skeletal muscle (body composition)
MUSCLE_ORGANS = (O.MUSCLE_WALL, O.MUSCLE_BACK, O.PSOAS)

VERSE_NAMES: dict[int, str] = {
    **{i: f"C{i}" for i in range(1, 8)},
    **{7 + i: f"T{i}" for i in range(1, 13)},
    **{19 + i: f"L{i}" for i in range(1, 7)},
    26: "S1",
    28: "T13",
}


def verse_number(name: str) -> int:
    """VerSe label number of a vertebra name (``'L3'`` -> 22, ``'S1'`` -> 26, ``'T13'`` -> 28)."""
    inv = {v: k for k, v in VERSE_NAMES.items()}
    return inv[name]


def tissue_hu(age: float, contrast: bool = False, rng: np.random.Generator | None = None) -> np.ndarray:
    """Mean HU of every tissue class for a patient of ``age`` years (float32 table of length ``T.N``)."""
    j = (lambda s: float(rng.normal(0, s))) if rng is not None else (lambda s: 0.0)
    bone_loss = max(0.0, age - 30.0)
    hu = np.zeros(T.N, np.float32)
    hu[T.AIR] = -1000
    hu[T.LUNG] = -860 + j(25)
    hu[T.FAT] = -100 + j(7)
    hu[T.SKIN] = 30
    hu[T.MUSCLE] = 40 + j(6) - 0.15 * bone_loss
    hu[T.BLOOD] = 300 + j(40) if contrast else 40 + j(4)
    hu[T.MYOCARDIUM] = 120 + j(15) if contrast else 45 + j(4)
    hu[T.LIVER] = 58 + j(8)
    hu[T.SPLEEN] = 48 + j(4)
    hu[T.KIDNEY] = 32 + j(4)
    hu[T.BOWEL] = 35
    hu[T.GAS] = -950
    hu[T.FLUID] = 12
    hu[T.DISC] = 85 + j(10)
    hu[T.CARTILAGE] = 130 + j(20)
    hu[T.CORTICAL] = 1050 - 3.0 * bone_loss + j(60)
    hu[T.CANCELLOUS] = 200 - 2.2 * bone_loss + j(20)  # ~155 at 50, ~110 at 70 (trabecular L1 HU by age)
    hu[T.MARROW] = 210 - 1.5 * bone_loss + j(20)
    hu[T.POSTERIOR] = 400 - 2.0 * bone_loss + j(40)
    hu[T.VESSEL_WALL] = 40
    hu[T.TABLE] = 150
    hu[T.TABLE_FOAM] = -930
    hu[T.GLAND] = 20
    hu[T.LUNG_VESSEL] = hu[T.BLOOD]
    hu[T.AIRWAY_WALL] = 40
    hu[T.PERICARDIUM] = 30
    return hu
