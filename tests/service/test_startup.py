"""``figvault serve``'s start-up summary: the page's address and what is served, and the exact command that
creates the first user when there is none (run here as printed)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app
from figvault.retrieval.search import SearchEngine
from figvault.service.startup import page_url, startup_lines
from figvault.settings import load_settings


def test_an_empty_data_folder_says_what_to_do_first(tmp_path: Path) -> None:
    settings = load_settings("offline", data_dir=tmp_path / "data")
    engine = SearchEngine.from_settings(settings)  # models load lazily: nothing is encoded here
    lines = startup_lines(settings, engine, "127.0.0.1", 8123)
    text = "\n".join(lines)
    assert lines[0].startswith("figvault: the search page is at http://127.0.0.1:8123/ ")
    assert "this machine only; to let colleagues in, serve with --host 0.0.0.0" in text
    assert "profile   offline (config " in text and f"Milvus Lite (embedded) at {tmp_path}" in text
    assert "serving   nothing yet: add documents with `figvault ingest PATH --groups a,b`" in text
    # serve has no --rerank flag (its banner named it, a first-hour walk, 2026-12-05): a search asks for it.
    assert (
        "rerank    off: reranker.enabled = off (no local weights of Qwen/Qwen2-VL-2B-Instruct: set"
        ' reranker.model to a local directory, then "rerank": true in a search turns it on)'
    ) in text
    assert "documents 0; 0 visible to no one" in text

    [command] = [line.strip() for line in lines if "users add" in line]
    argv = shlex.split(command)
    assert argv[:5] == ["figvault", "--config", "offline", "--data-dir", str(settings.data_dir)]
    assert argv[5:] == ["users", "add", "admin", "--role", "admin", "--groups", "staff"]
    load_commands()
    created = CliRunner().invoke(app, argv[1:])  # the printed command, as printed
    assert created.exit_code == 0, created.output
    assert created.stdout.startswith("fvk_")
    assert "  users     1 with an API key (1 admin)" in startup_lines(settings, engine, "127.0.0.1", 8123)


def test_page_url_on_every_interface_names_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("socket.gethostname", lambda: "vault-host")
    assert page_url("0.0.0.0", 8000) == "http://vault-host:8000/"
    assert page_url("::1", 8000) == "http://[::1]:8000/"


def test_the_summary_says_whether_the_warm_up_worked(tmp_path: Path) -> None:
    from types import SimpleNamespace

    settings = load_settings("offline", data_dir=tmp_path / "data")
    engine = SearchEngine.from_settings(settings)
    warm = SimpleNamespace(error=None, seconds=4.25)
    assert "  ready     encoders loaded and a first search run in 4.2 s" in startup_lines(
        settings, engine, "127.0.0.1", 8000, warm
    )
    failed = SimpleNamespace(error="ModelUnavailableError: no weights", seconds=None)
    lines = startup_lines(settings, engine, "127.0.0.1", 8000, failed)
    assert lines[1] == "  NOT READY warm-up failed: ModelUnavailableError: no weights (GET /readyz says why)"


def test_documents_nobody_sees_get_the_fix(tmp_path: Path) -> None:
    from figvault.pipeline.registry import DocState, DocumentRecord, DocumentRegistry

    settings = load_settings("offline", data_dir=tmp_path / "data")
    registry = DocumentRegistry.open(settings)
    for doc_id, tenant, groups in (
        ("q3.pdf", "default", []),
        ("plan.pdf", "default", ["hr"]),
        ("x.pdf", "b", []),
    ):
        registry.put(
            DocumentRecord(doc_id=doc_id, tenant=tenant, name=doc_id, state=DocState.INDEXED, groups=groups)
        )
    lines = startup_lines(settings, SearchEngine.from_settings(settings), "0.0.0.0", 8000)
    text = "\n".join(lines)
    assert "documents 3, 1 in tenant b, 2 in tenant default; 2 visible to no one (no groups)" in text
    assert "give them groups on the page (Admin tab), or (embedded store: with this server stopped):" in text
    assert f"--data-dir {settings.data_dir} documents set-groups ID --groups a,b" in text
    assert "users add admin --role admin --groups hr" in text  # the groups the documents have
    assert "this machine only" not in text


def test_documents_in_groups_no_user_holds_are_said(tmp_path: Path) -> None:
    """``ingest --groups finanse``: the banner counted only documents without groups as visible to no one."""
    from figvault.access import Role
    from figvault.pipeline.registry import DocState, DocumentRecord, DocumentRegistry
    from figvault.pipeline.users import add_user

    settings = load_settings("offline", data_dir=tmp_path / "data")
    registry = DocumentRegistry.open(settings)
    for doc_id, groups in (
        ("q3.pdf", ["finance"]),
        ("typo.pdf", ["finanse"]),
        ("both.pdf", ["finanse", "ops"]),
    ):
        registry.put(
            DocumentRecord(
                doc_id=doc_id, tenant="default", name=doc_id, state=DocState.INDEXED, groups=groups
            )
        )
    add_user(registry.db, "ana", Role.READER, ["finance"], tenant="default")
    text = "\n".join(startup_lines(settings, SearchEngine.from_settings(settings), "127.0.0.1", 8000))
    assert "2 of the documents have groups none of these users is in (a mistyped group?)" in text


def test_failed_documents_are_not_counted_as_documents_but_said_apart(tmp_path: Path) -> None:
    """A folder of 2 good and 2 broken files read "documents 4" (the failed ones have records too): a user
    took 4 for documents a search finds. A failed replacement that keeps its older version still counts."""
    from figvault.pipeline.registry import DocState, DocumentRecord, DocumentRegistry

    settings = load_settings("offline", data_dir=tmp_path / "data")
    registry = DocumentRegistry.open(settings)
    for doc_id, state, units in (
        ("a.pdf", DocState.INDEXED, 3),
        ("text-only.pdf", DocState.INDEXED, 0),
        ("empty.pdf", DocState.FAILED, 0),
        ("secret.pdf", DocState.FAILED, 0),
        ("changed.pdf", DocState.FAILED, 2),  # its new version failed, the old one is still searched
    ):
        registry.put(
            DocumentRecord(
                doc_id=doc_id, tenant="default", name=doc_id, state=state, units=units, groups=["eng"]
            )
        )
    text = "\n".join(startup_lines(settings, SearchEngine.from_settings(settings), "127.0.0.1", 8000))
    prefix = f"figvault --config offline --data-dir {settings.data_dir}"
    expected = (
        "  documents 3, 3 in tenant default; 0 visible to no one (no groups), 3 failed:"
        f" see `{prefix} documents list --failed`"
    )
    assert expected in text.splitlines()


def test_a_store_of_another_version_says_what_changed_and_how_to_switch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Changed encoder settings: serve searches with the collection's recorded encoders, and only a log
    warning said "run the re-encode", which the CLI cannot while serve holds the store."""
    from tests.generated_docs import figure_pdf

    load_commands()
    data = tmp_path / "data"
    doc = figure_pdf(tmp_path / "report.pdf", seed=1)
    ingested = CliRunner().invoke(
        app, ["--config", "offline", "--data-dir", str(data), "ingest", str(doc), "-q"]
    )
    assert ingested.exit_code == 0, ingested.output
    settings = load_settings("offline", data_dir=data)
    same = startup_lines(settings, SearchEngine.from_settings(settings), "127.0.0.1", 8000)
    assert not any(line.startswith("  version") for line in same)
    monkeypatch.setenv("FIGVAULT_TEXT__PRECISION", "bf16")
    changed = load_settings("offline", data_dir=data)
    engine = SearchEngine.from_settings(changed)
    lines = startup_lines(changed, engine, "127.0.0.1", 8000)
    [i] = [n for n, line in enumerate(lines) if line.startswith("  version   serves v")]
    assert lines[i].endswith("(text.precision fp32 -> bf16)")
    assert "service.reencode_on_start = true" in lines[i + 1]
    assert "stop serve and run `figvault reencode`" in lines[i + 1]  # Lite: one process per folder
    # On a Milvus server the CLI re-encode runs beside serve (walked 2026-12-05); "stop serve" was said
    # whatever the store, and a replica set's operator would stop every replica for nothing.
    changed.store.uri = "http://milvus:19530"  # the wording only: the engine stays on its Lite store
    lines = startup_lines(changed, engine, "127.0.0.1", 8000)
    [switch] = [line for line in lines if "to switch:" in line]
    assert "stop serve" not in switch and "run `figvault reencode` with the new settings" in switch
    changed.service.tenant_admin_reencode = True
    [switch] = [line for line in startup_lines(changed, engine, "127.0.0.1", 8000) if "to switch:" in line]
    assert "an admin's POST /v1/jobs/reencode" in switch
    # Already set, the job queued: it said to set it (a read-only audit, 2026-12-07).
    changed.service.reencode_on_start = True
    lines = startup_lines(changed, engine, "127.0.0.1", 8000)
    assert not any("to switch:" in line for line in lines)
    assert any(line.strip().startswith("re-encoding now (service.reencode_on_start)") for line in lines)


def test_behind_a_named_proxy_the_summary_says_so_instead_of_the_reach_advice(tmp_path: Path) -> None:
    """Served on loopback behind a reverse proxy, "to let colleagues in, serve with --host 0.0.0.0" would
    send the operator around the proxy; the summary names the proxies whose forwarded headers it reads."""
    settings = load_settings("offline", data_dir=tmp_path / "data")
    settings.service.forwarded_allow_ips = "127.0.0.1"
    text = "\n".join(startup_lines(settings, SearchEngine.from_settings(settings), "127.0.0.1", 8000))
    assert "  proxy     callers' addresses read from X-Forwarded-For sent by 127.0.0.1" in text
    assert "--host 0.0.0.0" not in text


def test_the_summary_says_where_the_shared_registry_and_files_are_and_who_signs_in(tmp_path: Path) -> None:
    """An operator's replica (docs/deploy.md) said nothing of its registry, files, JWT or /metrics: a
    replica started without FIGVAULT_REGISTRY__URL, or without the scrape token, looked the same."""
    settings = load_settings("offline", data_dir=tmp_path / "data")
    engine = SearchEngine.from_settings(settings)
    plain = "\n".join(startup_lines(settings, engine, "127.0.0.1", 8000))
    assert "registry  " not in plain and "files     " not in plain
    assert "  sign-in   API keys; no JWT (service.jwt_secret, service.jwt_public_key unset)" in plain
    assert "  metrics   no scrape token (service.metrics_token unset): no scraper reads /metrics" in plain

    settings.registry.url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    settings.storage.url = "sftp://figvault:s3cret-pass@files.internal/figvault"
    settings.service.jwt_public_key = "/etc/figvault/idp.pem"
    settings.service.jwt_issuer = "https://idp.example"
    settings.service.metrics_token = "t" * 40
    text = "\n".join(startup_lines(settings, engine, "127.0.0.1", 8000))
    assert f"  registry  sqlite:///{tmp_path / 'shared.sqlite3'}" in text
    assert "  files     sftp://figvault:***@files.internal/figvault" in text and "s3cret" not in text
    assert "JWT (public key, issuer https://idp.example, audience none)" in text
    settings.service.jwt_additional_public_keys = {"idp-2027": "/etc/figvault/idp-2027.pem"}
    rotating = "\n".join(startup_lines(settings, engine, "127.0.0.1", 8000))
    assert "JWT (public key + 1 more (idp-2027), issuer https://idp.example" in rotating
    assert "  metrics   for the scrape token (service.metrics_token)" in text and "t" * 40 not in text
