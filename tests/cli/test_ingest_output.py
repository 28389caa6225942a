"""A document that gives no figure (a text-only PDF) is said in ingest's output: before, it was counted
"new" and only the summary's unit total hinted that nothing of it could ever be found."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from figvault.commands.ingest import NO_FIGURES_SHOWN, _print_result, more_without_figures_line
from figvault.pipeline.ingest_pipeline import FAILED, INDEXED, REPLACED, SKIPPED, DocumentOutcome
from figvault.pipeline.jobs import Job, JobError, JobState, JobType


def ended(*outcomes: DocumentOutcome) -> Job:
    documents = [asdict(o) for o in outcomes]
    return Job(
        id="j1",
        type=JobType.INGEST,
        state=JobState.SUCCEEDED,
        message="summary",
        result={"documents": documents, "collection": "c"},
    )


def test_a_document_without_figures_gets_a_note(capsys: pytest.CaptureFixture[str]) -> None:
    _print_result(
        ended(
            DocumentOutcome("/d/text.pdf", "d1", INDEXED, units=0, pages=3),
            DocumentOutcome("/d/slides.pptx", "d2", REPLACED, units=0, pages=1),
            DocumentOutcome("/d/figs.pdf", "d3", INDEXED, units=4, pages=2),
            DocumentOutcome("/d/same.pdf", "d4", SKIPPED),
            DocumentOutcome("/d/bad.pdf", "", FAILED, error="encrypted PDF (password required)"),
        ),
        as_json=False,
    )
    err = capsys.readouterr().err.splitlines()
    notes = [line for line in err if line.startswith("note: ")]
    why = " (only pictures, charts and diagrams are indexed); a search will not find it"
    assert notes == [
        f"note: /d/text.pdf: no figures found in its 3 pages{why}",
        f"note: /d/slides.pptx: no figures found in its 1 page{why}",
    ]
    assert "FAILED /d/bad.pdf: encrypted PDF (password required)" in err


def test_a_document_failed_by_an_internal_error_names_the_log_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A document's reason says only the type of an error that is not figvault's (readers see it); at the
    terminal the operator is told where its traceback is."""
    log_file = tmp_path / "logs" / "figvault.log"
    internal = "an internal error (OperationalError); the server log has the details"
    _print_result(
        ended(
            DocumentOutcome("/d/a.pdf", "d1", FAILED, error=internal),
            DocumentOutcome("/d/b.pdf", "", FAILED, error="encrypted PDF (password required)"),
        ),
        as_json=False,
        log_file=log_file,
    )
    err = capsys.readouterr().err.splitlines()
    assert f"FAILED /d/a.pdf: {internal} (traceback in {log_file})" in err
    assert "FAILED /d/b.pdf: encrypted PDF (password required)" in err


def test_each_warning_is_said_once_with_the_files_it_is_about(capsys: pytest.CaptureFixture[str]) -> None:
    # Printed bare, "page 1: unreadable (bad xref)" in a folder's ingest said nothing of which file it was.
    everyone = "LibreOffice (soffice) not found"
    _print_result(
        ended(
            DocumentOutcome("/d/a.pptx", "d1", INDEXED, units=1, warnings=[everyone]),
            DocumentOutcome("/d/cut.pdf", "d2", INDEXED, units=1, warnings=["page 1: unreadable (bad xref)"]),
            DocumentOutcome("/d/b.pptx", "d3", INDEXED, units=1, warnings=[everyone]),
        ),
        as_json=False,
    )
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        f"warning: {everyone} (2 files: /d/a.pptx, /d/b.pptx)",
        "warning: page 1: unreadable (bad xref) (/d/cut.pdf)",
    ]


def test_a_folder_of_many_text_only_files_gets_a_few_notes_and_a_count(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """10,000 text-only files printed 10,000 ``note:`` lines, and the one failure among them scrolled away.
    The first ``NO_FIGURES_SHOWN`` are named, the rest counted in one line; failures are all still named."""
    text_only = [
        DocumentOutcome(f"/d/memo-{i:04d}.pdf", f"d{i}", INDEXED, units=0, pages=1) for i in range(250)
    ]
    bad = DocumentOutcome("/d/bad.pdf", "", FAILED, error="encrypted PDF (password required)")
    _print_result(ended(*text_only[:100], bad, *text_only[100:]), as_json=False)
    err = capsys.readouterr().err.splitlines()
    notes = [line for line in err if line.startswith("note: ")]
    assert len(notes) == NO_FIGURES_SHOWN + 1, notes
    assert notes[0].startswith("note: /d/memo-0000.pdf: no figures found in its 1 page")
    assert notes[-1] == more_without_figures_line(250 - NO_FIGURES_SHOWN)
    assert "note: 230 more files with no figures found;" in notes[-1]
    assert "FAILED /d/bad.pdf: encrypted PDF (password required)" in err


def test_a_failed_job_names_each_failure_once(capsys: pytest.CaptureFixture[str]) -> None:
    """A job that failed (every document did) keeps its outcomes now, as its errors: each failure was
    printed twice, once from each."""
    bad = DocumentOutcome("/d/bad.pdf", "d1", FAILED, error="encrypted PDF (password required)")
    job = ended(bad)
    failed = job.model_copy(
        update={
            "state": JobState.FAILED,
            "message": "every document failed (1 failed); see the job's errors",
            "errors": [JobError(item="bad.pdf", error="encrypted PDF (password required)")],
            "error_count": 1,
        }
    )
    _print_result(failed, as_json=False)
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if line.startswith("FAILED ")] == [
        "FAILED /d/bad.pdf: encrypted PDF (password required)"
    ], err
    assert err[-1] == f"error: every document failed (1 failed); see `figvault jobs show {failed.id}`"
    older = failed.model_copy(update={"result": {}})  # recorded before jobs kept their outcomes
    _print_result(older, as_json=False)
    assert "FAILED bad.pdf: encrypted PDF (password required)" in capsys.readouterr().err.splitlines()
