"""Issue 14's filters and duplicate collapsing end to end: ingest with tags (perceptual hashes stored), then
``SearchEngine`` and ``figvault search`` on the offline profile."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from figvault.access import local_operator
from figvault.cli import load_commands
from figvault.commands import app
from figvault.phash import HASH_HEX
from figvault.pipeline.ingest_pipeline import ingest_paths
from figvault.pipeline.registry import DocumentRegistry
from figvault.retrieval.search import SearchEngine
from figvault.search_models import SearchFilters, SearchRequest
from figvault.settings import Settings, load_settings
from tests.generated_docs import figure_pdf

load_commands()


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, SearchEngine]:
    root = tmp_path_factory.mktemp("filtered")
    settings = load_settings("offline", data_dir=root / "data")
    settings.extract.workers = 1
    a = figure_pdf(root / "annual.pdf", seed=41)
    copy = root / "annual-deck.pdf"
    shutil.copy(a, copy)  # the same figures in a second document
    b = figure_pdf(root / "other.pdf", seed=42, n_figures=1)
    for path, tags in ((a, ["finance", "2024"]), (copy, ["deck"]), (b, [])):
        report = ingest_paths(settings, [path], groups=["g"], tenant="default", progress=False, tags=tags)
        assert not report.failed
    return settings, SearchEngine.from_settings(settings)


def caption(engine: SearchEngine, doc: str) -> str:
    rows = engine.store.get_rows(engine.store.served_collection(), f'doc == "{doc}"')
    return sorted(r["caption"] for r in rows)[0]


def test_tags_and_hashes_are_stored(indexed) -> None:
    settings, engine = indexed
    rows = engine.store.get_rows(engine.store.served_collection(), "")
    by_doc = {r["doc"]: r for r in rows}
    assert by_doc["annual.pdf"]["tags"] == ["2024", "finance"] and by_doc["other.pdf"]["tags"] == []
    assert all(len(r["phash"]) == HASH_HEX for r in rows)
    registry = DocumentRegistry.open(settings)
    [deck] = registry.matching("default", "annual-deck.pdf")  # ids are server-chosen since issue 12
    assert deck.tags == ["deck"]


def test_filters_narrow_the_search(indexed) -> None:
    _, engine = indexed
    question = caption(engine, "other.pdf")

    def docs(**filters) -> set[str]:
        request = SearchRequest(query=question, top_k=10, filters=SearchFilters(**filters), rerank=False)
        hits = engine.search(local_operator(), request).results
        return {h.doc for h in hits} | {r.doc for h in hits for r in h.also_in}

    assert docs() == {"annual.pdf", "annual-deck.pdf", "other.pdf"}
    assert docs(tags=["finance"]) == {"annual.pdf"}
    assert docs(tags=["deck", "finance"]) == {"annual.pdf", "annual-deck.pdf"}
    assert docs(tags=["nope"]) == set()
    assert docs(pages="2-3") == set()  # one-page documents
    assert docs(pages="1") == {"annual.pdf", "annual-deck.pdf", "other.pdf"}
    assert docs(aspect="landscape") == {"annual.pdf", "annual-deck.pdf", "other.pdf"}  # 360 x 240 pt figures
    assert docs(aspect="portrait") == set()
    assert docs(max_width=10) == set()


def test_copies_collapse_into_one_hit(indexed, monkeypatch: pytest.MonkeyPatch) -> None:
    _, engine = indexed
    question = caption(engine, "annual.pdf")
    request = SearchRequest(query=question, top_k=3, rerank=False)
    results = engine.search(local_operator(), request).results
    top = results[0]
    assert {top.doc, *(r.doc for r in top.also_in)} == {"annual.pdf", "annual-deck.pdf"}
    assert len(top.also_in) == 1 and top.also_in[0].page == 1
    assert len(results) == 3  # still three distinct figures: annual's other figure and other.pdf's
    assert len({h.unit_id for h in results}) == 3

    monkeypatch.setattr(engine.settings.search, "collapse_duplicates", False)
    plain = engine.search(local_operator(), request).results
    assert not any(h.also_in for h in plain)
    assert {plain[0].doc, plain[1].doc} == {"annual.pdf", "annual-deck.pdf"}


def test_cli_flags(indexed) -> None:
    settings, engine = indexed
    runner = CliRunner()
    base = ["--config", "offline", "--data-dir", str(settings.data_dir), "search", "figure", "--json"]
    done = runner.invoke(app, [*base, "--tags", "deck", "--pages", "1-1", "--min-width", "100"])
    assert done.exit_code == 0, done.output
    payload = json.loads(done.stdout)
    assert payload["results"] and {r["doc"] for r in payload["results"]} == {"annual-deck.pdf"}
    assert all(r["tags"] == ["deck"] for r in payload["results"])
    # Each hit says the pixel size the size filters compared (it said none: --min-width was a guess).
    collection = engine.store.served_collection()
    for hit in payload["results"]:
        [row] = engine.store.get_rows(
            collection, f'unit_id == "{hit["unit_id"]}"', fields=["width", "height"]
        )
        assert (hit["width"], hit["height"]) == (row["width"], row["height"]) and hit["width"] >= 100
    for flags, option in ((["--pages", "9-2"], "--pages"), (["--aspect", "wide"], "--aspect")):
        bad = runner.invoke(app, [*base, *flags])
        assert bad.exit_code == 2 and f"error: {option}:" in bad.output and "Traceback" not in bad.output


def test_set_tags_rewrites_the_units_in_place(indexed) -> None:
    """``figvault documents set-tags``: the units' tags change in place (same ids, same vectors), the
    registry follows, and the tags filter sees the new set at once."""
    settings, engine = indexed
    collection = engine.store.served_collection()
    before = {
        r["unit_id"]: r["text"]
        for r in engine.store.get_rows(collection, 'doc == "other.pdf"', fields=["unit_id", "text"])
    }
    runner = CliRunner()
    base = ["--config", "offline", "--data-dir", str(settings.data_dir)]
    done = runner.invoke(app, [*base, "documents", "set-tags", "other.pdf", "--tags", "q3, board deck"])
    assert done.exit_code == 0, done.output
    assert "-> board deck,q3" in done.stdout and f"{len(before)} units rewritten" in done.stdout
    after = engine.store.get_rows(collection, 'doc == "other.pdf"', fields=["unit_id", "text", "tags"])
    assert {r["unit_id"]: r["text"] for r in after} == before  # nothing re-encoded
    assert all(r["tags"] == ["board deck", "q3"] for r in after)
    [other] = DocumentRegistry.open(settings).matching("default", "other.pdf")
    assert other.tags == ["board deck", "q3"]
    request = SearchRequest(query="figure", top_k=10, filters=SearchFilters(tags=["q3"]), rerank=False)
    assert {h.doc for h in engine.search(local_operator(), request).results} == {"other.pdf"}
    bad = runner.invoke(app, [*base, "documents", "set-tags", "nope.pdf", "--tags", "x"])
    assert bad.exit_code == 1 and "no document" in bad.output


def test_an_older_copy_the_caller_cannot_see_is_neither_named_nor_chosen(indexed, tmp_path) -> None:
    """Collapsing shows each group of copies once, led by its original: the copy whose document states the
    earliest date. A copy with an older date in a group the reader is not in (and one in another tenant)
    changes nothing of the reader's answer: not its hits, not which copy leads, not ``also_in``. The
    operator, who sees that group, gets the older copy as the original (so it would have led)."""
    import pymupdf

    from figvault.access import Principal
    from figvault.pipeline.ingest_pipeline import delete_document

    settings, engine = indexed
    older = tmp_path / "annual-1999.pdf"
    with pymupdf.open(figure_pdf(tmp_path / "annual.pdf", seed=41)) as doc:  # the same figures
        doc.set_metadata({**doc.metadata, "creationDate": "D:19990101000000Z"})
        older.write_bytes(doc.tobytes())
    reader = Principal(user="r", tenant="default", groups=["g"])
    request = SearchRequest(query=caption(engine, "annual.pdf"), top_k=3, rerank=False)

    def answer(principal: Principal) -> list[tuple[str, list[str]]]:
        hits = engine.search(principal, request).results
        return [(h.doc, sorted(r.doc for r in h.also_in)) for h in hits]

    before = answer(reader)
    assert before[0] == ("annual.pdf", ["annual-deck.pdf"])
    added = []
    for tenant, groups in (("default", ["h"]), ("rival", ["g"])):
        report = ingest_paths(settings, [older], groups=groups, tenant=tenant, progress=False)
        assert not report.failed
        added += [(tenant, d.doc_id) for d in DocumentRegistry.open(settings).matching(tenant, older.name)]
    try:
        assert answer(reader) == before
        assert answer(local_operator())[0] == ("annual-1999.pdf", ["annual-deck.pdf", "annual.pdf"])
    finally:
        for tenant, doc_id in added:
            delete_document(settings, tenant, doc_id)
