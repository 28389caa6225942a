"""``figvault ingest PATH... [--groups a,b] [--tags a,b] [--tenant T] [--doc-id ID] [--engine local|ray]
[--ray-address ADDR] [--prune]``: incremental.

It runs as a job record (``figvault jobs list`` shows it) in the foreground; killed, it can simply be run
again: documents already indexed with the same content hash are skipped (docs/jobs.md).
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from figvault.access import group_set
from figvault.commands import app, flag, split_csv, state
from figvault.commands._heartbeat import Heartbeat
from figvault.commands._inputs import check_inputs
from figvault.commands._log import failure_line, log_to_file
from figvault.commands._retrieval_cli import one_line_errors, quiet_store_logs
from figvault.commands._warnings import result_notes
from figvault.errors import INTERNAL
from figvault.settings import Settings
from figvault.text_checks import escaped

if TYPE_CHECKING:
    from figvault.pipeline.jobs import Job, JobStore


def _checked_groups(raw: str | None) -> list[str] | None:
    """The groups ``--groups`` gives (None: not given). An empty value is refused: ``--groups "$G"`` with
    ``G`` unset took every group from the folder's documents, which set-groups never does."""
    if raw is None:
        return None
    try:
        chosen = group_set(split_csv(raw) or [])
    except ValueError as exc:
        typer.echo(f"error: --groups: {exc}", err=True)
        raise typer.Exit(2) from None
    if not chosen:
        typer.echo(
            "error: --groups is empty: give at least one group, or leave --groups out (documents already"
            " indexed keep theirs, new ones get ingest.default_groups)",
            err=True,
        )
        raise typer.Exit(2)
    return chosen


def who_sees_line(groups: list[str] | None, default_groups: list[str]) -> tuple[str, bool]:
    """The one line that says who will see the documents of this ingest, and whether it is a warning."""
    change = "change it later with `figvault documents set-groups ID --groups a,b`"
    if groups:
        return f"access: users in group(s) {','.join(groups)} will see these documents; {change}", False
    if groups is None and default_groups:
        return (
            f"access: no --groups, so new documents get ingest.default_groups ({','.join(default_groups)})"
            f" and documents already indexed keep theirs; {change}",
            False,
        )
    # Without --groups only new documents go without: a routine re-run of a folder changes no one's access.
    which = "new documents" if groups is None else "these documents"
    kept = " (documents already indexed keep theirs)" if groups is None else ""
    return (
        f"warning: no groups: {which} will be visible to no user of the page or HTTP API{kept},"
        " only to `figvault search` here; give them groups with --groups a,b or the setting"
        f" ingest.default_groups (FIGVAULT_INGEST__DEFAULT_GROUPS), or {change}",
        True,
    )


def groupless_line(settings: Settings, tenant: str, outcomes: list[dict[str, Any]]) -> str | None:
    """After the ingest: the documents it wrote that no user can see (no groups), by name and id, since
    ``documents set-groups`` wants the id; None when every one has groups."""
    from figvault.pipeline.gone_files import SHOWN
    from figvault.pipeline.ingest_pipeline import INDEXED, REPLACED, UPDATED
    from figvault.pipeline.registry import DocumentRegistry

    registry = DocumentRegistry.open(settings)
    written = [o for o in outcomes if o.get("status") in (INDEXED, REPLACED, UPDATED) and o.get("doc_id")]
    records = [registry.get(tenant, str(o["doc_id"])) for o in written]
    alone = [r for r in records if r is not None and not r.groups]
    if not alone:
        return None
    n = len(alone)
    shown = ", ".join(f"{r.name} ({r.doc_id})" for r in alone[:SHOWN]) + (
        f", and {n - SHOWN} more" if n > SHOWN else ""
    )
    # set-groups takes one document; for a folder of them, the same ingest with --groups sets them all
    every = ", or all of them: this ingest again with --groups a,b (in place: nothing is read again)"
    every = every if n > 1 else ""
    return (
        f"warning: {n} document{'s' if n != 1 else ''} of this ingest {'are' if n != 1 else 'is'} visible"
        f" to no one (no groups): {shown}; give each its groups:"
        f" `figvault documents set-groups ID --groups a,b`{every}"
    )


def new_tenant_line(settings: Settings, tenant: str) -> str | None:
    """A warning when ``--tenant`` names a tenant that neither a document nor a user has while others
    exist: `--tenant Default` made a tenant apart from `default`, whose users see none of its documents,
    without a word."""
    from figvault.pipeline.registry import DocumentRegistry
    from figvault.pipeline.users import list_users
    from figvault.text_checks import meant_name

    registry = DocumentRegistry.open(settings)
    known = set(registry.tenants()) | {u.tenant for u in list_users(registry.conn) if u.active}
    if tenant in known or not known - {"demo"}:  # the first tenant of a data folder (the demo's apart)
        return None
    others = sorted(known)
    close = meant_name(tenant, others)
    meant = f"; did you mean --tenant {close}?" if close else ""
    return (
        f"warning: tenant {tenant!r} is new: no document or user has it (tenants here: {', '.join(others)});"
        f" its documents are seen only by users of tenant {tenant!r}{meant}"
    )


def _say_who_sees(settings: Settings, groups: list[str] | None, tenant: str, *, quiet: bool) -> None:
    from figvault.commands._group_holders import no_holder_line

    line, warning = who_sees_line(groups, settings.ingest.default_groups)
    if warning or not quiet:  # a warning shows even with --quiet
        typer.echo(line, err=True)
    if (nobody := no_holder_line(settings, tenant, groups)) is not None:
        typer.echo(nobody, err=True)


EngineOption = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="local: this machine, the stages overlapped; ray: a Ray cluster (the figvault\\[ray] extra)."
        " Default: the setting ingest.engine (local).",
    ),
]
"""``--engine`` of ``figvault ingest`` and ``figvault reencode``."""
RayAddressOption = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        help="Ray cluster of --engine ray (ray://HOST:10001, auto); default ingest.ray_address, else a"
        " Ray started here.",
    ),
]


def engine_params(settings: Settings, engine: str | None, ray_address: str | None) -> dict[str, str]:
    """The job's ``engine`` (and ``ray_address``); a clear error for an unknown one or a missing Ray."""
    from figvault.pipeline.runner import ENGINES

    chosen = engine or settings.ingest.engine
    if chosen not in ENGINES:
        typer.echo(f"error: --engine {chosen}: choose one of {', '.join(ENGINES)}", err=True)
        raise typer.Exit(2)
    if ray_address and chosen != "ray":
        typer.echo("error: --ray-address needs --engine ray", err=True)
        raise typer.Exit(2)
    params = {"engine": chosen}
    if chosen == "ray":
        from figvault.pipeline.ray_engine import require_ray

        with one_line_errors():
            require_ray()
        address = ray_address or settings.ingest.ray_address
        if address:
            params["ray_address"] = address
    return params


def stage_line(stages: dict[str, dict[str, float]] | None) -> str:
    """`` [extract 0.52 docs/s 6.1 units/s, encode ..., models loaded in 4.2s]``: each stage's rates per
    busy second (extract: per worker), and the model load apart (not in the encode rate)."""
    from figvault.pipeline.stages import MODEL_LOAD

    if not stages:
        return ""
    parts = [
        f"{name} {counts.get('docs_per_s', 0):.3g} docs/s {counts.get('units_per_s', 0):.3g} units/s"
        for name, counts in stages.items()
        if counts.get("docs")
    ]
    load_s = stages.get(MODEL_LOAD, {}).get("busy_s", 0.0)
    if load_s >= 0.05:
        parts.append(f"models loaded in {load_s:.1f}s")
    return f" [{', '.join(parts)}]" if parts else ""


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="PDF/PPTX files or folders (searched recursively).")],
    groups: Annotated[
        str | None,
        typer.Option(
            "--groups",
            help="Access groups of these documents, comma-separated (default: ingest.default_groups for"
            " new documents; documents already indexed keep theirs). Unchanged files already indexed get"
            " them in place, without being read again.",
        ),
    ] = None,
    tags: Annotated[
        str | None,
        typer.Option("--tags", help="Document tags, comma-separated (default: known documents keep theirs)."),
    ] = None,
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant the documents belong to.")] = "default",
    doc_id: Annotated[
        str | None,
        typer.Option(
            "--doc-id",
            help="The document (id or name) this file replaces, or the id of a new one (one file only;"
            " default: the document of the file's name, else a new one).",
        ),
    ] = None,
    quiet: Annotated[
        bool, flag("--quiet", "-q", help="No progress lines; failures and summary only.")
    ] = False,
    as_json: Annotated[bool, flag("--json", help="Print the report as JSON.")] = False,
    engine: EngineOption = None,
    ray_address: RayAddressOption = None,
    prune: Annotated[
        bool,
        flag(
            "--prune",
            help="Delete the documents ingested from these folders whose files are gone (default: they"
            " stay, and are named).",
        ),
    ] = False,
    retry_failed: Annotated[
        bool,
        flag(
            "--retry-failed",
            help="Read again the unchanged files that failed before for their own sake (corrupt, encrypted,"
            " over a limit; default: skipped and counted, `figvault documents list --failed` lists them).",
        ),
    ] = False,
) -> None:
    """Extract, encode and store figure units. Unchanged files are skipped; changed ones replaced.
    Unchanged files that failed for their own sake are skipped too, until --retry-failed.
    Documents of these folders whose files were deleted are named, and removed only with --prune."""
    from figvault.commands.documents import audit_pruned
    from figvault.pipeline.jobs import JobState, JobStore, JobType
    from figvault.pipeline.runner import encoder_may_lower_threads

    settings = state(ctx).settings
    quiet_store_logs()
    check_inputs(paths)
    chosen = _checked_groups(groups)
    params = _job_params(paths, chosen, tenant, doc_id, engine_params(settings, engine, ray_address), tags)
    if prune:
        params["prune"] = True
    if retry_failed:
        params["retry_failed"] = True
    with one_line_errors():
        _refuse_before_the_job(settings)
    _say_who_sees(settings, chosen, tenant, quiet=quiet or as_json)
    if (new := new_tenant_line(settings, tenant)) is not None:  # a warning: shown with --quiet too
        typer.echo(new, err=True)
    log_file = log_to_file(settings)
    with one_line_errors():
        jobs = JobStore.open(settings)
        job = jobs.create(JobType.INGEST, params, started_by="cli", tenant=tenant)
        with encoder_may_lower_threads(), Heartbeat("ingest") as heartbeat:  # no searches beside the ingest
            final = _run_until_stopped(settings, jobs, job, _progress_echo(quiet or as_json, heartbeat))
    _print_result(final, as_json, log_file)
    if final.state == JobState.SUCCEEDED:
        for old in jobs.supersede_orphans(final, SAME_INGEST):  # shown with --quiet too: a job ended
            typer.echo(
                f"note: job {old}, left running by a stopped run of this ingest, ended (superseded)", err=True
            )
    alone = groupless_line(settings, tenant, final.result.get("documents") or [])
    if alone is not None:  # shown even with --quiet or --json, as the warning before the ingest
        typer.echo(alone, err=True)
    audit_pruned(settings, tenant, final.result.get("pruned") or [])
    if final.state != JobState.SUCCEEDED or final.result.get("failed"):
        raise typer.Exit(1)


SAME_INGEST = ("paths", "groups", "tags", "doc_id", "prune", "retry_failed")
"""The params that make two ingest jobs the same request (``JobStore.supersede_orphans``)."""


def interrupted(how: str) -> str:
    """The one line of a stopped ingest; ``how``: Ctrl-C, SIGTERM or SIGHUP."""
    return f"interrupted ({how}): what was stored stays, and the same command run again goes on from there"


class _Terminated(KeyboardInterrupt):
    """SIGTERM (systemd, ``docker stop``, ``kill``) or SIGHUP (the terminal closed, an ssh session dropped)
    raised in the main thread. A KeyboardInterrupt, so it unwinds as Ctrl-C does: each extraction worker is
    ended by its waiting thread, the job is cancelled."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.name = signal.Signals(signum).name
        self.code = 128 + signum


def _raise_terminated(signum: int, _frame: object) -> None:
    raise _Terminated(signum)


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
"""Signals an ``ingest`` ends on as on Ctrl-C. SIGHUP's default ended the process at once, so a closed
terminal left the job ``running`` under a dead process, and the next ``figvault serve`` resumed it."""


@contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """SIGTERM's default ended the process at once: the job stayed ``running`` (the next ``figvault serve``
    resumed it) and a worker whose parent was gone printed a BrokenPipeError traceback. SIGHUP the same."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set it
        yield
        return
    # One ignored stays ignored: `nohup figvault ingest ... &` must outlive the terminal that started it.
    caught = [signum for signum in STOP_SIGNALS if signal.getsignal(signum) is not signal.SIG_IGN]
    previous = {signum: signal.signal(signum, _raise_terminated) for signum in caught}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _run_until_stopped(settings: Settings, jobs: JobStore, job: Job, echo: Callable[[Job], None]) -> Job:
    """``run_here``, with Ctrl-C, SIGTERM or SIGHUP as a cancel. Before, the command ended without a word
    (exit 130, or 143 on SIGTERM) and left its job ``running`` under a dead process, so ``jobs list`` showed
    it running and the next ``figvault serve`` resumed the ingest its user had stopped (a dead owner's job
    is resumed by any job runner)."""
    from figvault.pipeline.jobs import JobState, run_here, this_owner

    try:
        with _sigterm_as_ctrl_c():
            return run_here(settings, job, echo=echo)
    except KeyboardInterrupt as exc:
        how, code = (exc.name, exc.code) if isinstance(exc, _Terminated) else ("Ctrl-C", 130)
        jobs.finish(job.id, JobState.CANCELLED, interrupted(how), owner=this_owner())
        typer.echo(f"ingest: {interrupted(how)} (job {job.id} cancelled)", err=True)
        raise typer.Exit(code) from None


def _refuse_before_the_job(settings: Settings) -> None:
    """What makes the ingest refuse, checked before any job is recorded (a failed job in ``jobs list``,
    one per try, and a traceback in the log would tell the user nothing the refusal does not): the
    embedded store held by ``figvault serve``, or a store serving another embedding_version than this
    configuration encodes (strict on the command line, as search). Exit 1 with the reason and what to do.
    (The job opens the same cached client.)"""
    from figvault.errors import StoreInUseError
    from figvault.retrieval.milvus_store import MilvusUnitStore
    from figvault.retrieval.served_encoders import ingest_mismatch_line, served_other_version

    untouched = "(nothing was ingested, no job recorded)"
    try:
        store = MilvusUnitStore.from_settings(settings)
    except StoreInUseError as exc:
        typer.echo(
            f"error: {exc}; while it runs, upload the files on its page's Upload tab (or POST"
            " /v1/documents; a folder the server may read: POST /v1/jobs/ingest), or stop it and run this"
            f" again {untouched}",
            err=True,
        )
        raise typer.Exit(1) from None
    other = served_other_version(settings, store)
    if other is not None:
        served, _, configured = other
        typer.echo(
            f"error: {ingest_mismatch_line(settings, store, served, configured)} {untouched}", err=True
        )
        raise typer.Exit(1)


def _job_params(
    paths: list[Path],
    groups: list[str] | None,
    tenant: str,
    doc_id: str | None,
    engine: dict[str, str],
    tags: str | None,
) -> dict[str, object]:
    """The ingest job's params (docs/jobs.md); exit 2 for tags that are not valid."""
    from figvault.tags import tag_set

    # Absolute paths: a job left running by a killed CLI may be resumed by another process.
    params: dict[str, object] = {
        "paths": [str(p.absolute()) for p in paths],
        "groups": groups,  # None: known documents keep their groups, new ones get ingest.default_groups
        "tenant": tenant,
    }
    if doc_id is not None:
        params["doc_id"] = doc_id
    params.update(engine)
    if tags is not None:
        try:
            params["tags"] = tag_set(split_csv(tags) or [])
        except ValueError as exc:
            typer.echo(f"error: --tags: {exc}", err=True)
            raise typer.Exit(2) from None
    return params


def _progress_echo(quiet: bool, heartbeat: Heartbeat) -> Callable[[Job], None]:
    """The job's progress line with its stage rates on stderr, at most once a second (and at the end);
    ``heartbeat`` says the ingest is still working when none came for a while."""
    from figvault.commands.jobs import progress_line
    from figvault.pipeline.ingest_job import STAGES

    last = {"at": 0.0, "done": -1}

    def echo(job: Job) -> None:
        now = time.monotonic()
        if quiet or job.done == last["done"] or (now - last["at"] < 1.0 and job.done < job.total):
            return
        last.update(at=now, done=job.done)
        heartbeat.saw(progress_line(job))
        typer.echo(f"ingest: {progress_line(job)}{stage_line(job.checkpoint.get(STAGES))}", err=True)

    return echo


def no_figures_line(outcome: dict[str, Any]) -> str:
    """A document read without error that gave no figure unit (a text-only PDF): indexed, but nothing of
    it can be found by a search, which would otherwise show only as a 0 in the summary's unit count."""
    pages = outcome.get("pages", 0)
    return (
        f"note: {outcome['path']}: no figures found in its {pages} page{'' if pages == 1 else 's'}"
        " (only pictures, charts and diagrams are indexed); a search will not find it"
    )


NO_FIGURES_SHOWN = 20
"""The no-figures notes printed one by one; the rest are counted in one line (a folder of 10,000 text-only
files printed 10,000 notes, burying its failures)."""


def more_without_figures_line(count: int) -> str:
    """The line that counts the no-figures notes past ``NO_FIGURES_SHOWN``."""
    return (
        f"note: {count} more file{'' if count == 1 else 's'} with no figures found; `figvault documents list`"
        " shows each document's units (0: a search will not find it)"
    )


def _print_result(final: Job, as_json: bool, log_file: Path | None = None) -> None:
    """The ended job: as JSON, or its failures and warnings (each once) on stderr and its summary (a
    failure: one line, with the log file that has its traceback)."""
    from figvault.pipeline.ingest_job import SEE_ERRORS
    from figvault.pipeline.ingest_pipeline import FAILED, INDEXED, REPLACED
    from figvault.pipeline.jobs import JobState

    result = final.result
    if as_json:
        typer.echo(json.dumps({"job": final.id, "state": str(final.state), **result}, indent=2))
        return
    without_figures = 0
    for outcome in result.get("documents", []):
        if outcome["status"] == FAILED:
            internal = log_file is not None and outcome["error"].startswith(INTERNAL)
            logged = f" (traceback in {log_file})" if internal else ""
            typer.echo(escaped(f"FAILED {outcome['path']}: {outcome['error']}{logged}"), err=True)
        elif outcome["status"] in (INDEXED, REPLACED) and not outcome["units"]:
            without_figures += 1
            if without_figures <= NO_FIGURES_SHOWN:
                typer.echo(escaped(no_figures_line(outcome)), err=True)
    if without_figures > NO_FIGURES_SHOWN:
        typer.echo(more_without_figures_line(without_figures - NO_FIGURES_SHOWN), err=True)
    for line in result_notes(result):
        typer.echo(escaped(line), err=True)
    if final.state == JobState.SUCCEEDED:
        typer.echo(f"ingest: {final.message} -> {result.get('collection', '')} (job {final.id})")
    else:
        # A job that failed or was cancelled keeps its outcomes (their failures are above); older records
        # and jobs stopped before any document had one have only the errors.
        for error in [] if "documents" in result else final.errors:
            typer.echo(escaped(f"FAILED {error.item}: {error.error}"), err=True)
        # Which job: "see the job's errors" named none (a docs audit, 2026-12-07).
        line = failure_line(final, log_file).replace(SEE_ERRORS, f"see `figvault jobs show {final.id}`")
        typer.echo(f"error: {line}", err=True)
