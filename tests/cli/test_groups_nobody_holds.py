"""A group no user holds is said: ``ingest --groups finanse`` (one letter off ``finance``) and ``documents
set-groups ... --groups fiannce`` hid the documents from every user of the page and HTTP API, while the
command said "users in group(s) finanse will see these documents" (a first-hour walk, 2026-12-06)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app
from tests.generated_docs import figure_pdf

load_commands()

WARNING = "warning: no user of tenant 'default' is in group(s) "


def test_a_group_nobody_holds_is_warned_with_its_near_spelling(tmp_path: Path) -> None:
    base = ["--config", "offline", "--data-dir", str(tmp_path / "data")]
    report = figure_pdf(tmp_path / "report.pdf", seed=5, n_figures=1)

    def run(*args: str) -> str:
        result = CliRunner().invoke(app, [*base, *args])
        assert result.exit_code == 0, result.output
        return result.stderr

    # No users yet (the README's order: ingest, then add the users): nothing to say.
    assert WARNING not in run("ingest", str(report), "--groups", "finanse", "-q")
    run("users", "add", "ana", "--role", "reader", "--groups", "finance")
    said = run("ingest", str(report), "--groups", "finanse", "-q")
    assert f"{WARNING}finanse" in said and "Did you mean 'finance' for 'finanse'" in said
    said = run("documents", "set-groups", "report.pdf", "--groups", "fiannce,ops")
    assert "`figvault documents set-groups ID --groups finance,ops`" in said
    assert WARNING not in run("documents", "set-groups", "report.pdf", "--groups", "finance")
    # A group nobody holds and no near spelling: how to give a user the group.
    assert "until a user is (`figvault users set NAME --groups ...`)" in run(
        "documents", "set-groups", "report.pdf", "--groups", "legal"
    )


def test_no_warning_when_callers_sign_in_with_tokens(tmp_path: Path, monkeypatch) -> None:
    """With JWT sign-in, callers' groups come from their tokens: the users here are not all of them, and
    the warning said "no one" while token holders of the group saw the documents (a review, 2026-12-06)."""
    monkeypatch.setenv("FIGVAULT_SERVICE__JWT_SECRET", "x" * 40)
    base = ["--config", "offline", "--data-dir", str(tmp_path / "data")]
    report = figure_pdf(tmp_path / "report.pdf", seed=6, n_figures=1)
    CliRunner().invoke(app, [*base, "users", "add", "bot", "--role", "admin", "--groups", "ops"])
    result = CliRunner().invoke(app, [*base, "ingest", str(report), "--groups", "finance", "-q"])
    assert result.exit_code == 0, result.output
    assert WARNING not in result.stderr
