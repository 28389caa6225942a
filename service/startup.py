"""What ``figvault serve`` says when it is ready: where the page is, what it serves, and what to do next.

An admin's first hour goes wrong silently in a few known ways (no user to sign in with, documents nobody
can see, the page reachable from this machine only): each gets one line here, with the command that fixes it.
"""

from __future__ import annotations

import shlex
import socket
import sys
from pathlib import Path
from typing import Any

from figvault.access import Role
from figvault.pipeline import users
from figvault.pipeline.document_counts import DocumentCounts, searchable
from figvault.pipeline.registry import DocumentRecord, DocumentRegistry, connect
from figvault.settings import Settings, config_argument
from figvault.storage import url_without_password

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
ANY_HOSTS = {"0.0.0.0", "::", ""}


def page_url(host: str, port: int) -> str:
    """The address to open: the machine's name when listening on every interface."""
    shown = socket.gethostname() if host in ANY_HOSTS else host
    return f"http://{f'[{shown}]' if ':' in shown else shown}:{port}/"


def cli_prefix(settings: Settings) -> str:
    """``figvault --config X --data-dir Y`` as this process was started, so a printed command runs as is."""
    typed = sys.argv[0] if sys.argv and Path(sys.argv[0]).name == "figvault" else "figvault"
    return shlex.join([typed, "--config", config_argument(settings), "--data-dir", str(settings.data_dir)])


def startup_lines(settings: Settings, engine: Any, host: str, port: int, warm_up: Any = None) -> list[str]:
    """The banner, one fact per line (the first is the page's address). ``warm_up``: the app's WarmUp."""
    lines = [f"figvault: the search page is at {page_url(host, port)} (HTTP API /v1, schema /openapi.json)"]
    if warm_up is not None and warm_up.error:
        lines.append(f"  NOT READY warm-up failed: {warm_up.error} (GET /readyz says why)")
    elif warm_up is not None and warm_up.seconds is not None:
        lines.append(f"  ready     encoders loaded and a first search run in {warm_up.seconds:.1f} s")
    if settings.service.forwarded_allow_ips:  # a proxy in front: the reach advice below would mislead
        proxies = settings.service.forwarded_allow_ips
        lines.append(f"  proxy     callers' addresses read from X-Forwarded-For sent by {proxies}")
    elif host in LOCAL_HOSTS:
        lines.append("  reach     this machine only; to let colleagues in, serve with --host 0.0.0.0")
    lines.append(f"  profile   {settings.profile} (config {type(settings).config_path})")
    lines.append(f"  store     {_store_line(settings, engine)}")
    lines.append(f"  serving   {_serving_line(engine)}")
    lines.extend(_version_lines(settings, engine))
    lines.append(f"  rerank    {_rerank_note(settings)}")
    conn = connect(settings)
    try:
        lines.extend(_shared_lines(settings, conn.url))
        lines.extend(_people_lines(settings, conn))
    finally:
        conn.close()
    lines.extend(_access_lines(settings))
    return lines


def _shared_lines(settings: Settings, registry_url: str) -> list[str]:
    """Where the registry and the files are, when not in the data folder (several replicas share them:
    docs/deploy.md); passwords hidden."""
    out = []
    if settings.registry.url:
        out.append(f"  registry  {registry_url}")
    if settings.storage.url:
        out.append(f"  files     {url_without_password(settings.storage.url)}")
    return out


def _access_lines(settings: Settings) -> list[str]:
    """Which credentials sign in, and who reads /metrics (closed by default: a scraper then gets 401)."""
    return [f"  sign-in   API keys; {_jwt_note(settings)}", f"  metrics   {_metrics_note(settings)}"]


def _jwt_note(settings: Settings) -> str:
    service = settings.service
    keys = [
        name + (f" + {len(more)} more ({', '.join(more)})" if more else "")
        for name, value, more in (
            ("shared secret", service.jwt_secret, list(service.jwt_additional_secrets)),
            ("public key", service.jwt_public_key, list(service.jwt_additional_public_keys)),
        )
        if value or more
    ]
    if not keys:
        return "no JWT (service.jwt_secret, service.jwt_public_key unset)"
    issuer, audience = service.jwt_issuer or "any", service.jwt_audience or "none"
    return f"JWT ({' and '.join(keys)}, issuer {issuer}, audience {audience})"


def _metrics_note(settings: Settings) -> str:
    service = settings.service
    if not service.metrics_require_auth:
        return "open to anyone who reaches the port (service.metrics_require_auth = false)"
    admins = ", and tenant admins (service.tenant_admin_metrics)" if service.tenant_admin_metrics else ""
    if service.metrics_token:
        return f"for the scrape token (service.metrics_token){admins}"
    return f"no scrape token (service.metrics_token unset): no scraper reads /metrics{admins}"


def _store_line(settings: Settings, engine: Any) -> str:
    store = engine.store
    if settings.store.uri:
        return f"Milvus server {settings.store.uri} ({store.capabilities.server_version})"
    return f"Milvus Lite (embedded) at {store.uri}"


def _serving_line(engine: Any) -> str:
    store = engine.store
    collection = store.served_collection()
    if collection is None:
        return "nothing yet: add documents with `figvault ingest PATH --groups a,b` (or upload on the page)"
    return f"collection {collection} through alias {store.alias}: {store.count(collection)} units"


def _version_lines(settings: Settings, engine: Any) -> list[str]:
    """A store of another embedding_version than configured is served with its recorded encoders: say so,
    with what changed, and how to re-encode while this process holds the store (the CLI's `figvault
    reencode` cannot then; the log's warning said only "run the re-encode")."""
    from figvault.retrieval.served_encoders import changed_encoder_settings, recorded_encoder_settings

    store = engine.store
    collection = store.served_collection()
    configured = engine.encoders.embedding_version
    served = store.layout_of(collection).embedding_version if collection is not None else configured
    if served == configured:
        return []
    changed = ", ".join(changed_encoder_settings(settings, recorded_encoder_settings(store, collection)))
    if settings.service.reencode_on_start:  # it said to set what was set, while the job was queued
        how = (
            "            re-encoding now (service.reencode_on_start): the alias switches when the job ends"
            " (`figvault jobs list`); search goes on meanwhile"
        )
    else:
        by_admin = ", an admin's POST /v1/jobs/reencode" if settings.service.tenant_admin_reencode else ""
        how = (
            "            to switch: serve with service.reencode_on_start = true"
            f" (FIGVAULT_SERVICE__REENCODE_ON_START=true){by_admin}, or {_reencode_how(settings)};"
            " search goes on meanwhile"
        )
    return [
        f"  version   serves {served} with the encoders it was written with; configured {configured}"
        + (f" ({changed})" if changed else ""),
        how,
    ]


def _reencode_how(settings: Settings) -> str:
    """The CLI re-encode beside serve: Milvus Lite serves its folder from one process, a server does not."""
    if settings.store.uri:
        return "run `figvault reencode` with the new settings (the Milvus server lets it run beside serve)"
    return "stop serve and run `figvault reencode`"


def _rerank_note(settings: Settings) -> str:
    try:
        from figvault.encoders.reranker import RerankAsk, resolve_rerank
    except ImportError as exc:
        return f"off: reranker unavailable ({exc})"
    # serve has no --rerank flag (the CLI search's way, which the note names by default): a search asks.
    ask = RerankAsk('"rerank": true in a search', '"rerank": false in a search')
    return resolve_rerank(settings, None, ask)[1]


def _people_lines(settings: Settings, conn: Any) -> list[str]:
    """Documents nobody can see, and the user to create when there is none."""
    records = DocumentRegistry(conn).list()
    prefix = cli_prefix(settings)
    out = _documents_lines(records, prefix, embedded=not settings.store.uri)
    users.ensure_schema(conn)
    active = [u for u in users.list_users(conn) if u.active]
    if active:
        admins = sum(1 for u in active if u.role == Role.ADMIN)
        out.append(f"  users     {len(active)} with an API key ({admins} admin)")
        if not settings.service.jwt_sign_in and (unheld := _unheld(records, active)):
            out.append(
                f"            {unheld} of the documents have groups none of these users is in (a mistyped"
                f" group?): {prefix} documents list, then {prefix} documents set-groups ID --groups a,b"
            )
        return out
    # Suggest the groups the default tenant's documents have, so the admin sees them at once.
    groups = ",".join(sorted({g for r in records if r.tenant == "default" for g in r.groups})) or "staff"
    out.append("  users     none yet, so nobody can sign in; create an admin (it prints the key to paste):")
    out.append(f"            {prefix} users add admin --role admin --groups {groups}")
    return out


def _unheld(records: list[DocumentRecord], active: list[Any]) -> int:
    """Searchable documents with groups, of a tenant with users, none of whom is in any of those groups:
    shown to no one, and not counted as "no groups" (``ingest --groups finanse``)."""
    held: dict[str, set[str]] = {}
    for user in active:
        held.setdefault(user.tenant, set()).update(user.groups)
    return sum(
        1
        for r in records
        if searchable(r) and r.groups and r.tenant in held and not held[r.tenant] & set(r.groups)
    )


def _documents_lines(records: list[DocumentRecord], prefix: str, *, embedded: bool) -> list[str]:
    """The searchable documents per tenant, those nobody can see, and the failed ones apart (they were
    counted as documents: "documents 4" for 2 a search could find)."""
    failed = DocumentCounts.of(records).failed_note(prefix)
    records = [r for r in records if searchable(r)]
    per_tenant: dict[str, int] = {}
    for r in records:
        per_tenant[r.tenant] = per_tenant.get(r.tenant, 0) + 1
    hidden = sum(1 for r in records if not r.groups)
    where = "".join(f", {n} in tenant {t}" for t, n in per_tenant.items())
    out = [f"  documents {len(records)}{where}; {hidden} visible to no one (no groups){failed}"]
    if hidden:
        # Milvus Lite serves its folder from this process only: the CLI rewrite waits for serve to stop.
        when = " (embedded store: with this server stopped)" if embedded else ""
        out.append(f"            give them groups on the page (Admin tab), or{when}:")
        out.append(f"            {prefix} documents set-groups ID --groups a,b")
        out.append(f"            (IDs and groups: {prefix} documents list)")
    return out
