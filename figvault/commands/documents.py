"""``figvault documents list [--json]``, ``set-groups ID --groups a,b``, ``set-tags ID --tags a,b`` and
``delete ID``: the registry's documents and who sees them; a regroup rewrites the units' access fields in
place (no re-ingest)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from figvault.commands import app, flag, nothing_stored, split_csv, state
from figvault.commands._retrieval_cli import one_line_errors, quiet_store_logs
from figvault.errors import FigvaultError
from figvault.settings import Settings
from figvault.text_checks import escaped

documents_app = typer.Typer(
    help="Documents and who sees them: list, set-groups, set-tags, delete.", no_args_is_help=True
)
app.add_typer(documents_app, name="documents")

TenantOption = Annotated[str | None, typer.Option("--tenant", help="Only this tenant (default: all).")]
DocArgument = Annotated[str, typer.Argument(help="Document id (from `figvault documents list`) or name.")]
DocTenantOption = Annotated[str, typer.Option("--tenant", help="Tenant of the document.")]
"""The one document that set-groups, set-tags and delete change, and its tenant."""


@documents_app.command("list")
def list_documents(
    ctx: typer.Context,
    tenant: TenantOption = None,
    as_json: Annotated[bool, flag("--json", help="Print as JSON.")] = False,
    failed: Annotated[
        bool, flag("--failed", help="Only the documents whose last ingest failed, with why.")
    ] = False,
) -> None:
    """Every document: name, id, tenant, groups, units, state, the file it was ingested from (empty
    for uploads), its tags (the search filter --tags) and why its ingest failed (error; --json adds
    `failure`: `file` when its bytes caused it, and ingest skips the unchanged file until --retry-failed).
    Documents without groups are seen by no one."""
    from figvault.pipeline.registry import DocState, DocumentRegistry

    with one_line_errors():
        only = DocState.FAILED if failed else None
        stored = not nothing_stored(ctx)
        records = DocumentRegistry.open(state(ctx).settings).list(tenant=tenant, state=only) if stored else []
    if as_json:
        fields = (
            "doc_id",
            "name",
            "tenant",
            "groups",
            "units",
            "state",
            "error",
            "updated_at",
            "source",
            "tags",
            "failure",
        )
        typer.echo(json.dumps([r.model_dump(mode="json", include=set(fields)) for r in records], indent=2))
        return
    if not records:
        typer.echo("no failed documents" if failed else "no documents", err=True)
        return
    # Columns are only added, at the end: error says why a failed document failed (the counts elsewhere send
    # the reader here: "2 failed: see `figvault documents list`", and only --json showed the reason).
    typer.echo("name\tid\ttenant\tgroups\tunits\tstate\tsource\ttags\terror")
    for r in records:
        groups = ",".join(r.groups) or "(none: visible to no one)"
        # Name and path escaped: one row per document, nothing in a file name acting on the terminal.
        source = escaped(r.source) or "(upload, or indexed before sources were recorded)"
        tags = _shown_tags(r.tags)
        name = escaped(r.name)
        error = escaped(r.error) or "-"
        typer.echo(
            f"{name}\t{r.doc_id}\t{r.tenant}\t{groups}\t{r.units}\t{r.state}\t{source}\t{tags}\t{error}"
        )


def _shown_tags(tags: list[str]) -> str:
    """Tags on one line of the operator's terminal, escaped: an editor chose them (over HTTP), and tags
    stored before ``figvault/tags.py`` refused terminal escapes, line separators and bidi overrides may hold
    them."""
    return ",".join(escaped(t) for t in tags) or "(none)"


def _document_id(settings: Settings, tenant: str, key: str) -> str:
    """The id of the document of ``tenant`` that ``key`` (an id or a name) refers to; ``key`` itself when
    none does (the change then says there is no such document); AmbiguousDocumentError when several
    documents carry the name."""
    from figvault.pipeline.doc_identity import find_document
    from figvault.pipeline.registry import DocumentRegistry

    registry = DocumentRegistry.open(settings)
    try:
        found = find_document(registry, tenant, key)
    finally:
        registry.conn.close()
    return found.doc_id if found is not None else key


_ADMIN_TAB = (
    "its page's Admin tab changes a document's groups and deletes it (or PATCH / DELETE /v1/documents/ID)"
)
_TAGS_ROUTE = (
    'PATCH /v1/documents/ID with {"tags": [...]} changes its tags (editors; the page has no tag editor)'
)


@contextmanager
def _where_while_serving(where: str = _ADMIN_TAB) -> Iterator[None]:
    """A change refused because ``figvault serve`` holds the embedded store says where to make it meanwhile
    (the store's own hint said only "through the service")."""
    from figvault.errors import StoreInUseError

    try:
        yield
    except StoreInUseError as exc:
        raise FigvaultError(f"{exc}; while it runs, {where}") from exc


@documents_app.command("set-groups")
def set_groups(
    ctx: typer.Context,
    doc_id: DocArgument,
    groups: Annotated[str, typer.Option("--groups", help="The document's new access groups: a,b.")],
    tenant: DocTenantOption = "default",
) -> None:
    """Change which groups see a document: its units are rewritten in place (nothing is extracted or
    encoded again), and the change is audited."""
    from figvault.commands._group_holders import no_holder_line
    from figvault.pipeline.regroup import set_document_groups

    settings = state(ctx).settings
    quiet_store_logs()
    with one_line_errors():
        doc_id = _document_id(settings, tenant, doc_id)
        with _where_while_serving():
            result = set_document_groups(settings, tenant, doc_id, split_csv(groups) or [])
        _audit(settings, tenant, "set-groups", [result.to_dict()])
    typer.echo(
        f"{result.name} ({result.doc_id}, tenant {result.tenant}): groups"
        f" {','.join(result.before) or '(none)'} -> {','.join(result.after)}; {result.units} units rewritten"
    )
    if (nobody := no_holder_line(settings, tenant, result.after)) is not None:
        typer.echo(nobody, err=True)


@documents_app.command("set-tags")
def set_tags(
    ctx: typer.Context,
    doc_id: DocArgument,
    tags: Annotated[str, typer.Option("--tags", help='The document\'s new tags: a,b ("" clears them).')],
    tenant: DocTenantOption = "default",
) -> None:
    """Change a document's tags (the search filter `--tags`): its units are rewritten in place, like
    set-groups, and the change is audited."""
    from figvault.pipeline.regroup import set_document_tags

    settings = state(ctx).settings
    quiet_store_logs()
    with one_line_errors():
        doc_id = _document_id(settings, tenant, doc_id)
        with _where_while_serving(_TAGS_ROUTE):
            result = set_document_tags(settings, tenant, doc_id, split_csv(tags) or [])
        _audit(settings, tenant, "set-tags", [result.to_dict()])
    typer.echo(
        f"{result.name} ({result.doc_id}, tenant {result.tenant}): tags"
        f" {_shown_tags(result.before)} -> {_shown_tags(result.after)};"
        f" {result.units} units rewritten"
    )


@documents_app.command("delete")
def delete(
    ctx: typer.Context,
    doc_id: DocArgument,
    tenant: DocTenantOption = "default",
) -> None:
    """Delete a document: its units in every collection and its record (as DELETE /v1/documents/{id});
    audited. For a file ingested by mistake, or the old name of a renamed file."""
    from figvault.pipeline.ingest_pipeline import delete_document
    from figvault.pipeline.registry import DocumentRegistry

    settings = state(ctx).settings
    quiet_store_logs()
    with one_line_errors():
        doc_id = _document_id(settings, tenant, doc_id)
        known = DocumentRegistry.open(settings).get(tenant, doc_id)
        with _where_while_serving():
            deleted = delete_document(settings, tenant, doc_id)
        if not deleted:
            typer.echo(
                f"error: no document {doc_id!r} in tenant {tenant!r} (`figvault documents list`)", err=True
            )
            raise typer.Exit(1)
        _audit(settings, tenant, "delete", [{"doc_id": doc_id}])
    name = known.name if known is not None else doc_id
    typer.echo(f"deleted {name} ({doc_id}, tenant {tenant})")


def audit_pruned(settings: Settings, tenant: str, pruned: list[dict[str, str]]) -> None:
    """Each document ``figvault ingest --prune`` deleted, in the audit log as ``documents delete`` would be
    (here: the commands that write to the audit trail are the documents commands)."""
    if pruned:
        _audit(settings, tenant, "delete", [{"doc_id": e["doc_id"], "pruned": e["source"]} for e in pruned])


def _audit(settings: Settings, tenant: str, action: str, details: list[dict[str, Any]]) -> None:
    """Each of ``details`` in the audit log as ``action`` by ``tenant``'s local operator (the CLI's
    caller): the one way the documents commands write to the audit trail."""
    from figvault.access import local_operator
    from figvault.pipeline import audit
    from figvault.pipeline.registry import connect

    conn = connect(settings)
    try:
        audit.ensure_schema(conn)
        for detail in details:
            audit.record(conn, local_operator(tenant), action, detail=detail)
    finally:
        conn.close()
