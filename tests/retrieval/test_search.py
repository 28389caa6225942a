"""SearchEngine and the search/eval/status commands on a tiny generated corpus (offline profile)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from figvault.access import Principal, local_operator
from figvault.cli import load_commands
from figvault.commands import app
from figvault.errors import FigvaultError, VersionMismatchError
from figvault.pipeline.ingest_pipeline import ingest_paths
from figvault.retrieval.milvus_store import ChannelHit
from figvault.retrieval.search import RankedUnit, SearchEngine, SearchRun
from figvault.search_models import SearchFilters, SearchRequest
from figvault.settings import Settings, load_settings
from tests.generated_docs import figure_pdf

load_commands()


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("search")


@pytest.fixture(scope="module")
def indexed(data_root: Path) -> tuple[Settings, list[Path]]:
    settings = load_settings("offline", data_dir=data_root / "data")
    settings.extract.workers = 1
    folder = data_root / "docs"
    folder.mkdir()
    docs = [figure_pdf(folder / f"r{i}.pdf", seed=i) for i in range(4)]
    report = ingest_paths(settings, docs[:2], groups=["red"], tenant="default", progress=False)
    report2 = ingest_paths(settings, docs[2:], groups=["blue"], tenant="default", progress=False)
    assert not report.failed and not report2.failed
    return settings, docs


@pytest.fixture(scope="module")
def engine(indexed) -> SearchEngine:
    return SearchEngine.from_settings(indexed[0])


def caption_of(docs_dir: Path, engine: SearchEngine, doc: str) -> tuple[str, int, str]:
    rows = engine.store.get_rows(engine.store.served_collection(), f'doc == "{doc}"')
    row = sorted(rows, key=lambda r: r["label"])[0]
    return row["caption"], row["page"], row["label"]


def test_search_finds_the_captioned_figure(indexed, engine: SearchEngine) -> None:
    _, docs = indexed
    caption, page, label = caption_of(docs[0].parent, engine, "r1.pdf")
    response = engine.search(local_operator(), SearchRequest(query=caption, top_k=3))
    top = response.results[0]
    assert (top.doc, top.page, top.label) == ("r1.pdf", page, label)
    assert set(top.channel_scores) == {"text", "lexical"}
    assert {"lookup", "encode", "recall", "fetch", "total"} <= set(response.timings)
    assert response.embedding_version == engine.encoders.embedding_version


def test_groups_limit_results_and_get_unit(engine: SearchEngine) -> None:
    red = Principal(user="r", groups=["red"])
    response = engine.search(red, SearchRequest(query="figure in report", top_k=20))
    assert {h.doc for h in response.results} == {"r0.pdf", "r1.pdf"}
    assert engine.count(red) == 4 and engine.count(local_operator()) == 8
    blue_unit = engine.search(
        local_operator(), SearchRequest(query="report 3", filters=SearchFilters(docs=["r3.pdf"]))
    )
    unit_id = blue_unit.results[0].unit_id
    assert engine.get_unit(red, unit_id) is None
    assert engine.get_unit(Principal(user="b", groups=["blue"]), unit_id).doc == "r3.pdf"
    assert engine.get_unit(red, "0" * 32) is None


def test_fetch_drops_a_unit_the_filter_should_have_kept_out(
    engine: SearchEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """Defence in depth: rows are fetched by id after the filtered search, and checked once more."""
    collection = engine.store.served_collection()
    everyone = engine.search(local_operator(), SearchRequest(query="figure in report", top_k=20)).results
    by_doc = {h.doc: h for h in everyone}
    red = Principal(user="r", groups=["red"])
    ranked = [
        RankedUnit(by_doc["r3.pdf"].unit_id, 0.9, {}),  # blue: as if the filter had let it through
        RankedUnit(by_doc["r0.pdf"].unit_id, 0.5, {}),
    ]
    with caplog.at_level("ERROR"):
        hits = engine.materialize(collection, red, ranked, {})
    assert [h.doc for h in hits] == ["r0.pdf"]
    assert "let 1 unit(s) through" in caplog.text


def test_units_by_document_never_counts_a_row_the_filter_let_through(
    engine: SearchEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defence in depth for the listing's counts and the page images' version (``shown_version``): each
    row read is held to the access rule once more, as a fetched hit is."""
    collection = engine.store.served_collection()
    doc_of = {r["doc"]: r["doc_id"] for r in engine.store.query_rows(collection, "", ["doc", "doc_id"])}
    wanted = [doc_of["r0.pdf"], doc_of["r3.pdf"]]  # red's, blue's
    red = Principal(user="r", groups=["red"])
    honest = engine.units_by_document(red, wanted)
    real = engine.store.query_rows

    def leaky(collection: str, expr: str, fields: list[str], **kw: object) -> list[dict]:
        return real(collection, "", fields, **kw)  # as if the store had ignored the filter

    monkeypatch.setattr(engine.store, "query_rows", leaky)
    leaked = engine.units_by_document(red, wanted)
    assert leaked == honest and sum(honest[doc_of["r0.pdf"]].values()) == 2
    assert not leaked[doc_of["r3.pdf"]] and sum(leaked[doc_of["r3.pdf"]].values()) == 0


def test_one_channel_reads_its_rows_with_the_search(
    engine: SearchEngine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing to fuse: the channel's hits bring their rows (no fetch), same hits as search-then-fetch."""
    collection = engine.store.served_collection()
    layout = engine.store.layout_of(collection)
    queries = {"text": engine.encode_question(engine.encoders, "figure in report")["text"]}
    red = Principal(user="r", groups=["red"])
    expr, keys = engine._access(red, None)
    request = SearchRequest(query="figure in report", top_k=3, rerank=False)
    args = (red, request, collection, layout, queries, expr, keys)
    direct = engine._recall_and_finish(SearchRun(*args, {}), time.perf_counter())
    assert "fetch" not in direct.timings and direct.results
    ranked = engine.recall(collection, queries, expr, 50)[:3]
    two_step = engine.materialize(collection, red, ranked, queries, keys)
    assert [(h.unit_id, h.fused_score, h.channel_scores) for h in direct.results] == [
        (h.unit_id, h.fused_score, h.channel_scores) for h in two_step
    ]
    assert {h.doc for h in direct.results} <= {"r0.pdf", "r1.pdf"}  # red's documents only

    # The rows that come with the search are held to the access rule like fetched ones.
    everyone = engine.search(local_operator(), SearchRequest(query="figure in report", top_k=20)).results
    blue = next(h for h in everyone if h.doc == "r3.pdf")
    blue_row = engine.store.get_rows(collection, f'unit_id == "{blue.unit_id}"')[0]
    real = engine.store.search_channel

    def leaky(*a, **kw):  # as if the store had ignored the filter for one row
        hits = real(*a, **kw)
        return [ChannelHit(blue.unit_id, 0.99, blue_row), *hits]

    monkeypatch.setattr(engine.store, "search_channel", leaky)
    with caplog.at_level("ERROR"):
        leaked = engine._recall_and_finish(SearchRun(*args, {}), time.perf_counter())
    assert blue.unit_id not in {h.unit_id for h in leaked.results}
    assert "let 1 unit(s) through" in caplog.text


def test_fetched_hits_carry_every_vector_channel_score(engine: SearchEngine) -> None:
    """A unit only the lexical channel recalled still gets its cosine, from the fetched vector."""
    collection = engine.store.served_collection()
    unit = engine.search(local_operator(), SearchRequest(query="report 1", top_k=1)).results[0]
    query = engine.encode_question(engine.encoders, "report 1")["text"]
    [hit] = engine.materialize(
        collection,
        local_operator(),
        [RankedUnit(unit.unit_id, 0.1, {"lexical": 2.5})],
        {"text": query, "lexical": "report 1"},
    )
    [row] = engine.store.get_rows(collection, f'unit_id == "{unit.unit_id}"', fields=["unit_id", "text"])
    assert hit.channel_scores["lexical"] == 2.5
    assert hit.channel_scores["text"] == pytest.approx(float(np.dot(row["text"], query)), abs=1e-5)
    assert "text" not in hit.model_dump()  # the vector itself is not part of the hit


def test_a_row_of_an_unregistered_group_set_is_never_visible() -> None:
    red = Principal(user="r", groups=["red"])
    row = {"tenant": "default", "groups": ["red"], "acl_key": "not-registered"}
    assert not SearchEngine._may_see(red, row, {"some-other-key"})
    assert SearchEngine._may_see(red, {**row, "acl_key": "k"}, {"k"})
    assert not SearchEngine._may_see(red, {**row, "tenant": "other", "acl_key": "k"}, {"k"})


def test_image_search_without_clip_is_a_clear_error(engine: SearchEngine) -> None:
    from PIL import Image

    with pytest.raises(FigvaultError, match="CLIP"):
        engine.search_image(local_operator(), Image.new("RGB", (8, 8)), SearchRequest())


def test_version_mismatch_is_reported(indexed) -> None:
    settings, _ = indexed
    other = settings.model_copy(deep=True)
    other.lexical.analyzer = "jieba"  # another analyzer is another embedding_version
    with pytest.raises(VersionMismatchError, match="run `figvault reencode`"):
        SearchEngine.from_settings(other).search(local_operator(), SearchRequest(query="x"))


def test_encoder_failure_surfaces_only_when_there_is_something_to_search(
    engine: SearchEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An empty answer (nothing served, nothing visible) needs no encoder; a real search reports its error."""

    def broken(texts: list[str]) -> np.ndarray:
        raise RuntimeError("encoder down")

    monkeypatch.setattr(engine.encoders.text, "encode_texts", broken)
    empty_store = SearchEngine.from_settings(
        load_settings("offline", data_dir=tmp_path / "empty"), encoders=engine.encoders
    )
    assert empty_store.search(local_operator(), SearchRequest(query="x")).results == []
    outsider = Principal(user="o", tenant="default", groups=["nobody-shares-this"])
    assert engine.search(outsider, SearchRequest(query="x")).results == []
    with pytest.raises(RuntimeError, match="encoder down"):
        engine.search(local_operator(), SearchRequest(query="x"))


def test_search_cli_json_shape(indexed) -> None:
    settings, _ = indexed
    result = CliRunner().invoke(
        app,
        [
            "--config",
            "offline",
            "--data-dir",
            str(settings.data_dir),
            "search",
            "report 2",
            "--json",
            "-k",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert len(payload["results"]) == 3
    first = payload["results"][0]
    for key in (
        "unit_id",
        "doc",
        "page",
        "label",
        "bbox",
        "kind",
        "caption",
        "score",
        "channel_scores",
        "image",
    ):
        assert key in first
    assert "rerank_score" in first and Path(first["image"]).is_file()
    assert payload["reranked"] is False and payload["rerank_note"].startswith("off")


def test_search_cli_rerank_note_names_the_cli_flags(indexed) -> None:
    """The note tells a CLI reader the flags; the same sentence tells an HTTP caller the request field
    (tests/service/test_api.py::test_search_rerank_note_names_the_request_field)."""
    settings, _ = indexed
    base = ["--config", "offline", "--data-dir", str(settings.data_dir), "search", "report 2", "--json"]
    default = json.loads(CliRunner().invoke(app, base).stdout)["rerank_note"]
    # Offline there are no weights to force it on with (the note said to ask, and asking then failed).
    model = settings.reranker.model
    assert (
        default == f"off: reranker.enabled = off (no local weights of {model}: set reranker.model to a local"
        " directory, then --rerank turns it on)"
    )
    declined = json.loads(CliRunner().invoke(app, [*base, "--no-rerank"]).stdout)["rerank_note"]
    assert declined == "off: not requested (--no-rerank)"


def test_search_cli_rejects_bad_input(indexed) -> None:
    settings, _ = indexed
    base = ["--config", "offline", "--data-dir", str(settings.data_dir), "search"]
    bad_kind = CliRunner().invoke(app, [*base, "x", "--kind", "nonsense"])
    assert bad_kind.exit_code == 2 and "--kind" in bad_kind.output
    bad_date = CliRunner().invoke(app, [*base, "x", "--after", "yesterday"])
    assert bad_date.exit_code == 2 and "YYYY-MM-DD" in bad_date.output


def test_eval_cli_scores_and_writes_results(indexed, engine: SearchEngine, tmp_path: Path) -> None:
    settings, docs = indexed
    lines = []
    for i in range(4):
        caption, page, label = caption_of(docs[0].parent, engine, f"r{i}.pdf")
        lines.append({"id": f"q{i}", "query": caption, "doc": f"r{i}.pdf", "page": page, "label": label})
    lines.append(
        {"id": "qx", "query": "a figure that is not there", "doc": None, "page": None, "label": None}
    )
    queries = tmp_path / "q.jsonl"
    queries.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    out = tmp_path / "results.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "--config",
            "offline",
            "--data-dir",
            str(settings.data_dir),
            "eval",
            str(queries),
            "--json",
            "--results",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["answerable"] == 4 and metrics["unanswerable"] == 1
    assert metrics["recall@1"] == 1.0 and metrics["mrr"] == 1.0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["q0", "q1", "q2", "q3", "qx"]
    assert set(rows[0]) == {"id", "results", "no_match"}
    # The stable fields, plus the collapsed copies of each result (issue 14: an addition, nothing renamed).
    assert set(rows[0]["results"][0]) == {"unit_id", "doc", "page", "label", "bbox", "score", "also_in"}
    assert rows[0]["results"][0]["also_in"] == []
    assert len(rows[0]["results"]) > 1
    # --top-k below 10 was ignored: every line held 10 results. The lines hold K; the scores are the same
    # (recall@5 and @10 read the first 10 either way).
    one = tmp_path / "one.jsonl"
    base = ["--config", "offline", "--data-dir", str(settings.data_dir), "eval", str(queries), "--json"]
    again = CliRunner().invoke(app, [*base, "--results", str(one), "--top-k", "1"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == metrics
    assert [len(json.loads(x)["results"]) for x in one.read_text().splitlines()] == [1, 1, 1, 1, 1]


def test_status_json(indexed) -> None:
    settings, _ = indexed
    result = CliRunner().invoke(
        app, ["--config", "offline", "--data-dir", str(settings.data_dir), "status", "--json"]
    )
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["alias"] == "figvault_units" and info["units"] == 8
    assert info["embedding_version"] == info["configured_embedding_version"] and info["version_matches"]
    assert info["collection"].startswith("figvault_units_v")
    # What the lexical index holds (the searches above built and saved it).
    assert info["lexical"]["index"] == "figvault BM25F" and info["lexical"]["units"] == 8


def test_fusion_ties_go_to_the_stronger_scores(engine: SearchEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ranks (1, 3) and (3, 1) fuse to the same RRF score: the channels' own scores decide, not the ids or
    which channel is listed first."""
    from figvault.retrieval.milvus_store import ChannelHit

    orders = {"text": ["a", "b", "c"], "lexical": ["c", "b", "a"]}
    # Equal channel weights: a weighted fusion (the offline profile's lexical x2) does not tie these ranks.
    monkeypatch.setattr(engine.settings.search, "weights", {"text": 1.0, "lexical": 1.0})
    for scores, winner in (
        ({"text": [0.98, 0.5, 0.2], "lexical": [4.2, 3.6, 3.3]}, "a"),  # near-exact caption vector for a
        ({"text": [0.30, 0.29, 0.28], "lexical": [9.0, 1.0, 0.5]}, "c"),  # flat cosines, c's words match
    ):

        def search_channel(collection, channel, query, expr, limit, *, output_fields=None, scores=scores):
            return [
                ChannelHit(uid, scores[channel][i], {"unit_id": uid}) for i, uid in enumerate(orders[channel])
            ]

        def lexical_search(collection, query, scope, expr, limit, scores=scores):
            return search_channel(collection, "lexical", query, expr, limit, scores=scores)

        monkeypatch.setattr(engine.store, "search_channel", search_channel)
        monkeypatch.setattr(engine.lexical, "search", lexical_search)
        args = engine.lexical_args(local_operator(), None, None)
        ranked = engine.recall("any", {"text": np.zeros(4, np.float32), "lexical": "q"}, "expr", 3, args)
        assert ranked[0].fused == ranked[1].fused  # the tie the rule is about
        assert ranked[0].unit_id == winner and {r.unit_id for r in ranked} == {"a", "b", "c"}


def test_lexical_alone_brings_its_rows(engine: SearchEngine) -> None:
    """With the lexical channel as the only one, its hits come with their rows (fetched by key) and the
    caller's scope and request filter hold."""
    collection = engine.store.served_collection()
    red = Principal(user="r", groups=["red"])
    expr, keys = engine._access(red, None)
    args = engine.lexical_args(red, SearchFilters(docs=["r1.pdf"]), keys)
    ranked, rows = engine.recall_with_rows(collection, "lexical", "figure report", expr, 5, args)
    assert ranked and {rows[r.unit_id]["doc"] for r in ranked} == {"r1.pdf"}
    assert all(set(r.channel_scores) == {"lexical"} for r in ranked)


def test_offline_no_match_and_answerable(indexed, engine: SearchEngine) -> None:
    """Without the VLM, the first stage's calibrated decision says no_match for a question nothing covers,
    and keeps the results (the caller sees what there is)."""
    settings, docs = indexed
    tuned = settings.model_copy(deep=True)
    tuned.search.no_match_weights = {"bias": -3.0, "lexical": 1.0, "coverage": 4.0, "coverage5": 2.0}
    tuned.search.no_match_threshold = 0.5
    calibrated = SearchEngine(
        tuned, engine.store, engine.encoders, engine.acl_sets, engine.blobs, lexical=engine.lexical
    )
    caption, _, _ = caption_of(docs[0].parent, engine, "r1.pdf")
    found = calibrated.search(local_operator(), SearchRequest(query=caption, top_k=3))
    assert not found.no_match and found.answerable is not None and found.answerable > 0.5
    missing = calibrated.search(
        local_operator(), SearchRequest(query="zebra migration across savanna", top_k=3)
    )
    assert missing.no_match and missing.answerable is not None and missing.answerable < 0.5
    assert missing.results
    # Off (no weights): never no_match while something is visible.
    tuned.search.no_match_weights = {}
    off = SearchEngine(
        tuned, engine.store, engine.encoders, engine.acl_sets, engine.blobs, lexical=engine.lexical
    )
    response = off.search(local_operator(), SearchRequest(query="zebra migration", top_k=3))
    assert not response.no_match and response.answerable is None


def test_offline_no_match_reads_bm25_against_the_callers_own_store_size(
    indexed, engine: SearchEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decision's N (the BM25's IDF scale) is the number of units the caller may see: a red caller's N
    counts the red units only (what others upload cannot move it), the whole tenant's counts both groups."""
    import figvault.retrieval.search as search_module

    settings, _ = indexed
    seen: list[int | None] = []
    real = search_module.decide

    def spy(question, candidates, weights, threshold, store_rows=None):  # type: ignore[no-untyped-def]
        seen.append(store_rows)
        return real(question, candidates, weights, threshold, store_rows)

    monkeypatch.setattr(search_module, "decide", spy)
    tuned = settings.model_copy(deep=True)
    tuned.search.no_match_weights = {"bias": -1.0, "lexical_scaled": 1.0}
    calibrated = SearchEngine(
        tuned, engine.store, engine.encoders, engine.acl_sets, engine.blobs, lexical=engine.lexical
    )
    red = Principal(user="r", groups=["red"])
    calibrated.search(red, SearchRequest(query="figure in report", top_k=3))
    calibrated.search(local_operator(), SearchRequest(query="figure in report", top_k=3))
    assert seen == [engine.count(red), engine.count(local_operator())] == [4, 8]


def test_row_cache_answers_like_lite_and_a_regroup_shows_at_once(indexed, engine: SearchEngine) -> None:
    """With the row cache (the default on Lite) searches answer exactly what an engine reading every row
    from Lite answers, for each caller, before and right after a regroup through another store object;
    the regrouped rows' access fields are the new ones at once (a stale row would hide them from blue)."""
    from figvault.pipeline.regroup import set_document_groups
    from figvault.retrieval.milvus_store import MilvusUnitStore

    settings, docs = indexed
    plain = settings.model_copy(deep=True)
    plain.store.row_cache_rows = 0
    uncached = SearchEngine(
        plain, MilvusUnitStore.from_settings(plain), engine.encoders, engine.acl_sets, engine.blobs
    )
    people = [local_operator(), Principal(user="r", groups=["red"]), Principal(user="b", groups=["blue"])]
    caption = caption_of(docs[0].parent, engine, "r0.pdf")[0]
    questions = ["figure in report", caption, "chart report 3"]

    def answers(e: SearchEngine) -> list[dict]:
        return [
            e.search(p, SearchRequest(query=q, top_k=10, rerank=False)).model_dump(exclude={"timings"})
            for p in people
            for q in questions
        ]

    assert answers(engine) == answers(uncached)
    assert len(engine.store.row_cache) > 0  # the first round kept the rows of the hits
    assert answers(engine) == answers(uncached)  # and the second round answered from them
    blue = Principal(user="b", groups=["blue"])
    request = SearchRequest(query=caption, top_k=10, rerank=False)
    assert "r0.pdf" not in {h.doc for h in engine.search(blue, request).results}
    doc_id = engine.store.get_rows(engine.store.served_collection(), 'doc == "r0.pdf"')[0]["doc_id"]
    set_document_groups(settings, "default", doc_id, ["blue"])  # its own store object, same Lite folder
    try:
        assert "r0.pdf" in {h.doc for h in engine.search(blue, request).results}
        assert answers(engine) == answers(uncached)
    finally:
        set_document_groups(settings, "default", doc_id, ["red"])
    assert "r0.pdf" not in {h.doc for h in engine.search(blue, request).results}


def test_a_typo_flagged_no_match_gets_a_respelling_from_the_callers_own_documents(
    indexed, engine: SearchEngine
) -> None:
    """ "raft leder electon" was flagged no_match and nothing more; now the answer says "did you mean" with
    words of units the caller may see, and a caller who may not see the word is never offered it (another
    group's vocabulary would leak). A correctly spelled question gets no suggestion."""
    from figvault.retrieval.lexical_text import field_texts

    settings, _ = indexed
    tuned = settings.model_copy(deep=True)
    tuned.search.no_match_weights = {"bias": -3.0, "lexical": 1.0, "coverage": 4.0, "coverage5": 2.0}
    tuned.search.no_match_threshold = 0.5
    calibrated = SearchEngine(
        tuned, engine.store, engine.encoders, engine.acl_sets, engine.blobs, lexical=engine.lexical
    )
    rows = engine.store.get_rows(engine.store.served_collection(), 'doc != ""')

    def words(docs: set[str]) -> set[str]:
        texts = [t for r in rows if r["doc"] in docs for t in field_texts(r)]
        return {w for t in texts for w in t.lower().split()}

    red_only = sorted(w for w in words({"r0.pdf", "r1.pdf"}) - words({"r2.pdf", "r3.pdf"}) if len(w) >= 7)
    word = next(w for w in red_only if w.isalpha())
    typo = word[:2] + word[3:]  # a letter dropped
    red, blue = Principal(user="r", groups=["red"]), Principal(user="b", groups=["blue"])
    answer = calibrated.search(red, SearchRequest(query=typo, top_k=3))
    assert answer.no_match and answer.did_you_mean == word, (typo, answer.did_you_mean)
    other = calibrated.search(blue, SearchRequest(query=typo, top_k=3))
    assert other.did_you_mean is None or set(other.did_you_mean.split()) <= words({"r2.pdf", "r3.pdf"})
    caption, _, _ = caption_of(indexed[1][0].parent, engine, "r1.pdf")
    assert calibrated.search(red, SearchRequest(query=caption, top_k=3)).did_you_mean is None
