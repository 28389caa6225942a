"""What an ingest or re-encode run says about its speed: a rate only where one means something."""

from __future__ import annotations

from figvault.pipeline.ingest_pipeline import FAILED, INDEXED, SKIPPED, DocumentOutcome, IngestReport
from figvault.pipeline.reencode import MODEL_LOAD_TIMING, ReencodeResult


def _report(seconds: float, *outcomes: tuple[str, int, int]) -> IngestReport:
    documents = [
        DocumentOutcome(f"d{i}.pdf", f"d{i}", status, units=units, pages=pages)
        for i, (status, units, pages) in enumerate(outcomes)
    ]
    return IngestReport("default", "units", "v1", documents=documents, timings={"total": seconds})


def test_a_run_that_wrote_nothing_prints_no_rate() -> None:
    line = _report(4.2, (SKIPPED, 0, 0), (SKIPPED, 0, 0), (SKIPPED, 0, 0)).summary()
    assert line == "0 new, 0 replaced, 3 unchanged, 0 failed; 0 units from 0 pages in 4.2s"


def test_a_run_under_a_second_prints_its_counts_alone() -> None:
    line = _report(0.04, (INDEXED, 6, 2)).summary()
    assert line == "1 new, 0 replaced, 0 unchanged, 0 failed; 6 units from 2 pages in 0.0s"


def test_a_run_that_wrote_units_for_a_second_or_more_prints_its_rates() -> None:
    line = _report(4.0, (INDEXED, 10, 5), (INDEXED, 4, 3), (FAILED, 0, 0)).summary()
    assert line == (
        "2 new, 0 replaced, 0 unchanged, 1 failed; 14 units from 8 pages in 4.0s, 3.5 units/s, 2.00 pages/s"
    )


def test_a_slow_run_keeps_two_digits_of_its_rates() -> None:
    """The first-hour walk of 2026-12-06 (load 29): "4 units from 13 pages in 140.5s, 0.0 units/s", a rate
    that says nothing was stored."""
    line = _report(140.5, (INDEXED, 4, 13), (FAILED, 0, 0)).summary()
    assert line.endswith("4 units from 13 pages in 140.5s, 0.028 units/s, 0.093 pages/s")


def _reencode(encoded: int, seconds: float) -> ReencodeResult:
    return ReencodeResult("units_a", "units_b", "v1", "v2", units=encoded, encoded=encoded, seconds=seconds)


def test_a_re_encode_that_encoded_nothing_prints_no_rate() -> None:
    summary = _reencode(0, 2.5).summary()
    assert summary == "alias now serves units_b (v2); 0 units, 0 encoded in 2.5s; old collection units_a kept"


def test_a_re_encode_prints_its_rate_and_model_load() -> None:
    result = _reencode(30, 3.0)
    result.timings[MODEL_LOAD_TIMING] = 1.3
    assert "30 encoded in 3.0s (10.0 units/s, models loaded in 1.3s);" in result.summary()
