"""``figvault eval QUERIES.jsonl``: figure-level recall@1/5/10 and MRR of the current store."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from figvault.commands import app, flag, state
from figvault.commands._retrieval_cli import one_line_errors, quiet_store_logs
from figvault.search_models import MAX_TOP_K

if TYPE_CHECKING:
    from figvault.access import Principal
    from figvault.retrieval.evaluation import EvalQuery, EvalResult
    from figvault.settings import Settings


@app.command("eval")
def eval_command(
    ctx: typer.Context,
    queries_file: Annotated[Path, typer.Argument(help="JSONL: id, query, doc, page, label per line.")],
    top_k: Annotated[
        int,
        typer.Option(
            "--top-k",
            "-k",
            min=1,
            max=MAX_TOP_K,
            help="Results per query written to --results (recall@10 is scored on at least 10).",
        ),
    ] = 10,
    results: Annotated[
        Path | None, typer.Option("--results", help="Write each query's ranked results here (JSONL).")
    ] = None,
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant to search.")] = "default",
    rerank: Annotated[bool | None, flag("--rerank/--no-rerank", help="Rerank (default: configured).")] = None,
    as_json: Annotated[bool, flag("--json", help="Print the metrics as JSON.")] = False,
    split: Annotated[
        str | None,
        typer.Option("--split", help="Only the queries whose `split` field is this (tune or report)."),
    ] = None,
) -> None:
    """Run every query against the store and score it.

    A hit: same doc and page, the same label when the query names one, and an overlapping box (IoU >= 0.4)
    when it gives a `bbox`.
    """
    from figvault.access import local_operator
    from figvault.retrieval.evaluation import load_queries, select_split

    if split not in (None, "tune", "report"):
        raise typer.BadParameter(f"--split is tune or report, not {split!r}")
    settings = state(ctx).settings
    quiet_store_logs()
    principal = local_operator(tenant)
    with one_line_errors():
        every = load_queries(queries_file)
        queries = select_split(every, split)
        if not queries:
            typer.echo(f"error: {nothing_to_score(queries_file, every, split)}", err=True)
            raise typer.Exit(2)
        absent = absent_answers_line(settings, tenant, queries)
        if absent is not None:
            typer.echo(absent, err=True)
        typer.echo(f"eval: loading the models and the store, then {len(queries)} queries...", err=True)
        outcome = _run_queries(settings, principal, queries, top_k=top_k, rerank=rerank, results=results)
    _print_metrics(outcome, as_json=as_json)


def _run_queries(
    settings: Settings,
    principal: Principal,
    queries: list[EvalQuery],
    *,
    top_k: int,
    rerank: bool | None,
    results: Path | None,
) -> EvalResult:
    """Every query searched as ``principal`` and scored; each ranked list also written to ``results``."""
    from figvault.retrieval.evaluation import evaluate
    from figvault.retrieval.search import SearchEngine
    from figvault.search_models import SearchRequest, SearchResponse

    engine = SearchEngine.from_settings(settings)
    progress = _Progress(len(queries))

    def run_query(query: EvalQuery) -> SearchResponse:
        # At least 10 whatever --top-k: recall@5 and @10 are printed, and read from the same answer.
        answer = engine.search(
            principal, SearchRequest(query=query.query, top_k=max(top_k, 10), rerank=rerank)
        )
        progress.done_one()
        return answer

    if results is None:
        return evaluate(queries, run_query)
    results.parent.mkdir(parents=True, exist_ok=True)
    with results.open("w", encoding="utf-8") as out:
        return evaluate(queries, run_query, results_out=out, results_top_k=top_k)


def _print_metrics(outcome: EvalResult, *, as_json: bool) -> None:
    from figvault.retrieval.evaluation import CUTOFFS

    metrics = outcome.metrics()
    if as_json:
        typer.echo(json.dumps(metrics, indent=2))
        return
    typer.echo(f"{metrics['answerable']} answerable queries, {metrics['unanswerable']} without an answer")
    typer.echo("  ".join(f"recall@{k} {outcome.recall(k):.3f}" for k in CUTOFFS) + f"  MRR {outcome.mrr:.3f}")
    if outcome.unanswerable:
        typer.echo(
            f"no-answer queries flagged no_match: {outcome.unanswerable_no_match}/{outcome.unanswerable}"
        )


def nothing_to_score(path: Path, every: list[EvalQuery], split: str | None) -> str:
    """Why ``eval`` has no query to run: an empty file, or a ``--split`` no line carries (the shared dev
    questions carry none; their halves are ``bench/labels/dev_split.json``). Scoring nothing would print
    recall 0.000, which reads like a broken store."""
    if not every:
        return f"{path} holds no query"
    if not any(q.split for q in every):
        return (
            f"none of the {len(every)} queries of {path} has a `split` field, so --split {split} keeps none:"
            ' drop --split, or add "split": "tune" or "report" to each line'
        )
    return f'none of the {len(every)} queries of {path} has "split": "{split}"'


def absent_answers_line(settings: Settings, tenant: str, queries: list[EvalQuery]) -> str | None:
    """The warning for queries whose answer is in no document indexed in ``tenant`` (an empty or partial
    store, another tenant): each counts as a miss, and recall alone would not say why it is low."""
    from figvault.pipeline.gone_files import SHOWN
    from figvault.pipeline.registry import DocState, DocumentRegistry

    present = {r.name for r in DocumentRegistry.open(settings).list(tenant=tenant, state=DocState.INDEXED)}
    absent = [q for q in queries if q.doc is not None and not {q.doc, *(t.doc for t in q.also)} & present]
    if not absent:
        return None
    names = sorted({q.doc for q in absent if q.doc is not None})
    shown = ", ".join(names[:SHOWN]) + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")
    answerable = sum(q.doc is not None for q in queries)
    return (
        f"warning: {len(absent)} of the {answerable} answerable queries have their answer in documents not"
        f" indexed in tenant {tenant!r} ({shown}): they count as misses; ingest those documents (or give"
        " --tenant) to score them"
    )


class _Progress:
    """``eval: 40/188 queries`` on stderr every ``EVERY_S`` and at the end: at realistic size a run takes
    minutes, which were silent."""

    EVERY_S = 5.0

    def __init__(self, total: int) -> None:
        self.total, self.done, self.said_at = total, 0, time.monotonic()

    def done_one(self) -> None:
        self.done += 1
        if self.done == self.total or time.monotonic() - self.said_at >= self.EVERY_S:
            self.said_at = time.monotonic()
            typer.echo(f"eval: {self.done}/{self.total} queries", err=True)
