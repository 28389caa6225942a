"""Principals and roles: who is asking, and what they may do and see."""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

# Group and tenant names end up inside store filter expressions and URLs: a plain, quote-free charset.
# Always fullmatch, never match with "$": "$" also matches before a trailing newline.
LABEL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@-]{0,63}")


def check_label(kind: str, value: str) -> str:
    """``value`` if it is a valid group or tenant name; else ValueError saying what is allowed."""
    if not LABEL_RE.fullmatch(value):
        raise ValueError(f"invalid {kind} name {value[:80]!r}: use letters, digits and . _ : / @ - (max 64)")
    return value


def group_set(groups: Iterable[str]) -> list[str]:
    """Group names stripped, checked, without duplicates, sorted (the one form a group set is kept in)."""
    return sorted({check_label("group", g.strip()) for g in groups if g.strip()})


class Role(StrEnum):
    READER = "reader"
    EDITOR = "editor"
    ADMIN = "admin"


class Action(StrEnum):
    SEARCH = "search"
    VIEW = "view"
    INGEST = "ingest"
    DELETE = "delete"
    REENCODE = "reencode"
    USERS = "users"
    AUDIT = "audit"
    REGROUP = "regroup"
    """Change which groups see a document (admins)."""


ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.READER: frozenset({Action.SEARCH, Action.VIEW}),
    Role.EDITOR: frozenset({Action.SEARCH, Action.VIEW, Action.INGEST}),
    Role.ADMIN: frozenset(Action),
}


class Credential(BaseModel):
    """Which credential authenticated a caller, recorded in work queued in its name (an ingest job's
    ``params.principal.credential``) so that the work can check it again (pipeline/credentials.py)."""

    kind: Literal["api_key", "jwt", "local"]
    """``local``: code in the server's own process (never a network caller); not checked again."""
    key_id: str | None = None
    """An API key's id (a public handle)."""
    expires: int | None = None
    """A JWT's ``exp`` (seconds since the epoch)."""
    alg: str | None = None
    """A JWT's algorithm."""
    key: str | None = None
    """A JWT's verifying key as a fingerprint (pipeline/credentials.py ``key_fingerprint``), never the key."""


class Principal(BaseModel):
    """A caller. Roles grant actions; groups grant data (a unit is visible when its groups meet these)."""

    user: str
    """The name people see (audit rows, a job's ``started_by``); an API-key name may be given again."""
    account: str = ""
    """The account behind the name (``identity``): an API-key user's ``account_id``, new each time its
    name is given; empty for others (a token's subject and code in this process are their name)."""
    tenant: str = "default"
    groups: list[str] = Field(default_factory=list)
    roles: list[Role] = Field(default_factory=lambda: [Role.READER])
    unrestricted: bool = False
    """Sees every group of its tenant. Only the local operator (CLI on its own data folder) is; never HTTP."""
    credential: Credential | None = None
    """Set by the service's authenticator; None for callers built in code."""

    def can(self, action: Action) -> bool:
        return any(action in ROLE_ACTIONS[r] for r in self.roles)

    @property
    def identity(self) -> str:
        """Who the caller is for whatever is kept in its name (its jobs: visibility, cancel, retry): the
        account, never a reusable user name. API-key accounts are ``usr_<hex>``, token subjects
        ``jwt:<sub>`` (an issuer never gives a subject to someone else), the local process its name; the
        three cannot collide."""
        return self.account or self.user

    @property
    def caller_key(self) -> str:
        """Whose a per-caller thing is (a budget, a bound, a cache): the account within its tenant. A token
        subject is only unique in its tenant (``jwt:ana`` of two tenants is two callers); a tenant name may
        hold ``/`` or ``:``, never NUL."""
        return f"{self.tenant}\x00{self.identity}"

    def shown_groups(self, groups: Iterable[str]) -> list[str]:
        """The groups of a document this caller is told of: those it shares (all for the local operator).
        Whether a document it sees has other groups is not its to learn (the listing, a tag change)."""
        return sorted(set(groups) if self.unrestricted else set(groups) & set(self.groups))

    @property
    def sets_every_group(self) -> bool:
        """Whether what this caller gives a document replaces all of its groups (an admin, the local
        operator), not only those it is in (``groups_after_replace``)."""
        return self.unrestricted or self.can(Action.REGROUP)

    def view_of(self, groups: Iterable[str], tags: Iterable[str]) -> dict[str, list[str]]:
        """What this caller is shown of a document's access and labels: its shared groups and the tags.
        An editor's ingest job compares it before and after (``registry.seen_later``): a change of
        groups the editor is not in is not its to learn."""
        return {"groups": self.shown_groups(groups), "tags": sorted(set(tags))}

    def sees(self, tenant: str, groups: list[str]) -> bool:
        """The data rule, in Python: same tenant and at least one shared group."""
        if tenant != self.tenant:
            return False
        return self.unrestricted or bool(set(groups) & set(self.groups))


def may_replace(principal: Principal, tenant: str, groups: Iterable[str]) -> bool:
    """The ownership rule of document identity (docs/service.md, "Document identity and replacement"): a
    file ingested under the name (or id) of an existing document replaces it only when this holds; otherwise
    it becomes a new document, whatever else exists.

    Same tenant, a role that may ingest, and the caller can see the document (the local operator every
    document of its tenant). Whether the document also has groups the caller is not in is not asked: the
    answer (the same document, or a new one) would tell an editor what the listing hides from it, as a tag
    change's refusal did. What such a replacement may change of the document's groups is
    ``groups_after_replace``.
    """
    if tenant != principal.tenant or not principal.can(Action.INGEST):
        return False
    return principal.sees(tenant, sorted(set(groups)))


def groups_after_replace(principal: Principal, given: Iterable[str], current: Iterable[str]) -> list[str]:
    """The groups a replaced document gets when ``principal`` ingests it with ``given``: those, and its
    ``current`` groups the caller is not in unless it may regroup (an admin, the local operator). An editor
    sets only the part of a document's access it shares: a replacement is never a regroup of groups it
    cannot see (their readers get the new version, as they get its tags: docs/service.md)."""
    if principal.sets_every_group:
        return sorted(set(given))
    return sorted(set(given) | (set(current) - set(principal.groups)))


def local_operator(tenant: str = "default", groups: list[str] | None = None) -> Principal:
    """The person at the command line: an admin of the local data folder.

    Without ``groups`` it sees the whole tenant; with them (``--groups a,b``) it sees what those groups see.
    """
    return Principal(
        user="cli", tenant=tenant, groups=groups or [], roles=[Role.ADMIN], unrestricted=groups is None
    )
