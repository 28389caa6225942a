"""Page geometry shared by extraction scoring and retrieval evaluation: boxes and their overlap."""

from __future__ import annotations

Box = tuple[float, float, float, float]
"""[x0, y0, x1, y1] in points, origin top-left (what units carry)."""

MATCH_IOU = 0.4
"""Two boxes on one page name the same figure when their IoU reaches this (extraction scoring and
retrieval evaluation both use it, so "the right figure" means one thing)."""


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes; 0 when either is empty."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
