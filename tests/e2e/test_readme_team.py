"""The README's "Share it with your team" commands, run exactly as written, against a real ``figvault serve``.

The commands are parsed out of the README section (so the two cannot drift) and each line runs in bash from a
folder that looks like a checkout: ``.venv`` (a link to this interpreter's environment) and ``./decks`` (two
generated PDFs). Only the environment differs from a person's shell: ``FIGVAULT_DATA_DIR`` (a temp folder),
``FIGVAULT_SERVICE__PORT`` (a free loopback port) and one extraction worker. Then the reader signs in with
the key their ``users add`` printed: over HTTP, and on the page in headless Chromium when it is installed.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.generated_docs import figure_pdf
from tests.helpers.server import free_port, server_env, wait_ready

REPO = Path(__file__).resolve().parents[2]
SECTION = "## Share it with your team"
STARTUP_TIMEOUT_S = 120
CHROMIUM = Path("/usr/bin/chromium")


def readme_commands() -> list[str]:
    """The lines of the section's first bash block, without comments, in order."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block is not None, f"no bash block under {SECTION!r} in README.md"
    lines = [re.sub(r"\s+#.*$", "", line).strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line]


@dataclass
class Team:
    url: str
    """The page's address, as the server printed it."""
    keys: dict[str, str]
    """user name -> the API key its ``users add`` printed"""
    port: int
    banner: str
    ingest_output: str
    cli: list[str]
    """The README's program and options, for commands the README leaves to the reader."""
    env: dict[str, str]


def wait_for_page(proc: subprocess.Popen, log: Path) -> str:
    """The page's address as serve printed it, once /readyz there answers 200."""

    def printed() -> str | None:
        found = re.search(r"the search page is at (http://\S+)", log.read_text())
        return found.group(1) if found else None

    return wait_ready(printed, proc, log.read_text, within_s=STARTUP_TIMEOUT_S, what="serve")


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    venv = Path(sys.prefix)
    if not (venv / "bin" / "figvault").exists():
        pytest.skip(f"{venv}/bin/figvault is missing: the README's commands need the installed venv")
    work = tmp_path_factory.mktemp("team")
    (work / ".venv").symlink_to(venv)
    (work / "decks").mkdir()
    figure_pdf(work / "decks" / "q3-review.pdf", seed=71)
    figure_pdf(work / "decks" / "ops-report.pdf", seed=72)
    port = free_port()
    env = server_env(
        FIGVAULT_DATA_DIR=str(work / "data"),
        FIGVAULT_SERVICE__PORT=str(port),
        FIGVAULT_EXTRACT__WORKERS="1",  # two small PDFs: a process pool costs more than it saves
    )
    commands = readme_commands()
    assignments = [c for c in commands if re.fullmatch(r"\w+=\S+", c)]
    steps = [c for c in commands if c not in assignments]
    assert steps and " serve" in steps[-1], f"the section should end by serving: {steps}"
    prelude = "set -e\n" + "\n".join(assignments) + "\n"

    keys: dict[str, str] = {}
    ingest_output = ""
    for step in steps[:-1]:
        done = subprocess.run(
            ["bash", "-c", prelude + step], cwd=work, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"{step}\n{done.stderr[-3000:]}"
        added = re.search(r"users add (\S+)", step)
        if added:
            keys[added.group(1)] = done.stdout.strip()
        if " ingest " in step:
            ingest_output = done.stdout + done.stderr
    log = work / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["bash", "-c", prelude + "exec " + steps[-1]],
            cwd=work,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = wait_for_page(proc, log)
        cli = [str(work / ".venv" / "bin" / "figvault"), "--config", "offline"]
        yield Team(url, keys, port, log.read_text(), ingest_output, cli, env)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_the_readme_commands_bring_colleagues_to_searching(team: Team) -> None:
    assert "access: users in group(s) finance will see these documents" in team.ingest_output
    assert "2 new" in team.ingest_output
    assert set(team.keys) == {"ana", "bob"} and all(k.startswith("fvk_") for k in team.keys.values())
    assert team.url == f"http://127.0.0.1:{team.port}/"  # the default host, the port from the environment
    assert re.search(r"serving   collection \S+ through alias figvault_units: 4 units", team.banner)
    assert "0 visible to no one" in team.banner and "users     2 with an API key (1 admin)" in team.banner

    headers = {"Authorization": f"Bearer {team.keys['bob']}"}
    me = httpx.get(team.url + "v1/me", headers=headers, timeout=30).json()
    assert (me["user"], me["groups"], me["roles"]) == ("bob", ["finance"], ["reader"])
    found = httpx.post(
        team.url + "v1/search", json={"query": "figure in report 71"}, headers=headers, timeout=60
    ).json()
    assert {r["doc"] for r in found["results"]} == {"q3-review.pdf", "ops-report.pdf"}
    assert found["results"][0]["doc"] == "q3-review.pdf" and found["visible_documents"] is None


@pytest.mark.browser
def test_on_the_page_colleagues_search_and_the_admin_regroups(team: Team) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")
    carl = subprocess.run(  # a colleague whose group has no documents yet
        [*team.cli, "users", "add", "carl", "--role", "reader", "--groups", "hr"],
        env=team.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.strip()
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.set_default_timeout(60_000)
            sign_in(page, team.url, team.keys["bob"])
            assert page.inner_text("[data-testid=whoami]").startswith("bob · reader · finance")
            page.get_by_label("Question").fill("figure in report 72")
            page.keyboard.press("Enter")
            page.wait_for_selector("#results .card")
            assert "ops-report.pdf" in page.locator("#results .card").first.inner_text()
            assert page.locator("#no-access").is_hidden()

            sign_in(page, team.url, carl)
            page.wait_for_selector("#no-access:not([hidden])")
            assert page.inner_text("#no-access").startswith("You can see no documents yet: your groups (hr)")

            sign_in(page, team.url, team.keys["ana"])
            page.locator("button[data-tab=admin]").click()
            row = page.locator('#access-table form[data-doc-name="ops-report.pdf"]')
            row.locator("input").fill("hr")
            row.locator("button").click()
            page.wait_for_function("() => document.querySelector('#access-status').textContent.includes('→')")
            assert page.inner_text("#access-status") == "ops-report.pdf: groups finance → hr."
        finally:
            browser.close()
    for user, docs in ((team.keys["bob"], {"q3-review.pdf"}), (carl, {"ops-report.pdf"})):
        found = httpx.post(
            team.url + "v1/search",
            json={"query": "figure in report"},
            headers={"Authorization": f"Bearer {user}"},
            timeout=60,
        ).json()
        assert {r["doc"] for r in found["results"]} == docs


def sign_in(page: object, url: str, key: str) -> None:
    page.goto(url)  # a new page load: the previous user's session is gone
    page.evaluate("() => sessionStorage.clear()")
    page.goto(url)
    page.get_by_label("API key or JWT").fill(key)
    page.keyboard.press("Enter")
    page.wait_for_selector("#whoami:not([hidden])")
