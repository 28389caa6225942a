"""``figvault users add|list|set|rotate|revoke``: API-key users of the HTTP service."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from figvault.access import Role
from figvault.commands import app, flag, nothing_stored, split_csv, state

users_app = typer.Typer(help="API-key users of the HTTP service.", no_args_is_help=True)
app.add_typer(users_app, name="users")


def _connection(ctx: typer.Context):  # -> figvault.db.Database; imported lazily to keep --help instant
    from figvault.pipeline.registry import connect as connect_registry

    return connect_registry(state(ctx).settings)


@users_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="User name (letters, digits, . _ @ -).")],
    role: Annotated[Role, typer.Option("--role", help="reader, editor or admin.")] = Role.READER,
    groups: Annotated[
        str,
        typer.Option("--groups", help="Access groups, comma separated: a,b (at least one is needed)."),
    ] = "",
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant the user belongs to.")] = "default",
) -> None:
    """Create a user and print its API key (only the key, on stdout, this once: it is stored hashed)."""
    from figvault.pipeline.users import UserError, add_user

    conn = _connection(ctx)
    try:
        record, key = add_user(conn, name, role, split_csv(groups) or [], tenant)
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    _audit(conn, "user-add", record, shown(record))
    typer.echo(
        f"created {record.name} ({record.role.value}, tenant {record.tenant},"
        f" groups {','.join(record.groups)}); the key below is shown once",
        err=True,
    )
    typer.echo(_what_they_see(ctx, record), err=True)
    typer.echo(key)


def _what_they_see(ctx: typer.Context, record: Any) -> str:
    """One line: how many of the tenant's searchable documents the new user sees (the failed ones apart),
    and the fix when it is none."""
    from figvault.pipeline.document_counts import DocumentCounts, searchable
    from figvault.pipeline.registry import DocumentRegistry, connect

    conn = connect(state(ctx).settings)
    try:
        records = DocumentRegistry(conn).list(tenant=record.tenant)
        empty = not records and not DocumentRegistry(conn).tenants()
    finally:
        conn.close()
    counts = DocumentCounts.of(records)
    docs = [d for d in records if searchable(d)]
    principal = record.principal()
    seen = sum(1 for d in docs if principal.sees(d.tenant, d.groups))
    line = f"{record.name} can see {seen} of the {len(docs)} documents of tenant {record.tenant}"
    if not seen and docs:  # the fix first: the failed note's command is not the one that helps here
        line += ": " + _no_shared_group(record.name, record.groups, {g for d in docs for g in d.groups})
    if empty:
        # A mistyped --data-dir, or a shell without serve's FIGVAULT_DATA_DIR: a key for an empty store,
        # which the server then answers 401 (a first-hour walk, 2026-12-06).
        line += (
            f"; the data folder {state(ctx).settings.data_dir} holds no documents yet: is it the one"
            " `figvault serve` uses? (--data-dir, FIGVAULT_DATA_DIR)"
        )
    return line + counts.failed_note()


SHOWN_GROUPS = 10
"""The documents' groups a ``users`` line names at most."""


def _no_shared_group(name: str, groups: list[str], in_use: set[str]) -> str:
    """The fix for a user who shares no group with any document: a group it was given that is another's
    spelling first (groups are compared exactly: `Finance` is not `finance`), else the groups the documents
    have. Not ``documents set-groups ID --groups <its groups>``: that replaces a document's groups, and
    followed for a mistyped group it took the documents from everyone else."""
    from figvault.text_checks import GROUP_SPELLING_CUTOFF, meant_name

    if not groups:
        first = sorted(in_use)[0] if in_use else "GROUP"
        return f"{name} has no groups: `figvault users set {name} --groups {first}` (a documents' group)"
    if not in_use:
        return f"no document has groups yet: `figvault documents set-groups ID --groups {','.join(groups)}`"
    # Only a near spelling: "team-a" is 0.83 alike "team-b", another team's group, not a typo.
    meant = {given: meant_name(given, in_use, GROUP_SPELLING_CUTOFF) for given in groups}
    fixes = {given: m for given, m in meant.items() if m is not None and m != given}
    if fixes:
        said = ", ".join(f"{m!r} for {given!r}" for given, m in fixes.items())
        fixed = ",".join(fixes.get(g, g) for g in groups)
        return f"did you mean {said} (groups are exact)? `figvault users set {name} --groups {fixed}`"
    shown_groups = sorted(in_use)
    listed = ", ".join(shown_groups[:SHOWN_GROUPS]) + (
        f" and {len(shown_groups) - SHOWN_GROUPS} more" if len(shown_groups) > SHOWN_GROUPS else ""
    )
    return (
        f"the documents' groups are {listed}: give {name} one of them (`figvault users set {name} --groups"
        " ...`), or give a document this group too (`figvault documents set-groups ID --groups` its groups"
        " and this one: the groups left out are taken away)"
    )


@users_app.command("list")
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, flag("--json", help="One JSON object per user.")] = False,
) -> None:
    """Users, their role, tenant, groups and whether their key is active (keys are never shown)."""
    from figvault.pipeline.users import list_users

    records = [] if nothing_stored(ctx) else list_users(_connection(ctx))
    if as_json:
        for r in records:
            typer.echo(json.dumps(r.model_dump(mode="json", exclude={"key_id"})))
        return
    if not records:
        typer.echo("no users", err=True)
        return
    for r in records:
        status = "active" if r.active else f"revoked {r.revoked_at}"
        typer.echo(f"{r.name}\t{r.role.value}\t{r.tenant}\t{','.join(r.groups)}\t{status}")


@users_app.command("set")
def set_(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[Role | None, typer.Option("--role", help="New role: reader, editor or admin.")] = None,
    groups: Annotated[
        str | None, typer.Option("--groups", help="New access groups, comma separated (replace the old).")
    ] = None,
) -> None:
    """Change an active user's role and/or groups; its key, account and tenant stay. Holds from the user's
    next request, in every process; audited as user-set in the user's tenant."""
    from figvault.pipeline.users import UserError, set_user

    conn = _connection(ctx)
    try:
        before, after = set_user(conn, name, role=role, groups=split_csv(groups))
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    _audit(conn, "user-set", after, {"before": shown(before), "after": shown(after)})
    typer.echo(
        f"set {after.name}: role {before.role.value} -> {after.role.value}, groups"
        f" {','.join(before.groups)} -> {','.join(after.groups)} (same key and account; from its next"
        " request)",
        err=True,
    )
    typer.echo(_what_they_see(ctx, after), err=True)


def shown(record: Any) -> dict[str, Any]:
    """What an audit row says of a user's rights: role and groups (never its key, key id or a hash)."""
    return {"role": record.role.value, "groups": list(record.groups)}


def _audit(conn: Any, action: str, record: Any, extra: dict[str, Any] | None = None) -> None:
    """A ``users`` command in the audit trail of the user's tenant, by its local operator (the CLI's
    caller): ``detail`` names the user and its account (a name may be given again to a new account)."""
    from figvault.access import local_operator
    from figvault.pipeline import audit

    detail = {"user": record.name, "account": record.account_id, **(extra or {})}
    audit.record(conn, local_operator(record.tenant), action, detail=detail)


@users_app.command("rotate")
def rotate(ctx: typer.Context, name: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Give a user a new API key and stop the old one at once; the account (its jobs, audit entries, role,
    groups, tenant) stays. Prints only the new key, on stdout, this once."""
    from figvault.pipeline.users import UserError, rotate_key

    conn = _connection(ctx)
    try:
        record, key = rotate_key(conn, name)
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    _audit(conn, "user-rotate", record)
    typer.echo(
        f"new key for {record.name} (same account, role, groups and tenant); the old key is refused from"
        " its next request, and jobs it queued stop at their next check; the key below is shown once",
        err=True,
    )
    typer.echo(key)


@users_app.command("revoke")
def revoke(ctx: typer.Context, name: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Revoke a user's API key; requests with it get 401 from now on."""
    from figvault.pipeline.users import get_user, revoke_user

    conn = _connection(ctx)
    if not revoke_user(conn, name):
        typer.echo(f"error: no active user {name!r}", err=True)
        raise typer.Exit(1)
    record = get_user(conn, name)  # the row stays, revoked: its account and tenant name the audit row
    if record is not None:
        _audit(conn, "user-revoke", record, shown(record))
    typer.echo(f"revoked {name}", err=True)
