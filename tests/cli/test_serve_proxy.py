"""``figvault serve`` behind a reverse proxy: ``service.forwarded_allow_ips`` names the proxies whose
``X-Forwarded-For`` it believes. Before (up to 2026-12-05) uvicorn ran with ``proxy_headers=False`` and no
setting changed it: behind a proxy every caller had the proxy's address, so one guesser's 60 failed
sign-ins a minute (``service.auth_failures_per_address``) answered 429 to every JWT user for a minute
(seen through a loopback "proxy" on a Milvus-server + PostgreSQL walk, docs/deploy.md)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app
from figvault.commands.serve import proxy_options
from figvault.settings import load_settings
from tests.helpers.server import free_port

load_commands()


def _serve_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, dict[str, Any], str]:
    """What ``figvault serve`` hands uvicorn (the app itself is not built: no models)."""
    seen: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **options: seen.update(options))
    monkeypatch.setattr("figvault.service.app.create_app", lambda settings, on_ready=None: object())
    result = CliRunner().invoke(
        app, ["--config", "offline", "--data-dir", str(tmp_path), "serve", "--port", str(free_port())]
    )
    return result.exit_code, seen, result.output


def test_serve_reads_forwarded_headers_only_from_the_named_proxies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, options, output = _serve_options(tmp_path, monkeypatch)
    assert code == 0, output
    assert options["proxy_headers"] is False  # the default: no header is believed

    monkeypatch.setenv("FIGVAULT_SERVICE__FORWARDED_ALLOW_IPS", "127.0.0.1, 10.0.0.0/8")
    code, options, output = _serve_options(tmp_path, monkeypatch)
    assert code == 0, output
    assert "unknown setting" not in output.lower()
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == "127.0.0.1,10.0.0.0/8"


def test_a_proxy_given_by_name_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIGVAULT_SERVICE__FORWARDED_ALLOW_IPS", "proxy.internal")
    code, options, output = _serve_options(tmp_path, monkeypatch)
    assert code != 0 and not options
    assert "service.forwarded_allow_ips" in output and "'proxy.internal' is not an IP address" in output
    assert "Traceback" not in output


async def _echo_client(scope: dict, receive: Any, send: Any) -> None:
    """An ASGI app answering the client address and scheme uvicorn gave the request."""
    if scope["type"] != "http":
        return
    body = f"{scope['client'][0]} {scope['scheme']}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


def _seen_by_uvicorn(forwarded_allow_ips: str, headers: dict[str, str]) -> str:
    settings = load_settings("offline", data_dir=Path("/nonexistent"))
    settings.service.forwarded_allow_ips = forwarded_allow_ips
    port = free_port()
    config = uvicorn.Config(_echo_client, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    for name, value in proxy_options(settings).items():
        setattr(config, name, value)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        return httpx.get(f"http://127.0.0.1:{port}/", headers=headers, timeout=10).text
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_uvicorn_with_these_options_gives_the_callers_address_only_behind_a_named_proxy() -> None:
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    assert _seen_by_uvicorn("127.0.0.1", forwarded) == "203.0.113.9 https"
    assert _seen_by_uvicorn("", forwarded) == "127.0.0.1 http"  # not configured: headers ignored
    assert _seen_by_uvicorn("10.0.0.0/8", forwarded) == "127.0.0.1 http"  # loopback is not a named proxy


def test_serve_hands_uvicorn_the_proxys_path_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``service.root_path`` (a proxy serving figvault under https://intranet/figvault/) reaches uvicorn
    as its root_path, with a trailing slash dropped; no setting named it before 2026-12-05."""
    code, options, output = _serve_options(tmp_path, monkeypatch)
    assert code == 0 and options["root_path"] == "", output
    monkeypatch.setenv("FIGVAULT_SERVICE__ROOT_PATH", "/figvault/")
    code, options, output = _serve_options(tmp_path, monkeypatch)
    assert code == 0 and options["root_path"] == "/figvault", output
    for wrong in ("figvault", "https://intranet/figvault", "/fig vault", "/a//b"):
        monkeypatch.setenv("FIGVAULT_SERVICE__ROOT_PATH", wrong)
        code, options, output = _serve_options(tmp_path, monkeypatch)
        assert code != 0 and not options, wrong
        assert (
            "service.root_path" in output
            and "is not a URL path prefix" in output
            and "Traceback" not in output
        )
