"""Who sees an ingest's documents: ``--groups``, else ``ingest.default_groups`` for new documents, while
documents already indexed keep theirs; and the one line ``figvault ingest`` prints about it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app
from figvault.commands.ingest import who_sees_line
from figvault.pipeline.ingest_pipeline import INDEXED, SKIPPED, IngestRunner
from figvault.pipeline.registry import DocumentRegistry
from figvault.settings import Settings, load_settings
from tests.generated_docs import figure_pdf


def test_without_groups_new_documents_get_the_default_and_known_ones_keep_theirs(
    settings: Settings, tmp_path: Path
) -> None:
    old = figure_pdf(tmp_path / "old.pdf", seed=1, n_figures=1)
    new = figure_pdf(tmp_path / "new.pdf", seed=2, n_figures=1)
    runner = IngestRunner(settings)
    first = runner.run([old], groups=["finance"], tenant="default", progress=False)
    assert [d.status for d in first.documents] == [INDEXED]

    settings.ingest.default_groups = ["staff"]
    again = runner.run([old, new], groups=None, tenant="default", progress=False)
    # The known document is not re-ingested with other groups: a routine re-run keeps what was set.
    assert {Path(d.path).name: d.status for d in again.documents} == {"old.pdf": SKIPPED, "new.pdf": INDEXED}
    registry = DocumentRegistry.open(settings)
    ids = {Path(d.path).name: d.doc_id for d in again.documents}
    assert registry.get("default", ids["old.pdf"]).groups == ["finance"]
    assert registry.get("default", ids["new.pdf"]).groups == ["staff"]
    expr = f'doc_id == "{ids["new.pdf"]}"'
    rows = runner.store.query_rows(runner.store.served_collection(), expr, ["groups"])
    store_groups = {tuple(r["groups"]) for r in rows}
    assert store_groups == {("staff",)}


def test_the_line_says_who_sees_the_documents() -> None:
    line, warning = who_sees_line(None, [])
    assert warning and "visible to no user" in line and "--groups a,b" in line
    assert "FIGVAULT_INGEST__DEFAULT_GROUPS" in line and "figvault documents set-groups ID" in line
    line, warning = who_sees_line(None, ["staff"])
    assert not warning and "ingest.default_groups (staff)" in line
    line, warning = who_sees_line(["a", "b"], ["staff"])
    assert not warning and "group(s) a,b" in line
    assert who_sees_line([], ["staff"])[1]  # --groups "" is no groups at all


def test_ingest_without_groups_warns_even_when_quiet(tmp_path: Path) -> None:
    load_commands()
    base = ["--config", "offline", "--data-dir", str(tmp_path / "data")]
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7\nnot a pdf body")
    result = CliRunner().invoke(app, [*base, "ingest", str(tmp_path / "broken.pdf"), "--quiet"])
    assert result.exit_code == 1  # the file is broken; the warning came first
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: no groups")]
    assert len(warnings) == 1, result.stderr
    bad = CliRunner().invoke(app, [*base, "ingest", str(tmp_path / "broken.pdf"), "--groups", "a b"])
    assert bad.exit_code == 2 and "invalid group name 'a b'" in bad.stderr


def test_ingest_names_the_documents_no_one_can_see_and_a_rerun_does_not_cry_wolf(tmp_path: Path) -> None:
    """Without --groups and ingest.default_groups, ``figvault ingest`` warned that "these documents will be
    visible to no user" on every run, a re-run of a folder whose documents all have groups included, and
    never said which documents went without (``documents set-groups`` wants their ids). Now the warning
    before speaks of new documents only, and one line after names each document of the ingest left
    without groups, by name and id."""
    load_commands()
    (tmp_path / "docs").mkdir()
    figure_pdf(tmp_path / "docs" / "plan.pdf", seed=3, n_figures=1)
    base = ["--config", "offline", "--data-dir", str(tmp_path / "data")]

    def ingest(*args: str) -> str:
        result = CliRunner().invoke(app, [*base, "ingest", str(tmp_path / "docs"), "-q", *args])
        assert result.exit_code == 0, result.output
        return result.stderr

    first = ingest()
    [doc] = DocumentRegistry.open(load_settings("offline", data_dir=tmp_path / "data")).list("default")
    assert f"1 document of this ingest is visible to no one (no groups): plan.pdf ({doc.doc_id})" in first
    assert "new documents will be visible to no user" in first and "these documents" not in first
    CliRunner().invoke(app, [*base, "documents", "set-groups", doc.doc_id, "--groups", "eng"])
    again = ingest()  # unchanged, and it has groups now: only the general line about new documents
    assert "visible to no one" not in again and "these documents" not in again


def test_the_warning_for_many_documents_without_groups_gives_one_command_for_all(tmp_path: Path) -> None:
    """``documents set-groups`` takes one document: for a folder of 200 it was 200 commands. The warning now
    also says the same ingest with ``--groups`` gives them all theirs, and that does."""
    load_commands()
    (tmp_path / "docs").mkdir()
    for seed in (4, 5):
        figure_pdf(tmp_path / "docs" / f"plan-{seed}.pdf", seed=seed, n_figures=1)
    base = ["--config", "offline", "--data-dir", str(tmp_path / "data")]
    first = CliRunner().invoke(app, [*base, "ingest", str(tmp_path / "docs"), "-q"])
    assert first.exit_code == 0, first.output
    [line] = [w for w in first.stderr.splitlines() if "of this ingest are visible to no one" in w]
    assert line.endswith(
        "or all of them: this ingest again with --groups a,b (in place: nothing is read again)"
    ), line
    again = CliRunner().invoke(app, [*base, "ingest", str(tmp_path / "docs"), "-q", "--groups", "eng"])
    assert again.exit_code == 0 and "visible to no one" not in again.stderr, again.output
    records = DocumentRegistry.open(load_settings("offline", data_dir=tmp_path / "data")).list("default")
    assert sorted(r.groups for r in records) == [["eng"], ["eng"]]
    assert "2 given other groups or tags in place" in again.stdout


@pytest.mark.parametrize("empty", ["", " ", ",", " , "])
def test_an_empty_groups_value_is_refused(tmp_path: Path, empty: str) -> None:
    """``--groups "$G"`` with ``G`` unset gave the folder's documents no groups at all (visible to no one,
    where ``documents set-groups`` refuses an empty set); now refused before anything is read or recorded."""
    load_commands()
    (tmp_path / "docs").mkdir()
    figure_pdf(tmp_path / "docs" / "plan.pdf", seed=6, n_figures=1)
    base = ["--config", "offline", "--data-dir", str(tmp_path / "data")]
    first = CliRunner().invoke(app, [*base, "ingest", str(tmp_path / "docs"), "-q", "--groups", "eng"])
    assert first.exit_code == 0, first.output
    emptied = CliRunner().invoke(app, [*base, "ingest", str(tmp_path / "docs"), "-q", "--groups", empty])
    assert emptied.exit_code == 2 and "error: --groups is empty: give at least one group" in emptied.stderr
    records = DocumentRegistry.open(load_settings("offline", data_dir=tmp_path / "data")).list("default")
    assert [r.groups for r in records] == [["eng"]]


def test_a_new_tenant_beside_others_is_a_warning(tmp_path: Path) -> None:
    """``--tenant Default`` beside ``default`` made a tenant of its own without a word: its documents are
    seen by no user of ``default``. The first tenant of a data folder, and a known one, say nothing."""
    load_commands()
    (tmp_path / "docs").mkdir()
    figure_pdf(tmp_path / "docs" / "plan.pdf", seed=7, n_figures=1)
    base = ["--config", "offline", "--data-dir", str(tmp_path / "data"), "ingest", str(tmp_path / "docs")]
    first = CliRunner().invoke(app, [*base, "-q", "--groups", "eng"])
    assert first.exit_code == 0 and "is new" not in first.stderr, first.output
    typo = CliRunner().invoke(app, [*base, "-q", "--groups", "eng", "--tenant", "Default"])
    assert typo.exit_code == 0, typo.output
    assert (
        "warning: tenant 'Default' is new: no document or user has it (tenants here: default); its documents"
        " are seen only by users of tenant 'Default'; did you mean --tenant default?"
    ) in typo.stderr
    again = CliRunner().invoke(app, [*base, "-q", "--groups", "eng", "--tenant", "Default"])
    assert "is new" not in again.stderr  # it has a document now


def test_an_ingest_that_replaces_groups_names_those_left_out(tmp_path: Path) -> None:
    """``--groups`` replaces a stored document's groups: a second run with another group took the first
    group's access away, saying only "1 given other groups or tags in place" (a first-hour audit). Now each
    such document's warning names the groups left out; a group added says nothing."""
    load_commands()
    (tmp_path / "docs").mkdir()
    figure_pdf(tmp_path / "docs" / "plan.pdf", seed=7, n_figures=1)
    base = ["--config", "offline", "--data-dir", str(tmp_path / "data"), "ingest", str(tmp_path / "docs")]
    assert CliRunner().invoke(app, [*base, "--groups", "finance,eng"]).exit_code == 0
    added = CliRunner().invoke(app, [*base, "--groups", "finance,eng,hr"])
    assert added.exit_code == 0 and "no longer visible" not in added.stderr, added.output
    assert "1 given other groups or tags in place" in added.stdout
    moved = CliRunner().invoke(app, [*base, "--groups", "hr"])
    assert moved.exit_code == 0, moved.output
    assert "no longer visible to groups eng, finance: --groups replaces a document's groups" in moved.stderr
    figure_pdf(tmp_path / "docs" / "plan.pdf", seed=8, n_figures=1)  # a new version, and other groups
    replaced = CliRunner().invoke(app, [*base, "--groups", "finance"])
    assert replaced.exit_code == 0 and "1 replaced" in replaced.stdout, replaced.output
    assert "no longer visible to group hr: --groups replaces a document's groups" in replaced.stderr
    records = DocumentRegistry.open(load_settings("offline", data_dir=tmp_path / "data")).list("default")
    assert [r.groups for r in records] == [["finance"]]


def test_only_the_starter_of_a_job_reads_which_groups_it_took_away() -> None:
    """Over HTTP a job is seen by whoever shares one of its groups, and a document's groups are shown to a
    caller only where they are the caller's: the warning naming the groups left out goes to the starter."""
    from figvault.pipeline.ingest_pipeline import _groups_taken_away
    from figvault.pipeline.job_warnings import job_warnings
    from figvault.pipeline.jobs import Job, JobState, JobType

    [warning] = _groups_taken_away(["finance", "eng"], ["eng"])
    outcome = {"path": "/srv/drop/plan.pdf", "name": "plan.pdf", "doc_id": "doc_1", "warnings": [warning]}
    job = Job(id="j1", type=JobType.INGEST, state=JobState.SUCCEEDED, result={"documents": [outcome]})
    assert [w["warning"] for w in job_warnings(job, named=True)] == [warning]
    assert job_warnings(job, named=False) == []
    assert _groups_taken_away(["eng"], ["eng", "hr"]) == []
