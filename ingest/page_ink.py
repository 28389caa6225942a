"""What on a page picture is ink: the one definition the scanned-page figure finder (``scanned_pages``) and
the skew measure (``deskew``) share, and the paper's colour a levelled page is filled with."""

from __future__ import annotations

import numpy as np

INK_DELTA = 48
"""A pixel whose grey level is this far from the paper's (the most common level) is ink: light chart fills
(light blue is about 200 on 255 paper) count, scanner noise on white mostly does not."""


def paper_level(grey: np.ndarray) -> int:
    """The paper's grey level in ``grey`` (0-255 values): its most common one."""
    return int(np.bincount(grey.ravel(), minlength=256).argmax())


def ink_mask(grey: np.ndarray) -> np.ndarray:
    """Where ``grey`` (an int16 array of 0-255 values) is ink: more than INK_DELTA from the paper's level."""
    return np.abs(grey - paper_level(grey)) > INK_DELTA
