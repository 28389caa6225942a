"""A document's failure reason is read by everyone who may see its job (over HTTP too), so an OSError's
file names, which are server paths, are left out of it. Before (2026-12-05, eighth red-team pass) a file
gone between a job's planning and its extraction failed with "FileNotFoundError: [Errno 2] No such file or
directory: '/srv/figvault/uploads/<job>/<file>'", and a full disk during extraction or preparation named
the file it could not write."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from figvault.errors import shown_line
from figvault.pipeline import stages
from figvault.pipeline.stages import DocSpec, StageClock, extract_raw, prepared_outcome
from figvault.settings import load_settings
from tests.generated_docs import figure_pdf


def test_a_file_gone_before_its_extraction_fails_without_its_path(tmp_path: Path) -> None:
    settings = load_settings("offline", data_dir=tmp_path / "data")
    gone = tmp_path / "server-folder" / "report.pdf"
    reason = extract_raw(gone, settings.extract)
    assert isinstance(reason, str) and "No such file or directory" in reason
    assert "server-folder" not in reason and str(tmp_path) not in reason


def test_a_full_disk_while_preparing_fails_without_the_files_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings("offline", data_dir=tmp_path / "data")
    path = figure_pdf(tmp_path / "report.pdf", seed=2)
    result = extract_raw(path, settings.extract)
    assert not isinstance(result, str), result
    full = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "data" / "blobs" / "ab" / "cd"))

    def prepare(*args: object) -> None:
        raise full

    monkeypatch.setattr(stages, "prepare", prepare)
    spec = DocSpec(0, path, "doc_a", "report.pdf", "acme", ("eng",), (), "v1")
    reason = prepared_outcome(spec, result, StageClock(), 0.0)
    assert reason == "[Errno 28] No space left on device"


def test_other_reasons_are_kept_whole() -> None:
    assert shown_line(ValueError("cannot read xref at 12")) == "cannot read xref at 12"
    assert shown_line(KeyError("Root"), typed=True) == "KeyError: 'Root'"
    assert shown_line(OSError("no errno, no file")) == "no errno, no file"


def test_an_uploads_warnings_name_it_as_people_see_it(tmp_path: Path) -> None:
    """The extractor reads an upload from its spool file (``0001.pptx``) and starts its warnings with that
    name; the job's warnings showed it to the uploader ("0001.pptx: LibreOffice could not convert ...").
    Prepared, they start with the name the upload was given."""
    settings = load_settings("offline", data_dir=tmp_path / "data")
    spool = figure_pdf(tmp_path / "0001.pdf", seed=4)
    result = extract_raw(spool, settings.extract)
    assert not isinstance(result, str), result
    result.extraction.warnings[:] = ["0001.pdf: a warning of the file", "a warning of no file"]
    spec = DocSpec(
        index=0,
        path=spool,
        doc_id="d1",
        name="Q3 report.pdf",
        tenant="t",
        groups=(),
        tags=(),
        embedding_version="v",
    )
    prepared = stages.prepare(spec, result)
    assert prepared.extraction.warnings == ["Q3 report.pdf: a warning of the file", "a warning of no file"]
