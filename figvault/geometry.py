"""Page geometry shared by extraction scoring and retrieval evaluation: boxes and their overlap."""

from __future__ import annotations

Box = tuple[float, float, float, float]
"""[x0, y0, x1, y1] in points, origin top-left (what units carry)."""

EMU_PER_POINT = 12700
"""Hand-made label files (figures.jsonl, question files) give PPTX boxes in EMU, the file format's unit."""

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


def label_box_points(doc: str, bbox: Box) -> Box:
    """A box from a hand-made label file in points: PDF boxes are points already, PPTX boxes are EMU."""
    if doc.lower().endswith(".pptx"):
        return (
            bbox[0] / EMU_PER_POINT,
            bbox[1] / EMU_PER_POINT,
            bbox[2] / EMU_PER_POINT,
            bbox[3] / EMU_PER_POINT,
        )
    return bbox
