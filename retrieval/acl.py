"""Filter expressions: the caller's tenant and groups plus the request's filters, as one Milvus expression.

Access is carried by a scalar ``acl_key`` per unit (a hash of its sorted group set), not by the ``groups``
array: Milvus Lite evaluates ARRAY and JSON predicates row by row (seconds at 100k rows), while a scalar
``acl_key in [...]`` is an index-speed lookup. The caller's filter lists the keys of every group set of its
tenant that shares a group with the caller; those sets are kept in the registry (``acl_sets``), filled at
ingest before any unit that uses them is written. A set the registry does not know is never visible: the
rule fails closed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from figvault.access import Principal
from figvault.retrieval.schema import (
    CREATED_UNKNOWN,
    F_ACL_KEY,
    F_CREATED,
    F_DOC,
    F_DOC_ID,
    F_KIND,
    F_TENANT,
    day_number,
)
from figvault.search_models import SearchFilters


def acl_key(groups: Iterable[str]) -> str:
    """The key of a group set: order and duplicates do not matter."""
    canonical = json.dumps(sorted(set(groups)), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def quote(value: str) -> str:
    """A Milvus string literal. Names come from users (file names, doc ids): escape, never splice raw."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def in_list(field: str, values: Iterable[str]) -> str:
    items = ", ".join(quote(v) for v in sorted(set(values)))
    return f"{field} in [{items}]"


def visible_acl_keys(principal: Principal, acl_sets: dict[str, list[str]]) -> list[str]:
    """Keys (of the principal's tenant's ``acl_sets``: key -> groups) whose groups meet the principal's."""
    mine = set(principal.groups)
    return sorted(key for key, groups in acl_sets.items() if mine.intersection(groups))


def request_clauses(filters: SearchFilters | None) -> list[str]:
    if filters is None:
        return []
    clauses: list[str] = []
    if filters.doc_ids:
        clauses.append(in_list(F_DOC_ID, filters.doc_ids))
    if filters.docs:
        clauses.append(in_list(F_DOC, filters.docs))
    if filters.kinds:
        clauses.append(in_list(F_KIND, [str(k) for k in filters.kinds]))
    if filters.after is not None or filters.before is not None:
        # A document without a creation date matches no date range.
        clauses.append(f"{F_CREATED} > {CREATED_UNKNOWN}")
    if filters.after is not None:
        clauses.append(f"{F_CREATED} >= {day_number(filters.after)}")
    if filters.before is not None:
        clauses.append(f"{F_CREATED} <= {day_number(filters.before)}")
    return clauses


def build_filter(
    principal: Principal, filters: SearchFilters | None, acl_sets: dict[str, list[str]] | None
) -> str | None:
    """The one expression for a search by ``principal``; None when the principal can see nothing at all.

    ``acl_sets`` are the principal's tenant's group sets (key -> groups); unrestricted principals need none.
    """
    clauses = [f"{F_TENANT} == {quote(principal.tenant)}"]
    if not principal.unrestricted:
        keys = visible_acl_keys(principal, acl_sets or {})
        if not keys:
            return None
        clauses.append(in_list(F_ACL_KEY, keys))
    clauses.extend(request_clauses(filters))
    return " and ".join(f"({c})" for c in clauses)
