"""The one-line reason of an exception: one definition (figvault/errors.py) for every part."""

from __future__ import annotations

import logging

import pytest

from figvault.errors import ExtractionError, one_line, typed_line


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ValueError("bad page\ntraceback detail"), "bad page"),
        (ValueError("\n  indented first line  \nrest"), "indented first line"),
        (ValueError(""), "ValueError"),
        (ExtractionError("   \n "), "ExtractionError"),
        (KeyError("unit"), "'unit'"),
    ],
)
def test_one_line_is_the_first_non_blank_line_else_the_type_name(exc: BaseException, expected: str) -> None:
    assert one_line(exc) == expected


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (OSError("disk full\nmore"), "OSError: disk full"),
        (RuntimeError(), "RuntimeError"),
        (TimeoutError("\n"), "TimeoutError"),
    ],
)
def test_typed_line_names_the_type_and_never_ends_in_a_colon(exc: BaseException, expected: str) -> None:
    assert typed_line(exc) == expected


def test_a_milvus_lite_start_failure_without_a_message_keeps_its_type_as_the_reason() -> None:
    """The logging filter used ``str(exc).splitlines()[0]``: an exception with no message raised IndexError
    inside Milvus Lite's own logging call."""
    from figvault.retrieval import milvus_store

    failure = PermissionError()
    message = "Failed to start MilvusLite server"
    record = logging.LogRecord("milvus_lite.server_manager", logging.ERROR, __file__, 1, message, (), None)
    record.exc_info = (PermissionError, failure, None)
    assert milvus_store._keep_lite_start_failure(record) is False
    assert milvus_store._lite_start_failure.reason == "PermissionError"


def test_a_document_that_failed_on_a_full_disk_says_so_without_the_path() -> None:
    """A read-only crash audit (2026-12-06 evening) filled the data folder's disk mid-ingest: the failed
    documents said "an internal error (OSError); the server log has the details", which a reader of the job
    cannot act on. The path stays out (readers of a job are not the operator)."""
    import errno

    from figvault.errors import DISK_FULL_LINE, public_line

    full = OSError(errno.ENOSPC, "No space left on device", "/srv/figvault/blobs/ab/cd")
    try:
        try:
            raise full
        except OSError as exc:
            raise RuntimeError("could not write the blob") from exc
    except RuntimeError as wrapped:
        chained = wrapped
    for exc in (full, chained):
        line = public_line(exc)
        assert line == DISK_FULL_LINE and "/srv" not in line
