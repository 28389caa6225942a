"""The coordinate ascent that bench/tune_retrieval.py and bench/tune_fields.py share."""

from __future__ import annotations

from tests.helpers.bench_module import load_bench

coordinate_ascent = load_bench("tune_retrieval").coordinate_ascent


def test_ascent_takes_only_steps_above_the_noise_floor() -> None:
    # objective peaks at (2, 3); a step that gains no more than min_gain is not taken
    def objective(point: tuple[int, int]) -> float:
        return -((point[0] - 2) ** 2) - (point[1] - 3) ** 2

    axes = [
        ("x", range(5), lambda p, v: (v, p[1])),
        ("y", range(5), lambda p, v: (p[0], v)),
    ]
    assert coordinate_ascent((0, 0), axes, objective, min_gain=0.0) == (2, 3)
    assert coordinate_ascent((1, 2), axes, objective, min_gain=1.0) == (1, 2)
