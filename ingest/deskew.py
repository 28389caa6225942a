"""The skew of a scanned page: the small angle its text lines stand at (a page fed a few degrees off).

Tesseract reads lines tilted by up to about 3 degrees as well as level ones, and loses words past that
(measured on a generated report page of 138 words: 138 found at 0-1 degrees, 137 at 2, 134 at 3, 121 at 4,
110 at 5, 75 at 7, none at 10; docs/extraction.md, "Pages that are one picture"). Its own deskew angle
reads 0 at 5 degrees and more on that page, so the skew is measured here: the angle at which the page's
ink, projected across its lines, is most concentrated (the classic projection profile). Lines run across
the picture or, on a page scanned sideways, down it: both are tried.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from figvault.ingest.page_ink import ink_mask

MAX_SKEW_DEG = 10.0
"""The largest skew looked for; a page turned further is turned upright by OCR's orientation (90 degrees)."""
MIN_SKEW_DEG = 1.0
"""A smaller skew is left alone: Tesseract reads it as well as level lines."""
MIN_GAIN = 1.1
"""A skew is taken only when the ink is this much sharper at it than level: lines of text tilted 1-7 degrees
gain 1.23-1.69, while pages of charts (bars, slanted labels), read level or not, gained at most 1.07 at
some false angle (a survey page at 3.3 degrees lost a figure to it before this bound)."""
COARSE_STEP_DEG = 0.5
FINE_STEP_DEG = 0.1
MEASURE_SIDE_PX = 800
"""The picture is measured at most this many pixels a side (about 70 dpi for a letter page: lines of 10 pt
type are still 10 px apart)."""
MIN_INK_PX = 500
"""A page with less ink than this has no lines to measure."""
MAX_INK_PX = 200_000
"""At most this many ink pixels are projected (an evenly spaced sample of them): bounded work."""


def skew_angle(image: Image.Image) -> float:
    """The degrees (counter-clockwise, as ``Image.rotate``) that level ``image``'s lines; 0.0 when the skew
    is under MIN_SKEW_DEG, past MAX_SKEW_DEG, or the page has too little ink to tell."""
    small = image.convert("L")
    small.thumbnail((MEASURE_SIDE_PX, MEASURE_SIDE_PX))
    grey = np.asarray(small, dtype=np.int16)
    ys, xs = np.nonzero(ink_mask(grey))  # ink as the figure finder sees it
    if len(ys) < MIN_INK_PX:
        return 0.0
    step = max(1, len(ys) // MAX_INK_PX)
    ys, xs = ys[::step].astype(np.float64), xs[::step].astype(np.float64)
    axes = ((ys, xs), (xs, -ys))  # lines across the picture, or down it
    (best, sharpness), level = max(
        ((_best(across, along), _sharpness(across, along, 0.0)) for across, along in axes),
        key=lambda found: found[0][1],
    )
    if sharpness < MIN_GAIN * level or not MIN_SKEW_DEG <= abs(best) <= MAX_SKEW_DEG:
        return 0.0
    return -best


def _best(across: np.ndarray, along: np.ndarray) -> tuple[float, float]:
    """The tilt (degrees) at which lines running along ``along`` are sharpest in ``across``, and that
    sharpness; coarse, then fine around the coarse best."""
    coarse = np.arange(-MAX_SKEW_DEG, MAX_SKEW_DEG + COARSE_STEP_DEG / 2, COARSE_STEP_DEG)
    angle = max(coarse, key=lambda a: _sharpness(across, along, a))
    fine = np.arange(angle - COARSE_STEP_DEG, angle + COARSE_STEP_DEG + FINE_STEP_DEG / 2, FINE_STEP_DEG)
    angle = max(fine, key=lambda a: _sharpness(across, along, a))
    return round(float(angle), 2), _sharpness(across, along, angle)


def _sharpness(across: np.ndarray, along: np.ndarray, angle: float) -> float:
    """How concentrated the ink is in rows when lines tilted by ``angle`` degrees are projected: the sum of
    the squared row counts (level lines of text make tall peaks and empty gaps)."""
    rows = np.round(across + along * np.tan(np.radians(angle))).astype(np.int64)
    counts = np.bincount(rows - rows.min())
    return float(np.dot(counts, counts))
