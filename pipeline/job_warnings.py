"""An ingest job's per-document warnings as an HTTP caller may see them (``GET /v1/jobs/{id}``, the page).

The command line prints every warning with its file (``figvault ingest``, ``figvault jobs show``). Over
HTTP a job is seen by its starter and by whoever shares one of its groups; only the starter (it is their
upload or folder) is told which file each warning is about. Others see the document's id (which
``GET /v1/documents/{id}`` answers only if they may see it), the warning with the document's own name
taken out, and no warning that names another document (a copy's note names one its starter may edit) or
groups (those an ingest took away from a document).
"""

from __future__ import annotations

from typing import Any

from figvault.pipeline.jobs import Job, item_label

MAX_WARNINGS = 200
"""Warnings a job answer carries at most (as ``errors``); ``warning_count`` has them all."""
THIS_DOCUMENT = "this document"


def _ocr_note(outcome: dict[str, Any]) -> list[str]:
    from figvault.ingest.ocr import ocr_lost

    return [ocr_lost(outcome["ocr_timeouts"])] if outcome.get("ocr_timeouts") else []


def job_warnings(job: Job, *, named: bool) -> list[dict[str, str]]:
    """``{"document", "doc_id", "warning"}`` per warning of each document of ``job``'s result, in order;
    ``named``: the caller started the job (``document`` is the file's name, every warning shown)."""
    from figvault.pipeline.ingest_pipeline import COPY_NOTE, GROUPS_TAKEN_AWAY

    out: list[dict[str, str]] = []
    for outcome in job.result.get("documents") or []:
        label = item_label(job, str(outcome.get("path", "")))
        own_names = {n for n in (outcome.get("name"), label) if n}
        for warning in [*(outcome.get("warnings") or []), *_ocr_note(outcome)]:
            if not named:
                if warning.startswith((COPY_NOTE, GROUPS_TAKEN_AWAY)):
                    continue
                for name in sorted(own_names, key=len, reverse=True):
                    warning = warning.replace(name, THIS_DOCUMENT)
            doc_id = str(outcome.get("doc_id") or "")
            out.append({"document": label if named else "", "doc_id": doc_id, "warning": warning})
    return out
