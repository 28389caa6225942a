"""The percentile the benches' latency tables print: one rule for all of them."""

from __future__ import annotations

from collections.abc import Sequence


def percentile(values: Sequence[float], q: float, empty: float = float("nan")) -> float:
    """The ``q``-th percentile (0-100) of ``values`` by nearest rank: the value at rank round(q/100 * (n-1))
    of the sorted values, so a time that was measured, never one interpolated between two; ``empty`` when
    there are no values."""
    if not values:
        return empty
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]
