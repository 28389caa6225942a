"""``figvault status [--json]``: what the store serves and what the configuration would encode."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from figvault.commands import app, flag, nothing_stored, state
from figvault.commands._retrieval_cli import one_line_errors, quiet_store_logs
from figvault.errors import StoreInUseError
from figvault.settings import Settings


@app.command()
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, flag("--json", help="Print as JSON.")] = False,
) -> None:
    """Alias, its collection and embedding_version, the configured version, unit and document counts."""
    settings = state(ctx).settings
    # Milvus Lite in a folder with no store: its status made without making one (a server's store is there
    # whatever the folder holds, and its status is read as before).
    if not settings.store.uri and nothing_stored(ctx):
        info, mismatch = _unstored_status(settings), None
    else:
        info, mismatch = _served_status(settings)
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    for key, value in info.items():
        typer.echo(f"{key:30} {shown(value)}")
    if info.get("store_in_use"):
        typer.echo(STORE_IN_USE)
        return
    # Else "version_matches False" reads as a fault on a data folder never used.
    if info["collection"] is None:
        typer.echo(
            "nothing ingested yet (so no collection and no version to match): `figvault ingest FOLDER"
            " --groups a,b` creates the collection"
        )
    if mismatch is not None:
        typer.echo(mismatch)
    failed = _failed_line(state(ctx).settings) if info["stored"] else ""
    if failed:
        typer.echo(failed)


def _failed_line(settings: Settings) -> str:
    """``documents: 6 searchable, 4 failed: see `figvault documents list --failed``` when some ingest
    failed: the table's ``indexed 6; failed 4`` did not say where the reasons are."""
    from figvault.pipeline.document_counts import DocumentCounts
    from figvault.pipeline.registry import DocumentRegistry

    with one_line_errors():
        counts = DocumentCounts.of_states(DocumentRegistry.open(settings).state_counts())
    note = counts.failed_note()
    return f"documents: {counts.searchable} searchable{note}" if note else ""


def shown(value: Any) -> str:
    """A status value as a person reads it: the table printed Python's reprs (``documents {'indexed': 6}``,
    ``channels ['text', 'lexical']``, ``collection None``); --json keeps the structure."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return "; ".join(f"{key} {shown(item)}" for key, item in value.items()) or "-"
    if isinstance(value, list | tuple):
        return ", ".join(shown(item) for item in value) or "-"
    return str(value)


STORE_IN_USE = (
    "the embedded store is in use by another process (a running ingest, re-encode or `figvault serve`):"
    " its units, collections and versions show once that ends (a serve shows them at GET /v1/status);"
    " documents and running jobs above are the registry's"
)


def _busy_status(settings: Settings) -> dict[str, Any]:
    """What ``status`` can show while another process holds Milvus Lite: the registry's documents and
    running jobs. (It used to end with "stop the other figvault process", in the middle of an ingest.)"""
    from figvault.pipeline.jobs import JobState, JobStore
    from figvault.pipeline.registry import DocumentRegistry
    from figvault.retrieval.milvus_store import lite_path

    registry = DocumentRegistry.open(settings)
    running = JobStore.open(settings).list(states=[JobState.RUNNING], limit=100)
    return {
        "store_in_use": True,
        "stored": True,
        "documents": _document_states(registry),
        "jobs_running": [f"{job.id} {job.type} {job.phase} {job.done}/{job.total}" for job in running],
        "store": str(lite_path(settings)),
        "data_dir": str(settings.data_dir.resolve()),  # a relative one: which folder it is
        "registry": registry.db.url,
    }


def _unstored_status(settings: Settings) -> dict[str, Any]:
    """What ``status`` shows of a data folder that holds no store (``no_store_note``), making nothing (not
    even the weights' hash cache behind the configured version): opening it made the folder, a registry
    and a Milvus Lite file, and the listing commands then took the empty store for one in use and no
    longer said that the folder may be the wrong one."""
    from figvault.retrieval.milvus_store import lite_path

    # Every key of a stored status (scripts read them), empty: the configured version too, whose weights'
    # hashes would be cached in the folder.
    return {
        "stored": False,
        "alias": settings.store.alias,
        "collection": None,
        "embedding_version": None,
        "configured_embedding_version": None,
        "version_matches": False,
        "units": 0,
        "channels": [],
        "lexical": None,
        "collections": [],
        "documents": {},
        "store": str(lite_path(settings)),
        "server_version": None,
        "data_dir": str(settings.data_dir.resolve()),
        "registry": settings.registry_url,
        "files": _files(settings),
    }


def _files(settings: Settings) -> str:
    """Where the originals and figures are: the data folder, or ``storage.url`` without its password."""
    from figvault.storage import url_without_password

    return url_without_password(settings.storage.url) if settings.storage.url else "data_dir"


def _document_states(registry: Any) -> dict[str, int]:
    """State -> documents of every tenant, for the states that have some (counted by the database)."""
    from figvault.pipeline.registry import DocState

    counts = registry.state_counts()
    return {str(state): counts[state][0] for state in DocState if state in counts}


def _served_status(settings: Settings) -> tuple[dict[str, Any], str | None]:
    """What ``status`` shows of ``settings``' store and registry, and the hint for a configuration whose
    embedding version is not the one served (None when they match or either is unknown)."""
    from figvault.pipeline.registry import DocumentRegistry
    from figvault.pipeline.store_status import served_state
    from figvault.retrieval.lexical import LexicalChannel
    from figvault.retrieval.served_encoders import (
        changed_encoder_settings,
        mismatch_hint,
        recorded_encoder_settings,
    )

    quiet_store_logs()
    mismatch = None
    with one_line_errors():
        try:
            served = served_state(settings)
        except StoreInUseError:
            return _busy_status(settings), None
        store, collection, layout = served.store, served.collection, served.layout
        configured = served.configured
        registry = DocumentRegistry.open(settings)
        documents = _document_states(registry)
        info: dict[str, Any] = {
            "stored": True,
            "alias": store.alias,
            "collection": collection,
            "embedding_version": layout.embedding_version if layout else None,
            "configured_embedding_version": configured,
            "version_matches": served.version_matches,
            "units": store.count(collection) if collection else 0,
            "channels": layout.channels if layout else [],
            "lexical": LexicalChannel.from_settings(settings, store).status(collection)
            if collection
            else None,
            "collections": store.list_collections(),
            "documents": documents,
            "store": settings.store.uri or str(store.uri),
            "server_version": store.capabilities.server_version,
            "data_dir": str(settings.data_dir.resolve()),  # a relative one: which folder it is
            "registry": registry.db.url,
            "files": _files(settings),
        }
        if served.configured_error:
            info["configured_error"] = served.configured_error
        if layout and configured and not info["version_matches"]:
            record = recorded_encoder_settings(store, collection)
            info["encoder_changes"] = changed_encoder_settings(settings, record)
            mismatch = mismatch_hint(settings, record, layout.embedding_version, configured)
    return info, mismatch
