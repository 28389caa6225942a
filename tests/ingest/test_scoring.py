"""The benchmark's scoring rules (ingest/scoring.py): titles, and precision over completely labelled pages."""

from __future__ import annotations

from figvault.ingest.scoring import GoldFigure, Prediction, score, title_matches


def _gold(title: str | None, page: int = 1, content: str | None = "chart") -> GoldFigure:
    return GoldFigure("d.pdf", page, (0, 0, 100, 100), "vector", None, None, title=title, content=content)


def _unit(title: str, page: int = 1, box: tuple[float, float, float, float] = (0, 0, 100, 100)) -> Prediction:
    return Prediction("d.pdf", page, box, "vector", None, "", title=title)


def test_title_matches_same_words_or_the_first_four_of_a_long_title() -> None:
    assert title_matches(_gold("Role vs. Clusters"), "role vs clusters")
    assert not title_matches(_gold("Role"), "Role vs Clusters Under Management")
    long = _gold("Characterizing the binding profile of replicates")
    assert title_matches(long, "Characterizing the binding profile")
    assert not title_matches(_gold("Role"), "")


def test_title_accuracy_and_content_tallies() -> None:
    result = score(
        [_gold("Role"), _gold("Nodes", page=2, content="diagram")], [_unit("Role"), _unit("", page=2)]
    )
    assert (result.total.titled, result.total.title_ok) == (2, 1)
    assert result.by_content["chart"].title_accuracy == 1.0
    assert result.by_content["diagram"].title_accuracy == 0.0
    assert [g.page for g, _ in result.wrong_titles] == [2]


def test_labelled_pages_without_figures_count_against_precision() -> None:
    gold = [_gold("Role")]
    units = [_unit("Role"), _unit("", page=3, box=(10, 10, 50, 50))]
    assert score(gold, units).total.precision == 1.0  # page 3 has no gold: not scored
    scored = score(gold, units, labelled_pages=[("d.pdf", 1), ("d.pdf", 3)])
    assert scored.total.precision == 0.5
    assert scored.total.recall == 1.0
    assert [p.page for p in scored.false_units] == [3]
