"""Documents' warnings as command lines: each warning once, with the files it came from.

A warning such as ``page 1: unreadable (bad xref)`` or ``damaged PDF ...`` is about one file; printed
bare, a folder's ingest gave no way to tell which. One that every file gives (LibreOffice missing) is
still printed once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

SHOWN_FILES = 3


def warning_lines(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """``warning: TEXT (FILE)`` per distinct warning of ``pairs`` (file, warning), in first-seen order;
    a warning of several files names the first SHOWN_FILES and the count."""
    files: dict[str, list[str]] = {}
    for path, warning in pairs:
        seen = files.setdefault(warning, [])
        if path not in seen:
            seen.append(path)
    lines = []
    for warning, paths in files.items():
        where = paths[0] if len(paths) == 1 else f"{len(paths)} files: {', '.join(paths[:SHOWN_FILES])}"
        more = ", ..." if len(paths) > SHOWN_FILES else ""
        lines.append(f"warning: {warning} ({where}{more})")
    return lines


def result_notes(result: dict[str, Any], label: Callable[[str], str] = str) -> list[str]:
    """What an ingest job's result says beyond its counts and failures, as ``figvault ingest`` and
    ``figvault jobs show`` print it: each warning once with its files (``label``: how a document's path is
    shown), then the documents of its folders whose files are gone (or that ``--prune`` deleted)."""
    from figvault.pipeline.gone_files import gone_line
    from figvault.pipeline.ingest_pipeline import FAILED_BEFORE

    pairs = [
        (label(str(outcome["path"])), warning)
        for outcome in result.get("documents", [])
        for warning in outcome.get("warnings", [])
    ]
    lines = warning_lines(pairs)
    before = failed_before_line(int(result.get(FAILED_BEFORE) or 0))
    if before:
        lines.append(before)
    for key, pruned in (("gone", False), ("pruned", True)):
        if result.get(key):
            lines.append(gone_line(result[key], pruned))
    return lines


def failed_before_line(count: int) -> str:
    """What the command line says of the unchanged files that failed before and were not read again."""
    if not count:
        return ""
    files = "file" if count == 1 else "files"
    return (
        f"note: {count} {files} failed before and unchanged: skipped, not read again (why:"
        " `figvault documents list --failed`; `figvault ingest --retry-failed` reads them again)"
    )
