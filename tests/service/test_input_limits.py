"""The numeric limits of a search (results, page numbers, figure sizes) are defined once, in
``figvault.search_models``, and the CLI, the HTTP API and the search page all check against them. Before,
the 200-result cap was written in seven places (two CLI options, three API models, the page's input and its
script), the page route's last page apart from ``MAX_PAGE``, and the page's size inputs had no maximum:
the page let 2,000,000 pixels through to a 422 the API gave."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import typer
from fastapi.testclient import TestClient

from figvault.cli import load_commands
from figvault.commands import app
from figvault.search_models import MAX_PAGE, MAX_PIXELS_SIDE, MAX_TOP_K
from figvault.settings import load_settings

load_commands()


def _cli_option(command: str, name: str) -> Any:
    group: Any = typer.main.get_command(app)
    (option,) = [p for p in group.get_command(None, command).params if name in p.opts]
    return option


def test_the_cli_checks_the_one_definition() -> None:
    for command in ("search", "eval"):
        assert _cli_option(command, "--top-k").max == MAX_TOP_K, command
    for size in ("--min-width", "--max-width", "--min-height", "--max-height"):
        limits = _cli_option("search", size)
        assert (limits.min, limits.max) == (0, MAX_PIXELS_SIDE), size


def _schema(tmp_path: Path) -> tuple[dict[str, Any], str]:
    from figvault.service.app import create_app

    settings = load_settings("offline", data_dir=tmp_path / "data")
    with TestClient(create_app(settings, engine=SimpleNamespace())) as client:
        return client.get("/openapi.json").json(), client.get("/").text


def test_the_api_and_the_page_check_the_one_definition(tmp_path: Path) -> None:
    schema, page = _schema(tmp_path)
    parts = schema["components"]["schemas"]
    # top_k may be left out (the server's search.top_k): its bound is in the "anyOf" integer branch.
    assert parts["SearchBody"]["properties"]["top_k"]["anyOf"][0]["maximum"] == MAX_TOP_K
    image_form = next(v for k, v in parts.items() if k.startswith("Body_search_image"))
    assert image_form["properties"]["top_k"]["anyOf"][0]["maximum"] == MAX_TOP_K
    assert parts["SearchFilters"]["properties"]["min_width"]["anyOf"][0]["maximum"] == MAX_PIXELS_SIDE
    route = schema["paths"]["/v1/documents/{doc_id}/pages/{page}/image"]["get"]
    (page_param,) = [p for p in route["parameters"] if p["name"] == "page"]
    assert page_param["schema"]["maximum"] == MAX_PAGE

    inputs = dict(re.findall(r'<input id="(top-k|filter-(?:min|max)-(?:width|height))"([^>]*)>', page))
    assert len(inputs) == 5
    assert f'max="{MAX_TOP_K}"' in inputs.pop("top-k")
    for name, attributes in inputs.items():
        assert f'max="{MAX_PIXELS_SIDE}"' in attributes, name
    assert "{{" not in page


def test_the_page_starts_at_the_configured_number_of_results(tmp_path: Path) -> None:
    """The page's results box started at 12 whatever ``search.top_k`` said (the CLI, ``POST /v1/search`` and
    the image form follow the setting)."""
    from figvault.service.app import create_app

    settings = load_settings("offline", data_dir=tmp_path / "data")
    settings.search.top_k = 7
    with TestClient(create_app(settings, engine=SimpleNamespace())) as client:
        page = client.get("/").text
    (attributes,) = re.findall(r'<input id="top-k"([^>]*)>', page)
    assert 'value="7"' in attributes and f'max="{MAX_TOP_K}"' in attributes
