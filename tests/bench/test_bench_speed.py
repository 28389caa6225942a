"""bench/extraction.py --ingest-path: the speed rows through ingest's per-document worker processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from figvault.settings import ExtractSettings
from tests.generated_docs import figure_pdf
from tests.helpers.bench_module import load_bench


def test_ingest_path_extracts_the_same_units_in_worker_processes(tmp_path: Path) -> None:
    bench = load_bench("extraction")
    files = [figure_pdf(tmp_path / f"doc{i}.pdf", seed=i) for i in range(2)]
    settings = ExtractSettings(workers=1, ocr=False)
    batch, batch_failed, _ = bench.run_extraction(files, settings)
    ingest, ingest_failed, _ = bench.run_extraction(files, settings, ingest_path=True)
    assert not batch_failed and not ingest_failed
    ids = [[f.unit.unit_id for f in ex.figures] for ex in batch]
    assert ids and all(ids)
    assert [[f.unit.unit_id for f in ex.figures] for ex in ingest] == ids


def test_ingest_path_rows_say_their_path_and_cpu_rate(tmp_path: Path) -> None:
    bench = load_bench("extraction")
    files = [figure_pdf(tmp_path / "doc.pdf", seed=3)]
    row = bench.measure_speed(files, ExtractSettings(ocr=False), workers=1, ingest_path=True)
    assert (row["path"], row["pages"]) == ("ingest", 1)
    assert row["pages_per_cpu_s"] is not None and row["pages_per_cpu_s"] > 0  # the workers' CPU was read
    rows = bench.speed_rows(files, ExtractSettings(), ocr_off=True, ingest_path=True)
    assert [(r["path"], r["workers"], r["ocr"]) for r in rows] == [
        (path, workers, ocr) for ocr in (True, False) for path in ("batch", "ingest") for workers in (2, 1)
    ]


def test_ingest_rows_start_the_worker_server_before_the_clock(tmp_path: Path, monkeypatch: Any) -> None:
    """The fork server's start (imports, once per process) is reported apart, not in the first row timed."""
    bench = load_bench("extraction")
    events: list[str] = []
    start, run = bench.start_worker_server, bench.run_extraction
    monkeypatch.setattr(bench, "start_worker_server", lambda s: (events.append("server"), start(s))[1])
    monkeypatch.setattr(bench, "run_extraction", lambda *a, **k: (events.append("timed"), run(*a, **k))[1])
    files = [figure_pdf(tmp_path / "doc.pdf", seed=3)]
    row = bench.measure_speed(files, ExtractSettings(ocr=False), workers=1, ingest_path=True)
    assert events == ["server", "timed"]
    assert row["server_start_s"] is not None and row["server_start_s"] >= 0
    assert bench.measure_speed(files, ExtractSettings(ocr=False), workers=1)["server_start_s"] is None
