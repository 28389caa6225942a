"""What the paths given to ``figvault ingest`` and ``figvault extract`` hold, said before any work starts:
a folder with no PDF or PPTX file is an error, and files a folder holds but figvault does not read are named
(a folder ingest reads only .pdf and .pptx files, so a .ppt or .docx beside them would be left out silently).
"""

from __future__ import annotations

from pathlib import Path

import typer

SHOWN = 5
"""Skipped files named in the warning; the rest are counted."""


def skipped_line(skipped: list[Path]) -> str:
    """The one warning line naming the files of the given folders that were not read, with the fix for
    the ones that have one (a legacy .ppt, a Keynote or OpenDocument deck: save it as PPTX or PDF)."""
    names = ", ".join(str(p) for p in skipped[:SHOWN])
    more = f" and {len(skipped) - SHOWN} more" if len(skipped) > SHOWN else ""
    legacy = {p.suffix.lower() for p in skipped} & {".ppt", ".pps", ".pot", ".key", ".odp"}
    fix = f"; save {'/'.join(sorted(legacy))} files as PPTX or PDF to include them" if legacy else ""
    return (
        f"warning: skipped {len(skipped)} file(s) that are not .pdf or .pptx: {names}{more}"
        f" (folders give only their .pdf and .pptx files{fix})"
    )


def check_inputs(paths: list[Path]) -> None:
    """Warn about the files the folders hold but figvault will not read; end the command (exit 2) when
    none of the paths is there (a mistyped folder: before, a failed job was recorded and the error said
    "see the job's errors"), or they hold no PDF or PPTX file at all and none is missing (a missing path
    among others fails in the report)."""
    from figvault.ingest.extract import no_documents_reason, skipped_files

    if paths and not any(Path(p).exists() or Path(p).is_symlink() for p in paths):
        typer.echo(f"error: no such file or folder: {', '.join(str(p) for p in paths)}", err=True)
        raise typer.Exit(2)

    skipped = skipped_files(paths)
    if skipped:
        typer.echo(skipped_line(skipped), err=True)
    reason = no_documents_reason(paths)
    if reason is not None:
        typer.echo(f"error: {reason}", err=True)
        raise typer.Exit(2)
