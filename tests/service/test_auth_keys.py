"""API keys and the users table: hashing, lookup, revoke, and the ``figvault users`` commands.

Every test runs against both registry back ends (SQLite and a real PostgreSQL: tests/fixtures_registry.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from figvault.access import Role
from figvault.cli import load_commands
from figvault.commands import app
from figvault.db import Database, open_database
from figvault.db.models import users as users_table
from figvault.pipeline import users
from figvault.pipeline.apikeys import generate_api_key, parse_api_key, verify_secret
from figvault.service.auth import Authenticator, AuthError, SlowCheckNeeded
from figvault.settings import ServiceSettings


@pytest.fixture
def conn(registry_db: Database) -> Database:
    return registry_db


def test_key_is_stored_only_as_salted_hash(conn: Database) -> None:
    record, key = users.add_user(conn, "ana", Role.READER, ["finance", "hr"], "acme")
    parsed = parse_api_key(key)
    assert parsed is not None and parsed.key_id == record.key_id
    with conn.read() as tx:
        stored = tx.execute(select(users_table.c.key_hash).where(users_table.c.name == "ana")).scalar_one()
    assert parsed.secret not in stored and key not in stored
    assert stored.startswith("scrypt$")
    # Same secret, two hashes: the salt is per key.
    other = generate_api_key()
    assert other.key_hash.split("$")[4] != stored.split("$")[4]
    assert verify_secret(parsed.secret, stored)
    assert not verify_secret(parsed.secret[:-1] + ("A" if parsed.secret[-1] != "A" else "B"), stored)
    assert not verify_secret(parsed.secret, "garbage")


def test_authenticate_api_key_and_revoke(conn: Database) -> None:
    _, key = users.add_user(conn, "bo", Role.EDITOR, ["eng"], "acme")
    auth = Authenticator(ServiceSettings(), lambda: conn)
    principal = auth.authenticate(key)
    assert (principal.user, principal.tenant, principal.groups, principal.roles) == (
        "bo",
        "acme",
        ["eng"],
        [Role.EDITOR],
    )
    assert not principal.unrestricted
    assert auth.authenticate(key).user == "bo"  # second time through the verified-key cache
    assert users.revoke_user(conn, "bo")
    with pytest.raises(AuthError, match="revoked"):
        auth.authenticate(key)  # the cache never outlives a revoke
    # A new key for the same name works; the old one stays dead.
    _, new_key = users.add_user(conn, "bo", Role.READER, ["eng"], "acme")
    assert auth.authenticate(new_key).roles == [Role.READER]
    with pytest.raises(AuthError):
        auth.authenticate(key)


def test_event_loop_path_never_runs_scrypt(conn: Database) -> None:
    """``allow_slow=False`` (the HTTP dependency on the event loop) hands a key's first check to a thread."""
    record, key = users.add_user(conn, "di", Role.READER, ["g"])
    auth = Authenticator(ServiceSettings(), lambda: conn)
    with pytest.raises(SlowCheckNeeded):
        auth.authenticate(key, allow_slow=False)
    assert auth.authenticate(key).user == "di"  # the slow check, as a worker thread runs it
    assert auth.authenticate(key, allow_slow=False).user == "di"  # then the cached fast path
    forged = f"fvk_{record.key_id}_{'Z' * 43}"
    with pytest.raises(SlowCheckNeeded):  # an unknown secret needs scrypt, as a first use does
        auth.authenticate(forged, allow_slow=False)
    with pytest.raises(AuthError, match="wrong"):
        auth.authenticate(forged)
    unknown = "fvk_0123456789abcdef_" + "Q" * 43
    with pytest.raises(SlowCheckNeeded):  # an unknown key id costs what a wrong secret costs (no oracle)
        auth.authenticate(unknown, allow_slow=False)
    with pytest.raises(AuthError, match="unknown"):
        auth.authenticate(unknown)
    with pytest.raises(AuthError, match="refused before"):  # then it is refused from memory, on the loop
        auth.authenticate(unknown, allow_slow=False)


@pytest.mark.parametrize(
    "token",
    ["", "fvk_", "fvk_0123456789abcdef_short", "not-a-key", "a.b.c", "fvk_0123456789abcdef_" + "x" * 43],
)
def test_bad_tokens_are_rejected(conn: Database, token: str) -> None:
    with pytest.raises(AuthError):
        Authenticator(ServiceSettings(), lambda: conn).authenticate(token)


def test_key_with_trailing_newline_is_not_parsed() -> None:
    token = generate_api_key().key
    assert parse_api_key(token) is not None
    assert parse_api_key(token + "\n") is None  # `$` in a match() would let the newline through


def test_wrong_secret_for_known_key_id(conn: Database) -> None:
    record, key = users.add_user(conn, "cy", Role.READER, ["g"])
    forged = f"fvk_{record.key_id}_{'Z' * 43}"
    auth = Authenticator(ServiceSettings(), lambda: conn)
    auth.authenticate(key)  # cached now; a forged secret must still fail
    with pytest.raises(AuthError, match="wrong"):
        auth.authenticate(forged)


def test_user_validation(conn: Database) -> None:
    users.add_user(conn, "dee", Role.READER, ["g"])
    with pytest.raises(users.UserError, match="exists"):
        users.add_user(conn, "dee", Role.READER, ["g"])
    with pytest.raises(users.UserError, match="invalid user name"):
        users.add_user(conn, "../x", Role.READER, ["g"])
    with pytest.raises(users.UserError, match="group"):
        users.add_user(conn, "eve", Role.READER, ["bad'quote"])
    with pytest.raises(users.UserError, match="at least one group"):
        users.add_user(conn, "eve", Role.READER, [])


def test_cli_users_add_prints_only_the_key(
    data_dir: Path, registry_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIGVAULT_REGISTRY__URL", registry_url)  # the documented setting, both back ends
    load_commands()
    runner = CliRunner()
    base = ["--config", "offline", "--data-dir", str(data_dir)]
    result = runner.invoke(app, [*base, "users", "add", "fay", "--role", "admin", "--groups", "a,b"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1
    key = result.stdout.strip()
    assert parse_api_key(key) is not None

    conn = open_database(registry_url)
    principal = Authenticator(ServiceSettings(), lambda: conn).authenticate(key)
    assert (principal.user, principal.groups, principal.roles) == ("fay", ["a", "b"], [Role.ADMIN])

    listed = runner.invoke(app, [*base, "users", "list"])
    assert listed.exit_code == 0 and "fay\tadmin\tdefault\ta,b\tactive" in listed.stdout
    assert key not in listed.stdout

    again = runner.invoke(app, [*base, "users", "add", "fay", "--groups", "a"])
    assert again.exit_code == 1 and again.stdout == "" and "exists" in again.stderr

    revoked = runner.invoke(app, [*base, "users", "revoke", "fay"])
    assert revoked.exit_code == 0
    with pytest.raises(AuthError):
        Authenticator(ServiceSettings(), lambda: conn).authenticate(key)
    assert runner.invoke(app, [*base, "users", "revoke", "fay"]).exit_code == 1
    bad_role = runner.invoke(app, [*base, "users", "add", "gus", "--role", "root", "--groups", "a"])
    assert bad_role.exit_code != 0 and bad_role.stdout == ""


def test_rotating_a_key_keeps_the_account_and_stops_the_old_key(
    data_dir: Path, registry_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Day 2: a script's key is rotated. Before there was no way but revoke + add, which made a new
    account (the user's jobs and audit trail no longer its own) or a new name; ``users rotate`` keeps the
    account and stops the old key at its next request (the verified-key cache included)."""
    monkeypatch.setenv("FIGVAULT_REGISTRY__URL", registry_url)
    load_commands()
    runner = CliRunner()
    base = ["--config", "offline", "--data-dir", str(data_dir)]
    old_key = runner.invoke(app, [*base, "users", "add", "bot", "--groups", "eng"]).stdout.strip()
    conn = open_database(registry_url)
    auth = Authenticator(ServiceSettings(), lambda: conn)
    before = auth.authenticate(old_key)  # verified: now in the in-process cache

    rotated = runner.invoke(app, [*base, "users", "rotate", "bot"])
    assert rotated.exit_code == 0, rotated.output
    new_key = rotated.stdout.strip()
    assert rotated.stdout.count("\n") == 1 and parse_api_key(new_key) is not None and new_key != old_key
    with pytest.raises(AuthError):
        auth.authenticate(old_key)
    after = auth.authenticate(new_key)
    assert (after.identity, after.user, after.groups, after.roles) == (
        before.identity,
        "bot",
        ["eng"],
        [Role.READER],
    )
    assert runner.invoke(app, [*base, "users", "revoke", "bot"]).exit_code == 0
    gone = runner.invoke(app, [*base, "users", "rotate", "bot"])
    assert gone.exit_code == 1 and gone.stdout == "" and "no active user 'bot'" in gone.stderr


def test_users_set_changes_role_and_groups_from_the_next_request_and_keeps_the_key(
    data_dir: Path, registry_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before ``users set`` the only way to change a user's groups or role was revoke + add: a new key to
    hand out and a new account. Now the key and account stay, the change holds at the key's next request
    (the verified-key cache included: it holds the hash, never the role or groups), and it is audited."""
    import json

    from figvault.db.models import audit as audit_table

    monkeypatch.setenv("FIGVAULT_REGISTRY__URL", registry_url)
    load_commands()
    runner = CliRunner()
    base = ["--config", "offline", "--data-dir", str(data_dir)]
    key = runner.invoke(app, [*base, "users", "add", "cal", "--groups", "eng,ops"]).stdout.strip()
    conn = open_database(registry_url)
    auth = Authenticator(ServiceSettings(), lambda: conn)
    before = auth.authenticate(key)  # verified: now in the in-process cache
    assert (before.roles, before.groups) == ([Role.READER], ["eng", "ops"])

    changed = runner.invoke(app, [*base, "users", "set", "cal", "--role", "editor", "--groups", "ops"])
    assert changed.exit_code == 0, changed.output
    assert changed.stdout == "" and "role reader -> editor, groups eng,ops -> ops" in changed.stderr
    after = auth.authenticate(key)
    assert (after.identity, after.roles, after.groups) == (before.identity, [Role.EDITOR], ["ops"])
    only_role = runner.invoke(app, [*base, "users", "set", "cal", "--role", "admin"])
    assert only_role.exit_code == 0, only_role.output
    assert (auth.authenticate(key).roles, auth.authenticate(key).groups) == ([Role.ADMIN], ["ops"])

    with conn.read() as tx:
        rows = tx.execute(select(audit_table).where(audit_table.c.action == "user-set")).all()
    details = [json.loads(r._mapping["detail_json"]) for r in rows]
    assert details[0]["before"] == {"role": "reader", "groups": ["eng", "ops"]}
    assert details[0]["after"] == {"role": "editor", "groups": ["ops"]}
    assert details[0]["user"] == "cal" and rows[0]._mapping["tenant"] == "default"
    assert len(details) == 2 and details[1]["after"] == {"role": "admin", "groups": ["ops"]}

    for args, reason in (
        (["cal"], "nothing to change"),
        (["cal", "--groups", " , "], "at least one group"),
        (["cal", "--groups", "a b"], "group"),
        (["nobody", "--role", "admin"], "no active user 'nobody'"),
    ):
        refused = runner.invoke(app, [*base, "users", "set", *args])
        assert refused.exit_code == 1 and refused.stdout == "" and reason in refused.stderr, args
    assert runner.invoke(app, [*base, "users", "revoke", "cal"]).exit_code == 0
    gone = runner.invoke(app, [*base, "users", "set", "cal", "--role", "reader"])
    assert gone.exit_code == 1 and "no active user 'cal'" in gone.stderr


def test_users_add_rotate_and_revoke_are_audited_without_the_key(
    data_dir: Path, registry_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only ``users set`` was audited: who was given a key, had it rotated or revoked, and when, was in no
    row. Each now writes one row in the user's tenant by ``cli``, naming user and account; no row holds
    the key, its secret, its key id or the stored hash."""
    import json

    from figvault.db.models import audit as audit_table

    monkeypatch.setenv("FIGVAULT_REGISTRY__URL", registry_url)
    load_commands()
    runner = CliRunner()
    base = ["--config", "offline", "--data-dir", str(data_dir)]
    first = runner.invoke(
        app, [*base, "users", "add", "dee", "--role", "editor", "--groups", "ops,eng", "--tenant", "acme"]
    ).stdout.strip()
    second = runner.invoke(app, [*base, "users", "rotate", "dee"]).stdout.strip()
    assert runner.invoke(app, [*base, "users", "revoke", "dee"]).exit_code == 0
    assert runner.invoke(app, [*base, "users", "revoke", "dee"]).exit_code == 1  # nothing done, no row
    conn = open_database(registry_url)
    with conn.read() as tx:
        rows = [r._mapping for r in tx.execute(select(audit_table).order_by(audit_table.c.id)).all()]
        stored = tx.execute(select(users_table).where(users_table.c.name == "dee")).first()._mapping
    assert [r["action"] for r in rows] == ["user-add", "user-rotate", "user-revoke"]
    assert {(r["tenant"], r["user"]) for r in rows} == {("acme", "cli")}
    details = [json.loads(r["detail_json"]) for r in rows]
    assert {(d["user"], d["account"]) for d in details} == {("dee", stored["account_id"])}
    assert details[0]["role"] == "editor" and details[0]["groups"] == ["eng", "ops"]
    assert details[2]["role"] == "editor"
    text = json.dumps([dict(r) for r in rows], default=str)
    for secret in (
        first,
        second,
        parse_api_key(first).key_id,
        parse_api_key(second).key_id,
        stored["key_hash"],
        parse_api_key(second).secret,
    ):
        assert secret not in text
