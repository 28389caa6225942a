"""The service once through a real uvicorn process on loopback: start, wait for /healthz, query, stop."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from figvault.access import Role
from figvault.pipeline import users
from tests.generated_docs import figure_pdf
from tests.helpers.child import run_bounded
from tests.helpers.server import free_port, server_env, stop, wait_ready


def figvault_cli(data_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "figvault", "--config", "offline", "--data-dir", str(data_dir), *args]


@dataclass
class Served:
    base: str
    output: str = ""
    """What the server printed, once it has stopped."""


@contextmanager
def served(data_dir: Path, env: dict[str, str], ready_within_s: float = 120) -> Iterator[Served]:
    """A real ``figvault serve`` on a free loopback port, ready; stopped (and its output kept) on exit."""
    port = free_port()
    process = subprocess.Popen(
        figvault_cli(data_dir, "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    server = Served(base=f"http://127.0.0.1:{port}")

    def output() -> str:  # the pipe is read to its end only once the server has exited
        done = process.poll() is not None and process.stdout is not None
        return process.stdout.read().decode(errors="replace") if done else ""

    try:
        wait_ready(server.base, process, output, within_s=ready_within_s)
        yield server
    finally:
        stop(process)
        server.output = process.stdout.read().decode(errors="replace") if process.stdout else ""
        if process.stdout:
            process.stdout.close()


def test_serve_over_loopback(tmp_path: Path) -> None:
    scrape = "scrape-token-for-the-loopback-test-0123456789"
    env = server_env() | {"FIGVAULT_SERVICE__METRICS_TOKEN": scrape}
    data_dir = tmp_path / "data"
    pdf = figure_pdf(tmp_path / "river.pdf", seed=7, n_figures=1)
    # Ingest in a child process too: Milvus Lite serves one process per data folder.
    # Bounded in CPU seconds: at load 26-33 this ingest was not done within 180 s of wall time.
    ingest = run_bounded(
        figvault_cli(data_dir, "ingest", str(pdf), "--groups", "hydro", "--tenant", "acme", "--quiet"),
        cpu_s=180,
        env=env,
    )
    assert ingest.returncode == 0, ingest.stderr
    conn = sqlite3.connect(data_dir / "registry.sqlite3")
    users.ensure_schema(conn)
    _, key = users.add_user(conn, "river", Role.READER, ["hydro"], "acme")
    conn.close()

    with served(data_dir, env) as server, httpx.Client(base_url=server.base, timeout=30) as client:
        assert client.get("/readyz").json()["status"] == "ready"
        assert client.post("/v1/search", json={"query": "river"}).status_code == 401
        headers = {"Authorization": f"Bearer {key}"}
        response = client.post("/v1/search", json={"query": "figure in report 7"}, headers=headers)
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert len(results) == 1 and results[0]["doc"] == "river.pdf"
        image = client.get(results[0]["image_url"], headers=headers)
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
        assert client.get("/metrics").status_code == 401  # closed by default
        scraped = client.get("/metrics", headers={"Authorization": f"Bearer {scrape}"})
        assert 'route="/v1/search"' in scraped.text
        # A wrong secret for a real key id: refused, and the attempt is logged without the secret.
        wrong = key[:21] + "W" * 43
        bad = client.get("/v1/me", headers={"Authorization": f"Bearer {wrong}"})
        assert bad.status_code == 401
        assert client.get("/docs").status_code == 404  # off by default (service.api_docs)
    output = server.output
    assert "authentication failed from 127.0.0.1: wrong secret for API key id" in output, output[-2000:]
    assert "W" * 43 not in output and key not in output
