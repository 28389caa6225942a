"""Which document an incoming file becomes, and which document a caller's id-or-name refers to.

A document's id is ``doc_`` and 24 hex digits, chosen by the server; its name (the file name people see)
is only an attribute, so a name never collides with another group's or tenant's document. Documents
indexed before registry migration 0004 keep their ids (their file names); they are found by name too.

An ingested file replaces an existing document only when ``figvault.access.may_replace`` allows it; the
candidates are looked up and filtered the same way whether or not invisible ones exist, so nothing a
caller receives depends on documents it cannot reach (docs/service.md, "Document identity and
replacement").
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from figvault.access import Principal, may_replace
from figvault.errors import FigvaultError
from figvault.pipeline.registry import DocState, DocumentRecord, DocumentRegistry, name_forms
from figvault.search_models import SearchFilters
from figvault.text_checks import display_name

ID_PREFIX = "doc_"
ID_HEX = 24
MAX_DOCUMENT_NAME = 255
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")
_SERVER_ID = re.compile(rf"{ID_PREFIX}[0-9a-f]{{{ID_HEX}}}")


class DocumentNameError(FigvaultError):
    """A document name or id that cannot be used (``.``, ``..``, empty, a path, a control character)."""


class AmbiguousDocumentError(FigvaultError):
    """A name that several documents the caller may reach carry: the caller must give the id (HTTP 409)."""


class DocumentNotYoursError(FigvaultError):
    """An id given for replacement that names no document the caller may replace (HTTP 404)."""


def new_doc_id(seed: str | None = None) -> str:
    """A fresh document id: random, or derived from ``seed`` (a job id and the file's place in the job), so
    a job resumed after a crash gives the same file the same id."""
    if seed is None:
        return ID_PREFIX + uuid.uuid4().hex[:ID_HEX]
    return ID_PREFIX + hashlib.sha256(seed.encode()).hexdigest()[:ID_HEX]


def is_placeholder(record: DocumentRecord) -> bool:
    """Whether ``record`` is an accepted upload's new document that no ingest has written yet (pending, no
    content hash, no units): it is a new document, not one being replaced. Kept in step with the SQL of
    ``DocumentRegistry.delete_placeholder``."""
    return record.state == DocState.PENDING and not record.sha256 and not record.units


def check_document_name(name: str) -> str:
    """``name`` if it can name a document; else DocumentNameError saying why. Nothing is rewritten here
    (uploads clean client names first: ``service.uploads.display_name``)."""
    if name.strip() in ("", ".", ".."):
        raise DocumentNameError(f"{name!r} is not a document name")
    if _BAD_NAME.search(name):
        raise DocumentNameError(f"document name {name[:80]!r} has a slash, backslash or control character")
    if len(name) > MAX_DOCUMENT_NAME:
        raise DocumentNameError(f"document name is over {MAX_DOCUMENT_NAME} characters")
    return name


def pick(
    records: Sequence[DocumentRecord], key: str, allowed: Callable[[DocumentRecord], bool]
) -> DocumentRecord | None:
    """The one record ``key`` (an id or a name) refers to among those ``allowed``; an exact id wins over
    names. None: no such record (or none allowed). AmbiguousDocumentError: several allowed records carry
    the name and none has it as its id."""
    reachable = [r for r in records if allowed(r)]
    exact = [r for r in reachable if r.doc_id == key]
    if exact:
        return exact[0]
    if len(reachable) > 1:
        raise AmbiguousDocumentError(
            f"{len(reachable)} documents you can reach are named {key[:80]!r}: give the document id"
            f" ({', '.join(r.doc_id for r in reachable[:5])})"
        )
    return reachable[0] if reachable else None


def filter_ids(
    registry: DocumentRegistry,
    tenant: str,
    keys: Sequence[str],
    allowed: Callable[[DocumentRecord], bool],
    meeting: Sequence[str] | None = None,
) -> list[str]:
    """The document ids a search filter's ``keys`` (ids or names, as the routes take a document) select
    among the records ``allowed``: a key that is such a record's id stays, else it becomes the ids of the
    allowed records of that name (all of them: a filter selects, it does not pick one); a key that is
    neither stays as given, and selects what an unknown id selects (nothing the caller may not see).
    ``meeting``: the caller's groups, to read in SQL only records that may be ``allowed`` (``meets``)."""
    reachable = [r for r in registry.matching_any(tenant, list(keys), meeting=meeting) if allowed(r)]
    ids = {r.doc_id for r in reachable}
    out: list[str] = []
    for key in keys:
        forms = name_forms(key)
        named = [r.doc_id for r in reachable if r.name in forms]
        out.extend([key] if key in ids or not named else named)
    return list(dict.fromkeys(out))


def with_filter_ids(
    registry: DocumentRegistry, principal: Principal, filters: SearchFilters
) -> SearchFilters:
    """``filters`` with ``doc_ids`` as ids (``filter_ids`` over the documents ``principal`` can see): a
    search filter names a document by id or name, as the routes and commands that take one do."""
    if not filters.doc_ids:
        return filters
    ids = filter_ids(
        registry,
        principal.tenant,
        filters.doc_ids,
        lambda r: principal.sees(r.tenant, r.groups),
        meeting=None if principal.unrestricted else principal.groups,  # read in SQL (``registry.meets``)
    )
    return filters.model_copy(update={"doc_ids": ids})


def find_document(registry: DocumentRegistry, tenant: str, key: str) -> DocumentRecord | None:
    """The document of ``tenant`` that ``key`` (an id or a name) refers to, for someone who may reach all of
    them (the local operator); AmbiguousDocumentError when several carry the name."""
    return pick(registry.matching(tenant, key), key, lambda _record: True)


@dataclass(frozen=True)
class Target:
    """Where an ingested file goes: ``doc_id``, and ``known`` the record it replaces (None: a new one)."""

    doc_id: str
    known: DocumentRecord | None


def resolve_target(
    registry: DocumentRegistry,
    principal: Principal,
    name: str,
    *,
    fresh_id: str,
    doc_id: str | None = None,
    create_named: bool = True,
    sha256: str = "",
    source: str = "",
    groups: Sequence[str] | None = None,
) -> Target:
    """The document a file named ``name`` becomes for ``principal`` (in its tenant).

    ``doc_id`` given: that document (an id, or a name as below) if the caller may replace it; otherwise,
    with ``create_named``, a new document with that id (the CLI's ``--doc-id`` and the ids an upload job
    pinned), without it DocumentNotYoursError. No ``doc_id``: ``fresh_id`` when that record already exists
    (this job made it before a crash), else the one document named ``name`` the caller may replace, else a
    new document ``fresh_id``; several such documents: the one holding these bytes (``sha256``, the file's
    content hash) when exactly one does, else AmbiguousDocumentError. Two files of one name in different
    folders become two documents in one run, so the same bytes must find theirs again on a re-run.
    A folder file (``source``, its path) is never given the document of another file of that name that is
    still where it was ingested from: it took that document over, and each re-run of the two folders
    gave it back and forth (an audit, 2026-12-07); the document ingested from ``source`` itself comes first,
    and of several (one file ingested by editors of different groups), the one of exactly ``groups`` (the
    run's; before, an admin's run of the folder failed every such file as ambiguous).
    No document of that name: the one last ingested from the server file ``source`` under a name that
    cleans to ``name`` (``display_name``), i.e. named before server files' names were cleaned.
    """
    tenant = principal.tenant
    check_document_name(name)

    def replaceable(record: DocumentRecord) -> bool:
        return may_replace(principal, record.tenant, record.groups)

    if doc_id is not None:
        check_document_name(doc_id)
        found = pick(registry.matching(tenant, doc_id), doc_id, replaceable)
        if found is not None:
            return Target(found.doc_id, found)
        if registry.get(tenant, doc_id) is not None or not create_named:
            raise DocumentNotYoursError(f"no document {doc_id[:80]!r} you may replace")
        return Target(doc_id, None)
    resumed = registry.get(tenant, fresh_id)
    if resumed is not None:
        return Target(fresh_id, resumed)
    named = [r for r in registry.matching(tenant, name) if _carries_name(r, name)]
    if source:
        own = [r for r in named if _same_file(r.source, source) and replaceable(r)]
        if len(own) > 1 and groups is not None:
            own = [r for r in own if set(r.groups) == set(groups)] or own
        named = own or [r for r in named if not _ingested_from_elsewhere(r, source)]
    found = _one_named(named, name, replaceable, sha256)
    if found is None and source:
        renamed = [r for r in registry.from_source(tenant, source) if display_name(r.name) == name]
        found = _one_named(renamed, name, replaceable, sha256)
    return Target(found.doc_id, found) if found is not None else Target(fresh_id, None)


def _carries_name(record: DocumentRecord, name: str) -> bool:
    """Whether a file named ``name`` is ``record``'s by name: its name, or its id where that is a file name
    (a document from before server-chosen ids). A file named like another document's server-chosen id
    replaced that document (renaming it, and taking its groups away: a trust audit, 2026-12-07); an id is
    given as ``doc_id`` for that."""
    return record.name in name_forms(name) or (record.doc_id == name and not is_server_id(name))


def is_server_id(doc_id: str) -> bool:
    """Whether ``doc_id`` has the form of an id the server chose (``new_doc_id``)."""
    return _SERVER_ID.fullmatch(doc_id) is not None


def _ingested_from_elsewhere(record: DocumentRecord, source: str) -> bool:
    """Whether ``record`` is the document of another file than ``source`` that is still there (a file
    moved away, an upload, a record from before sources were kept: not)."""
    if not record.source or _same_file(record.source, source):
        return False
    try:
        return Path(record.source).is_file()
    except OSError:
        return False


def _same_file(recorded: str, source: str) -> bool:
    """Whether ``recorded`` (a document's source) and ``source`` name one file: the same path, or another
    way to it (``..``, a link: the command line keeps the path as given, a server folder's job resolves
    it; compared as strings, a folder reached by another path made every document again; a review)."""
    if not recorded:
        return False
    if recorded == source:
        return True
    try:
        return os.path.samefile(recorded, source)
    except OSError:  # either is gone: a moved file is judged by the other rules
        return False


def _one_named(
    named: Sequence[DocumentRecord], name: str, replaceable: Callable[[DocumentRecord], bool], sha256: str
) -> DocumentRecord | None:
    """``pick`` among ``named``; several: the one holding these bytes when exactly one does."""
    try:
        return pick(named, name, replaceable)
    except AmbiguousDocumentError:
        same = [r for r in named if sha256 and r.sha256 == sha256 and replaceable(r)]
        if len(same) != 1:
            raise
        return same[0]
