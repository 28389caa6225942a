"""An unchanged file that failed for its bytes' sake is not read again by the next ingest of its folder.

The first-hour walk of 2026-12-06 ran the same ingest twice over a folder with 4 broken files: the second
run read them all again (24 s for nothing but the same failures, which it printed as if new), and a
pathological file would have spent its whole CPU budget (``extract.doc_timeout_s``) again on every run.
Now such a file is skipped while its bytes are unchanged (``failed_before``), ``retry_failed`` reads it
again, a changed file is read, and a failure of the machine's (``MachineBoundError``: a worker killed by
the OS, the wall-time backstop) or the store's is retried (``pipeline/failures.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

import figvault.pipeline.stages as stages
from figvault.errors import MachineBoundError
from figvault.pipeline.failures import FILE, TRANSIENT
from figvault.pipeline.ingest_pipeline import FAILED, FAILED_BEFORE, INDEXED, ingest_paths
from figvault.pipeline.registry import DocState, DocumentRegistry
from figvault.settings import Settings, load_settings
from tests.generated_docs import figure_pdf


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    s = load_settings("offline", data_dir=tmp_path / "data")
    s.extract.workers = 1
    return s


def _run(settings: Settings, folder: Path, **kwargs):
    report = ingest_paths(settings, [folder], groups=["eng"], tenant="acme", progress=False, **kwargs)
    return report, {Path(d.path).name: d for d in report.documents}


def _extracted(report) -> int:
    return int(report.stages.get("extract", {}).get("docs", 0))


def test_an_unchanged_broken_file_is_skipped_until_retried_or_changed(settings: Settings, tmp_path: Path):
    folder = tmp_path / "docs"
    folder.mkdir()
    bad = folder / "broken.pdf"
    bad.write_bytes(b"%PDF-1.7\nthis is not a pdf body")
    figure_pdf(folder / "good.pdf", seed=3)

    _first, by_name = _run(settings, folder)
    assert (by_name["broken.pdf"].status, by_name["good.pdf"].status) == (FAILED, INDEXED)
    reason = by_name["broken.pdf"].error
    record = DocumentRegistry.open(settings).get("acme", by_name["broken.pdf"].doc_id)
    assert (record.state, record.failure, record.error) == (DocState.FAILED, FILE, reason)

    again, by_name = _run(settings, folder)
    assert by_name["broken.pdf"].status == FAILED_BEFORE and by_name["broken.pdf"].error == reason
    assert _extracted(again) == 0  # neither file was read: nothing changed
    assert again.summary().endswith("; 1 failed before, unchanged: skipped")
    assert "0 failed;" in again.summary()

    retried, by_name = _run(settings, folder, retry_failed=True)
    assert by_name["broken.pdf"].status == FAILED and _extracted(retried) == 1

    figure_pdf(bad, seed=5)  # fixed: its new bytes are read
    fixed, by_name = _run(settings, folder)
    assert by_name["broken.pdf"].status == INDEXED and _extracted(fixed) == 1
    assert DocumentRegistry.open(settings).get("acme", by_name["broken.pdf"].doc_id).failure == ""


def test_a_failure_of_the_machine_is_read_again(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    folder = tmp_path / "docs"
    folder.mkdir()
    figure_pdf(folder / "big.pdf", seed=4)
    real = stages.extract_limited

    def killed(*_args, **_kwargs):
        raise MachineBoundError("the extractor process was killed (out of memory?) while reading this file")

    monkeypatch.setattr(stages, "extract_limited", killed)
    _first, by_name = _run(settings, folder)
    assert by_name["big.pdf"].status == FAILED
    assert DocumentRegistry.open(settings).get("acme", by_name["big.pdf"].doc_id).failure == TRANSIENT

    monkeypatch.setattr(stages, "extract_limited", real)  # the machine has memory again
    again, by_name = _run(settings, folder)
    assert by_name["big.pdf"].status == INDEXED and _extracted(again) == 1


def test_the_command_line_names_the_skipped_failures_once_with_what_to_do() -> None:
    from figvault.commands._warnings import result_notes

    assert result_notes({"failed_before": 3, "documents": []}) == [
        "note: 3 files failed before and unchanged: skipped, not read again (why: `figvault documents list"
        " --failed`; `figvault ingest --retry-failed` reads them again)"
    ]
    assert result_notes({"failed_before": 0, "documents": []}) == []


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        ("cpu", FILE),  # the file's own: its pages take that long wherever they are read
        ("wall", TRANSIENT),  # the wall-time backstop: a busy machine
        ("sigkill", TRANSIENT),  # the kernel's out-of-memory killer on a loaded machine
        ("sigsegv", FILE),  # a parser crashing on these bytes
        ("no result", TRANSIENT),  # a worker gone without a word or a signal
    ],
)
def test_which_extraction_failures_are_the_files_own(failure: str, kind: str) -> None:
    import signal

    from figvault.errors import ExtractionError
    from figvault.pipeline import extract_worker
    from figvault.pipeline.failures import failure_kind, failure_reason

    limits = extract_worker.ExtractLimits(seconds=2.0)
    if failure in ("cpu", "wall"):
        cpu_s, wall_s = (2.5, 3.0) if failure == "cpu" else (0.5, limits.wall_seconds + 1)
        with pytest.raises(ExtractionError) as raised:
            extract_worker._check_time(limits, "extract", cpu_s, wall_s)
        error = raised.value
    else:
        exitcode = {"sigkill": -signal.SIGKILL, "sigsegv": -signal.SIGSEGV, "no result": 1}[failure]
        error = extract_worker._crash_error(exitcode)
    assert failure_kind(failure_reason(error)) == kind
