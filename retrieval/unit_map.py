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
_BLOCK_CELLS = 2**22
"""Scores a block of ``near_duplicate_pairs`` holds at most (16 MiB, and 64 MiB of indices where all pass)."""


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
    first (then by i, then j), at most ``limit``. Rows are normalised here, so stored vectors need not be.

    Only the best ``limit`` are kept from block to block: collecting every pair first was quadratic in the
    duplicates (5,000 units sharing one logo: 12.5 million pairs, 148 s and 3.1 GiB, a scale audit)."""
    x = np.asarray(vectors, dtype=np.float32)
    n = x.shape[0]
    if n < 2 or limit <= 0:
        return []
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    unit = x / np.where(norms == 0, 1, norms)
    best_s, best_i, best_j = np.empty(0, np.float32), np.empty(0, np.int64), np.empty(0, np.int64)
    # Blocks of rows keep memory at _BLOCK_CELLS scores (and their indices when all are pairs), not n * n.
    rows_per_block = max(1, min(_BLOCK, _BLOCK_CELLS // n))
    for start in range(0, n, rows_per_block):
        block = unit[start : start + rows_per_block] @ unit.T
        found = block >= threshold
        if len(best_s) == limit:  # a tie with the worst kept loses: its row comes later
            found &= block > best_s[-1]
        rows, cols = np.nonzero(found)
        later = cols > start + rows
        rows, cols = rows[later], cols[later]
        # Kept pairs, then this block's in (i, j) order: a stable sort by score keeps (i, j) among ties.
        scores = np.concatenate([best_s, block[rows, cols]])
        order = np.argsort(-scores, kind="stable")[:limit]
        best_s = scores[order]
        best_i = np.concatenate([best_i, start + rows])[order]
        best_j = np.concatenate([best_j, cols])[order]
    return [(int(i), int(j), float(s)) for i, j, s in zip(best_i, best_j, best_s, strict=True)]
