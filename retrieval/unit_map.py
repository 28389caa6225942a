"""The 2-D map of a collection: unit vectors projected on their first two principal components (PCA by
SVD), and the pairs of units whose vectors are near-identical (likely duplicates).

PCA rather than t-SNE/UMAP: it is deterministic, needs nothing beyond numpy, takes well under a second for
thousands of units, and distances along its axes mean the same everywhere on the map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DUPLICATE_COSINE = 0.98
"""Cosine similarity at or above which two units are reported as near-duplicates."""
MAX_DUPLICATE_PAIRS = 200
_BLOCK = 1024


@dataclass(frozen=True)
class Projection:
    points: np.ndarray
    """float64 [n, 2]: coordinates on the first two principal components."""
    explained: tuple[float, float]
    """Share of the variance each axis explains (0..1)."""


def project_2d(vectors: np.ndarray) -> Projection:
    """First two principal components of ``vectors`` [n, d]; signs fixed so that reruns agree."""
    x = np.asarray(vectors, dtype=np.float64)
    n = x.shape[0]
    if n == 0:
        return Projection(np.zeros((0, 2)), (0.0, 0.0))
    centered = x - x.mean(axis=0, keepdims=True)
    if n == 1 or not np.any(centered):
        return Projection(np.zeros((n, 2)), (0.0, 0.0))
    _u, singular, vt = np.linalg.svd(centered, full_matrices=False)
    components = vt[:2]
    # An SVD may return either sign of a component: make each one's largest loading positive.
    for i, component in enumerate(components):
        if component[np.argmax(np.abs(component))] < 0:
            components[i] = -component
    points = centered @ components.T
    if points.shape[1] < 2:  # one dimension only (d == 1)
        points = np.hstack([points, np.zeros((n, 2 - points.shape[1]))])
    variance = singular**2
    total = float(variance.sum())
    explained = [float(v / total) for v in variance[:2]] if total > 0 else [0.0, 0.0]
    explained += [0.0] * (2 - len(explained))
    return Projection(points, (explained[0], explained[1]))


def near_duplicate_pairs(
    vectors: np.ndarray, threshold: float = DUPLICATE_COSINE, limit: int = MAX_DUPLICATE_PAIRS
) -> list[tuple[int, int, float]]:
    """(i, j, cosine) with i < j for rows whose cosine similarity is at least ``threshold``, most similar
    first, at most ``limit``. Rows are normalised here, so stored vectors need not be."""
    x = np.asarray(vectors, dtype=np.float32)
    n = x.shape[0]
    if n < 2:
        return []
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    unit = x / np.where(norms == 0, 1, norms)
    pairs: list[tuple[int, int, float]] = []
    # Blocks of rows keep memory at _BLOCK * n floats instead of n * n.
    for start in range(0, n, _BLOCK):
        block = unit[start : start + _BLOCK] @ unit.T
        rows, cols = np.nonzero(block >= threshold)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            i = start + r
            if i < c:
                pairs.append((i, c, float(block[r, c])))
    pairs.sort(key=lambda p: (-p[2], p[0], p[1]))
    return pairs[:limit]
