"""``figvault search "QUESTION"``: the figures that answer a question (or look like ``--image FILE``)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from figvault.commands import app, flag, split_csv, state
from figvault.commands._retrieval_cli import (
    also_in_note,
    caption_cell,
    filter_error,
    filter_option,
    hit_json,
    nothing_found_line,
    one_line_errors,
    parse_day,
    quiet_store_logs,
)
from figvault.search_models import MAX_PIXELS_SIDE, MAX_TOP_K
from figvault.text_checks import escaped
from figvault.units import FigureKind

if TYPE_CHECKING:
    from PIL import Image

    from figvault.access import Principal
    from figvault.retrieval.search import SearchEngine
    from figvault.search_models import SearchFilters, SearchRequest, SearchResponse
    from figvault.settings import Settings


LOADING = (
    "search: loading the models and the store (each command loads them anew, up to a minute on a busy"
    " machine; `figvault serve` keeps them loaded)..."
)
"""Said on stderr before a table search: the wait is the model load, not a hang."""


# The filter options, one a field of SearchFilters (declared apart: `search` stays one screen).
DocOption = Annotated[str | None, typer.Option("--doc", help="Only these source files (comma-separated).")]
DocIdOption = Annotated[str | None, typer.Option("--doc-id", help="Only these documents (ids or names).")]
KindOption = Annotated[
    str | None,
    typer.Option("--kind", help=f"Only these figure kinds, comma-separated: {', '.join(FigureKind)}."),
]
AfterOption = Annotated[str | None, typer.Option("--after", help="Documents created on/after YYYY-MM-DD.")]
BeforeOption = Annotated[str | None, typer.Option("--before", help="Documents created on/before YYYY-MM-DD.")]
TagsOption = Annotated[
    str | None, typer.Option("--tags", help="Only documents with any of these tags (comma-separated).")
]
PagesOption = Annotated[
    str | None, typer.Option("--pages", help="Only these pages or slides: 3-7, 5, 3- or -7.")
]


def _size(name: str, about: str) -> typer.models.OptionInfo:
    """A figure-size option, within the API's own bounds (``MAX_PIXELS_SIDE``)."""
    return typer.Option(name, min=0, max=MAX_PIXELS_SIDE, help=about)


MinWidthOption = Annotated[int | None, _size("--min-width", "Figure image width >= (pixels).")]
MaxWidthOption = Annotated[int | None, _size("--max-width", "Figure image width <= (pixels).")]
MinHeightOption = Annotated[int | None, _size("--min-height", "Figure image height >= (pixels).")]
MaxHeightOption = Annotated[int | None, _size("--max-height", "Figure image height <= (pixels).")]
AspectOption = Annotated[
    str | None, typer.Option("--aspect", help="landscape, portrait or square (width/height 1.2 apart).")
]
MinAspectOption = Annotated[
    float | None, typer.Option("--min-aspect", help="Width/height ratio >= (2.0: twice as wide).")
]
MaxAspectOption = Annotated[float | None, typer.Option("--max-aspect", help="Width/height ratio <=.")]


@app.command()
def search(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="What the figure shows, in plain words.")] = "",
    top_k: Annotated[
        int | None,
        typer.Option("--top-k", "-k", min=1, max=MAX_TOP_K, help="Results (default: search.top_k)."),
    ] = None,
    groups: Annotated[
        str | None, typer.Option("--groups", help="Search as these groups (default: the whole tenant).")
    ] = None,
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant to search.")] = "default",
    doc: DocOption = None,
    doc_id: DocIdOption = None,
    kind: KindOption = None,
    after: AfterOption = None,
    before: BeforeOption = None,
    tags: TagsOption = None,
    pages: PagesOption = None,
    min_width: MinWidthOption = None,
    max_width: MaxWidthOption = None,
    min_height: MinHeightOption = None,
    max_height: MaxHeightOption = None,
    aspect: AspectOption = None,
    min_aspect: MinAspectOption = None,
    max_aspect: MaxAspectOption = None,
    image: Annotated[Path | None, typer.Option("--image", help="Search by an example image (CLIP).")] = None,
    rerank: Annotated[
        bool | None, flag("--rerank/--no-rerank", help="Rerank with Qwen-VL (default: configured).")
    ] = None,
    explain: Annotated[bool, flag("--explain", help="Ask the reranker why each figure fits.")] = False,
    as_json: Annotated[bool, flag("--json", help="Print results as JSON.")] = False,
) -> None:
    """Find figures by a question, under the tenant's (or the given groups') access."""
    from figvault.access import local_operator
    from figvault.search_models import SearchRequest

    settings = state(ctx).settings
    quiet_store_logs()
    if not question.strip() and image is None:
        typer.echo("error: give a question, or --image FILE", err=True)
        raise typer.Exit(2)
    filters = _checked_filters(
        docs=_filter_values(doc),
        doc_ids=_filter_values(doc_id),
        kinds=_filter_values(kind),
        after=parse_day(after, "--after"),
        before=parse_day(before, "--before"),
        tags=_filter_values(tags),
        pages=pages,
        min_width=min_width,
        max_width=max_width,
        min_height=min_height,
        max_height=max_height,
        aspect=aspect,
        min_aspect=min_aspect,
        max_aspect=max_aspect,
    )
    k = top_k if top_k is not None else settings.search.top_k  # the setting was read nowhere before
    request = SearchRequest(query=question, top_k=k, filters=filters, rerank=rerank, explain=explain)
    principal = local_operator(tenant, split_csv(groups))
    request = _with_named_documents(settings, principal, request)
    if image is not None and not settings.clip.enabled:  # said before the models load (7 s), not after
        typer.echo(
            "error: --image needs the CLIP channel, which this configuration turns off (clip.enabled = false:"
            " the offline profile has no image model); search by a question instead",
            err=True,
        )
        raise typer.Exit(2)
    picture = None if image is None else _read_image(image)
    if not as_json:
        typer.echo(LOADING, err=True)
    response, loaded_s = _answer(settings, principal, request, picture)
    if as_json:
        found = None if response.results else _nothing_found(settings, principal, request)
        _print_json(settings, question, response, found)
    elif not response.results:
        typer.echo(_nothing_found(settings, principal, request))
    else:
        _print_table(question or str(image), response, loaded_s)


def _filter_values(value: str | None) -> list[str]:
    """A comma-separated filter option's values; one given with none (``--tags ","``, an empty shell
    variable) is an empty value, refused naming its option: dropped, it searched unfiltered."""
    if value is None:
        return []
    return split_csv(value) or [""]


def _checked_filters(**fields: Any) -> SearchFilters:
    """The filter options as SearchFilters; a bad value ends the command naming its option (exit 2)."""
    from pydantic import ValidationError

    from figvault.search_models import SearchFilters

    try:
        return SearchFilters(**fields)
    except ValidationError as exc:
        typer.echo(f"error: {filter_error(exc)}", err=True)
        raise typer.Exit(2) from None


def _with_named_documents(settings: Settings, principal: Principal, request: SearchRequest) -> SearchRequest:
    """``--doc-id`` names stand for the ids of the visible documents of that name, as in every command
    that takes a document."""
    if not request.filters.doc_ids:
        return request
    from figvault.pipeline.doc_identity import with_filter_ids
    from figvault.pipeline.registry import DocumentRegistry

    with one_line_errors():
        named = with_filter_ids(DocumentRegistry.open(settings), principal, request.filters)
    return request.model_copy(update={"filters": named})


def _read_image(image: Path) -> Image.Image:
    """The ``--image`` example as RGB; an unreadable file ends the command (exit 2)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(image) as opened:
            opened.load()
            return opened.convert("RGB")
    except (OSError, UnidentifiedImageError) as exc:
        typer.echo(f"error: --image {image}: not a readable image ({exc})", err=True)
        raise typer.Exit(2) from None


def _answer(
    settings: Settings, principal: Principal, request: SearchRequest, picture: Image.Image | None
) -> tuple[SearchResponse, float]:
    """Load the engine and its models, then search by the question, or by the example picture when one is
    given: the answer, and the seconds the models took to load (apart: else the answer's ``encode``
    timing counted them, and a 40 ms search read as 5 s)."""
    from figvault.retrieval.search import SearchEngine

    with one_line_errors():
        engine = SearchEngine.from_settings(settings)
        _refuse_another_version(settings, engine)
        started = time.perf_counter()
        engine.load_encoders()
        loaded_s = time.perf_counter() - started
        if picture is not None:
            return engine.search_image(principal, picture, request), loaded_s
        return engine.search(principal, request), loaded_s


def _refuse_another_version(settings: Settings, engine: SearchEngine) -> None:
    """A store that serves another embedding_version than this configuration encodes ends the command
    before the models load (up to a minute on a busy machine), with the sentence the engine itself would
    raise after loading them: what changed, and `figvault reencode`."""
    from figvault.errors import VersionMismatchError
    from figvault.retrieval.served_encoders import (
        mismatch_hint,
        recorded_encoder_settings,
        served_other_version,
    )

    other = served_other_version(settings, engine.store)
    if other is not None:
        collection, served, configured = other
        record = recorded_encoder_settings(engine.store, collection)
        raise VersionMismatchError(mismatch_hint(settings, record, served, configured))


def _nothing_found(settings: Settings, principal: Principal, request: SearchRequest) -> str:
    """The line that says why nothing was found (nothing ingested, another tenant, groups, filters)."""
    from figvault.pipeline.registry import DocumentRegistry

    with one_line_errors():
        records = DocumentRegistry.open(settings).list()
    used = request.filters.model_dump(exclude_defaults=True)
    return nothing_found_line(principal, records, [filter_option(field) for field in used], settings.data_dir)


def _print_json(
    settings: Settings, question: str, response: SearchResponse, nothing_found: str | None = None
) -> None:
    """The ``--json`` answer: hits with the path of their image where the blob store has it, and with none
    the line that says why (``nothing_found``; the JSON said only ``"no_match": true``)."""
    from figvault.storage import BlobStore

    blobs = BlobStore.from_settings(settings)

    def image_path(key: str) -> str | None:
        return blobs.location(key) if blobs.exists(key) else None

    payload = {
        "query": question,
        "results": [hit_json(h, image_path) for h in response.results],
        "no_match": response.no_match,
        "nothing_found": nothing_found,
        "did_you_mean": response.did_you_mean,
        "reranked": response.reranked,
        "rerank_note": response.rerank_note,
        "embedding_version": response.embedding_version,
        "timings": response.reported_timings(),
    }
    typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))


def _print_table(title: str, response: SearchResponse, loaded_s: float | None = None) -> None:
    """The hits (at least one) as a table, then the rerank note, the timings (and how long this command
    took to load the models, ``loaded_s``); when the search found no good match, a line saying so comes
    before the hits and NO MATCH ends the timings line."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    def plain(value: str) -> Text:
        """A cell as written: a document's caption, label or name is an uploader's text, never rich markup
        (a caption's ``[/bold]`` raised MarkupError and ended the command; ``[link=...]`` made a terminal
        hyperlink) nor a control sequence for the terminal (an ESC from a PDF's text was printed raw)."""
        return Text(escaped(value.replace("\n", " ")))

    console = Console(soft_wrap=True)
    table = Table(title=plain(title), show_lines=False)
    # The reranker's reasons (--explain) get a column: the table had none, so they reached only --json.
    explained = any(hit.explanation for hit in response.results)
    why = ("why",) if explained else ()
    for column in ("#", "score", "doc", "page", "label", "kind", "caption", "channels", *why):
        table.add_column(column, overflow="fold")
    for rank, hit in enumerate(response.results, start=1):
        channels = " ".join(f"{c}={v:.3f}" for c, v in sorted(hit.channel_scores.items()))
        caption = caption_cell(hit.caption, hit.title, 80)
        cells = [str(rank), f"{hit.score:.4f}", hit.doc, str(hit.page), hit.label or "", hit.kind]
        cells += [caption + also_in_note(hit), channels] + ([hit.explanation or ""] if explained else [])
        table.add_row(*(plain(cell) for cell in cells))
    if response.no_match:  # said first: a top hit printed as usual reads as the answer
        console.print(
            "No good match: none of these figures is likely to answer the question; the closest follow."
        )
    if response.did_you_mean:
        said = response.did_you_mean  # the question as asked, its own "?" included ("France??" before)
        mark = "" if said.rstrip().endswith("?") else "?"
        console.print(f"Did you mean: {escaped(said)}{mark}", markup=False, highlight=False)
    console.print(table)
    timing = ", ".join(f"{k} {v:.0f} ms" for k, v in response.timings.items())
    if loaded_s is not None:
        timing += f" (before it, the models loaded in {loaded_s:.1f} s: `figvault serve` keeps them loaded)"
    console.print(f"rerank {response.rerank_note}; {timing}" + ("; NO MATCH" if response.no_match else ""))
