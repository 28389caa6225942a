"""``figvault collections list|drop NAME``: the versioned collections of the store's alias."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from figvault.commands import app, flag, state
from figvault.commands._retrieval_cli import one_line_errors, quiet_store_logs

collections_app = typer.Typer(help="Versioned collections: list, drop old ones.", no_args_is_help=True)
app.add_typer(collections_app, name="collections")


@collections_app.command("list")
def list_collections(
    ctx: typer.Context,
    as_json: Annotated[bool, flag("--json", help="Print as JSON.")] = False,
) -> None:
    """Every collection of the alias: its embedding_version, unit count, and which one is served."""
    from figvault.errors import FigvaultError
    from figvault.retrieval.milvus_store import MilvusUnitStore

    settings = state(ctx).settings
    quiet_store_logs()
    rows = []
    with one_line_errors():
        store = MilvusUnitStore.from_settings(settings)
        served = store.served_collection()
        for name in store.list_collections():
            try:
                version = store.layout_of(name).embedding_version
                units: int | None = store.count(name)
            except FigvaultError:
                version, units = "?", None
            rows.append(
                {"collection": name, "embedding_version": version, "units": units, "served": name == served}
            )
    if as_json:
        typer.echo(json.dumps({"alias": store.alias, "collections": rows}, indent=2))
        return
    if not rows:
        typer.echo("no collections")
    for row in rows:
        mark = "*" if row["served"] else " "
        typer.echo(f"{mark} {row['collection']:60} {row['embedding_version']:16} {row['units']} units")


@collections_app.command("drop")
def drop(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Collection name (from `figvault collections list`).")],
) -> None:
    """Drop an old collection. The one the alias serves is refused."""
    from figvault.errors import StoreError
    from figvault.retrieval.milvus_store import MilvusUnitStore

    settings = state(ctx).settings
    quiet_store_logs()
    with one_line_errors():
        store = MilvusUnitStore.from_settings(settings)
        if name not in store.list_collections():
            raise StoreError(f"no collection {name!r} of alias {store.alias}: `figvault collections list`")
        store.drop_collection(name)  # refuses the served collection
    typer.echo(f"dropped {name}")
