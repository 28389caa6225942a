"""Filter expressions: the caller's tenant and groups plus the request's filters, as one Milvus expression.

Every unit carries its ``groups`` array and a scalar ``acl_key`` (a hash of its sorted group set). The
group sets are kept in the registry (``acl_sets``), filled at ingest before any unit that uses them is
written. The access clause takes one of two forms, whichever the store evaluates fast; both select exactly
the units of the caller's tenant that share a group with the caller:

- ``acl_key`` (Milvus Lite): ``acl_key in [...]`` lists the key of every registered set of the tenant that
  meets the caller's groups. Lite evaluates ARRAY predicates row by row in Python (seconds at 100k rows),
  a scalar ``in`` quickly. A set the registry does not know is never visible: the rule fails closed.
- ``groups`` (a Milvus server): ``array_contains_any(groups, [...])`` with the caller's groups. A server
  evaluates it natively, while it parses a long ``in`` list on every query: 500 visible sets make an
  18 KB expression that cost 11 ms per search on 2.3.5, against 4 ms for the array predicate. Rows are
  still held to the registered sets when they are fetched (``SearchEngine.materialize``, ``get_unit``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Literal

from figvault.access import Principal
from figvault.retrieval.schema import (
    CREATED_UNKNOWN,
    F_ACL_KEY,
    F_ASPECT,
    F_CREATED,
    F_DOC,
    F_DOC_ID,
    F_GROUPS,
    F_HEIGHT,
    F_KIND,
    F_PAGE,
    F_TAGS,
    F_TENANT,
    F_WIDTH,
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
    return clauses + shape_clauses(filters)


def shape_clauses(filters: SearchFilters) -> list[str]:
    """Tags, pages, pixel size and aspect: plain comparisons and ``array_contains_any``, which Milvus Lite
    and a 2.3 server evaluate alike (tests/retrieval/test_filters.py runs the same cases on both)."""
    clauses: list[str] = []
    if filters.tags:
        items = ", ".join(quote(t) for t in filters.tags)
        clauses.append(f"array_contains_any({F_TAGS}, [{items}])")
    if filters.pages is not None:
        first, last = filters.pages
        clauses.append(f"{F_PAGE} >= {first} and {F_PAGE} <= {last}")
    for field, low, high in (
        (F_WIDTH, filters.min_width, filters.max_width),
        (F_HEIGHT, filters.min_height, filters.max_height),
    ):
        if low is not None:
            clauses.append(f"{field} >= {low}")
        if high is not None:
            clauses.append(f"{field} <= {high}")
    low_ratio, high_ratio = filters.aspect_range()
    # Ratios as float literals with enough digits; the stored aspect is a FLOAT (32 bit): compare with a
    # margin of one part in 10^6 so a 6:5 figure is square whichever side of 1.2 its float lands on.
    if low_ratio is not None:
        clauses.append(f"{F_ASPECT} >= {low_ratio * (1 - 1e-6):.9g}")
    elif high_ratio is not None:  # a unit of unknown size (aspect 0) has no shape: it is never portrait
        clauses.append(f"{F_ASPECT} > 0")
    if high_ratio is not None:
        clauses.append(f"{F_ASPECT} <= {high_ratio * (1 + 1e-6):.9g}")
    return clauses


def request_expression(filters: SearchFilters | None) -> str:
    """The request's own clauses as one expression ("" without filters): the part of ``build_filter``'s
    expression that is not access, for the lexical channel, which applies access itself."""
    return " and ".join(f"({c})" for c in request_clauses(filters))


def filtered_fields(filters: SearchFilters | None) -> set[str]:
    """The optional row fields (``schema.OPTIONAL_FIELDS``) the request's filters read."""
    if filters is None:
        return set()
    fields = {F_TAGS} if filters.tags else set()
    if filters.aspect_range() != (None, None):
        fields.add(F_ASPECT)
    return fields


AccessForm = Literal["acl_key", "groups"]


def build_filter(
    principal: Principal,
    filters: SearchFilters | None,
    acl_sets: dict[str, list[str]] | None,
    *,
    form: AccessForm = "acl_key",
    visible: list[str] | None = None,
) -> str | None:
    """The one expression for a search by ``principal``; None when the principal can see nothing at all.

    ``acl_sets`` are the principal's tenant's group sets (key -> groups); unrestricted principals need none.
    ``form``: how the access clause is written (see the module docstring); the units it selects are the same.
    ``visible``: ``visible_acl_keys(principal, acl_sets)`` when the caller has it already.
    """
    clauses = [f"{F_TENANT} == {quote(principal.tenant)}"]
    if not principal.unrestricted:
        sets = acl_sets or {}
        keys = visible if visible is not None else visible_acl_keys(principal, sets)
        if not keys:
            return None
        if form == "groups":
            # Only the caller's groups that some registered set has: the others belong to no known set.
            mine = set(principal.groups)
            known = {g for k in keys for g in sets[k] if g in mine}
            items = ", ".join(quote(g) for g in sorted(known))
            clauses.append(f"array_contains_any({F_GROUPS}, [{items}])")
        else:
            clauses.append(in_list(F_ACL_KEY, keys))
    clauses.extend(request_clauses(filters))
    return " and ".join(f"({c})" for c in clauses)
