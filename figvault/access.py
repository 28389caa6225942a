"""Principals and roles: who is asking, and what they may do and see."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


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


ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.READER: frozenset({Action.SEARCH, Action.VIEW}),
    Role.EDITOR: frozenset({Action.SEARCH, Action.VIEW, Action.INGEST}),
    Role.ADMIN: frozenset(Action),
}


class Principal(BaseModel):
    """A caller. Roles grant actions; groups grant data (a unit is visible when its groups meet these)."""

    user: str
    tenant: str = "default"
    groups: list[str] = Field(default_factory=list)
    roles: list[Role] = Field(default_factory=lambda: [Role.READER])
    unrestricted: bool = False
    """Sees every group of its tenant. Only the local operator (CLI on its own data folder) is; never HTTP."""

    def can(self, action: Action) -> bool:
        return any(action in ROLE_ACTIONS[r] for r in self.roles)

    def sees(self, tenant: str, groups: list[str]) -> bool:
        """The data rule, in Python: same tenant and at least one shared group."""
        if tenant != self.tenant:
            return False
        return self.unrestricted or bool(set(groups) & set(self.groups))


def local_operator(tenant: str = "default", groups: list[str] | None = None) -> Principal:
    """The person at the command line: an admin of the local data folder.

    Without ``groups`` it sees the whole tenant; with them (``--groups a,b``) it sees what those groups see.
    """
    return Principal(
        user="cli", tenant=tenant, groups=groups or [], roles=[Role.ADMIN], unrestricted=groups is None
    )
