"""The warning for groups no user holds: a mistyped ``--groups finanse`` hid the documents from every user
of the page and the HTTP API, and the command said "users in group(s) finanse will see these documents"
(a first-hour walk, 2026-12-06). ``users add`` already said "did you mean" for a user's groups."""

from __future__ import annotations

from figvault.settings import Settings


def no_holder_line(settings: Settings, tenant: str, groups: list[str] | None) -> str | None:
    """A warning when ``tenant`` has active users and none of them is in any of ``groups``: the documents
    given those groups are shown to no one. None while the tenant has no users yet (the README's order:
    ingest, then add the users), or when someone holds one of the groups."""
    from figvault.pipeline.registry import connect
    from figvault.pipeline.users import list_users
    from figvault.text_checks import GROUP_SPELLING_CUTOFF, meant_name

    if not groups:
        return None
    conn = connect(settings)
    try:
        users = [u for u in list_users(conn) if u.active and u.tenant == tenant]
    finally:
        conn.close()
    held = {group for user in users for group in user.groups}
    if not users or held & set(groups) or settings.service.jwt_sign_in:
        return None  # with JWT sign-in, callers' groups come from their tokens: none of them is known here
    meant = {given: meant_name(given, held, GROUP_SPELLING_CUTOFF) for given in groups}
    fixes = {given: m for given, m in meant.items() if m is not None and m != given}
    nobody = f"warning: no user of tenant {tenant!r} is in group(s) {','.join(groups)}: the page and HTTP API"
    if fixes:
        said = ", ".join(f"{m!r} for {given!r}" for given, m in fixes.items())
        fixed = ",".join(fixes.get(g, g) for g in groups)
        return (
            f"{nobody} show these documents to no one. Did you mean {said} (groups are exact)?"
            f" `figvault documents set-groups ID --groups {fixed}`"
        )
    return f"{nobody} show these documents to no one until a user is (`figvault users set NAME --groups ...`)"
