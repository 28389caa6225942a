"""Changing who sees a document without re-ingesting it: units rewritten in place, atomically per document.

Offline profile (MiniLM text + BM25) on Milvus Lite, two generated one-page PDFs of two figures each.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from figvault.access import Principal, Role
from figvault.cli import load_commands
from figvault.commands import app
from figvault.encoders.factory import build_encoders
from figvault.errors import FigvaultError
from figvault.pipeline.ingest_pipeline import ingest_paths
from figvault.pipeline.registry import DocumentRegistry
from figvault.pipeline.regroup import DocumentNotFoundError, set_document_groups
from figvault.retrieval.acl import acl_key
from figvault.retrieval.lexical_log import ChangeLog
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.retrieval.search import SearchEngine
from figvault.search_models import SearchRequest
from figvault.settings import Settings, load_settings
from tests.generated_docs import figure_pdf

TENANT = "acme"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("regroup")
    s = load_settings("offline", data_dir=root / "data")
    s.extract.workers = 1
    encoders = build_encoders(s)
    for name, seed, groups, tenant in (
        ("alpha.pdf", 31, ["g1"], TENANT),
        ("beta.pdf", 32, ["g1"], TENANT),
        ("alpha.pdf", 31, ["g1"], "other"),  # the same document id in another tenant
    ):
        (root / tenant).mkdir(exist_ok=True)
        path = figure_pdf(root / tenant / name, seed=seed, n_figures=2)
        # The name as id (``--doc-id``): what these tests read is the regroup, not how ids are chosen.
        report = ingest_paths(
            s, [path], groups=groups, tenant=tenant, progress=False, encoders=encoders, doc_id=name
        )
        assert not report.failed and report.units == 2
    return s


@pytest.fixture(scope="module")
def engine(settings: Settings) -> SearchEngine:
    return SearchEngine.from_settings(settings)


def reader(*groups: str) -> Principal:
    return Principal(user="r", tenant=TENANT, groups=list(groups), roles=[Role.READER])


def rows_of(store: MilvusUnitStore, tenant: str, doc_id: str) -> dict[str, dict]:
    """Every stored field of the document's units (vectors included), by unit id."""
    expr = f'tenant == "{tenant}" and doc_id == "{doc_id}"'
    collection = store.served_collection()
    return {r["unit_id"]: r for r in store.query_rows(collection, expr, store.written_fields(collection))}


def docs_found(engine: SearchEngine, principal: Principal) -> dict[str, int]:
    response = engine.search(principal, SearchRequest(query="figure report", top_k=50))
    found: dict[str, int] = {}
    for hit in response.results:
        found[hit.doc_id] = found.get(hit.doc_id, 0) + 1
    return found


def test_set_groups_rewrites_access_in_place(settings: Settings, engine: SearchEngine) -> None:
    store = engine.store
    before = rows_of(store, TENANT, "alpha.pdf")
    other_before = rows_of(store, "other", "alpha.pdf")
    assert docs_found(engine, reader("g2")) == {}

    log = ChangeLog.open(settings)
    head = log.head()
    result = set_document_groups(settings, TENANT, "alpha.pdf", ["g2", "g3", "g2"])
    assert (result.before, result.after, result.units) == (["g1"], ["g2", "g3"], 2)
    # Logged like any write, so every process's lexical index re-reads exactly these units.
    assert log.changed(store.served_collection(), head, log.head()) == set(before)

    after = rows_of(store, TENANT, "alpha.pdf")
    assert after.keys() == before.keys()
    assert "text" in next(iter(after.values()))  # the vectors are among the fields compared
    for uid, row in after.items():
        assert row["groups"] == ["g2", "g3"] and row["acl_key"] == acl_key(["g2", "g3"])
        # Nothing re-extracted or re-encoded: every other field (vectors, texts, geometry) is as stored.
        unchanged = {k: v for k, v in row.items() if k not in ("groups", "acl_key")}
        assert unchanged == {k: v for k, v in before[uid].items() if k not in ("groups", "acl_key")}
    assert rows_of(store, "other", "alpha.pdf") == other_before  # another tenant's same id is untouched
    assert DocumentRegistry.open(settings).get(TENANT, "alpha.pdf").groups == ["g2", "g3"]
    assert docs_found(engine, reader("g2")) == {"alpha.pdf": 2}
    assert docs_found(engine, reader("g1")) == {"beta.pdf": 2}
    # The lexical channel finds the regrouped units under their new groups (the regroup is in its change log).
    caption = next(iter(after.values()))["caption"]
    lexical = engine.search(reader("g3"), SearchRequest(query=caption, top_k=5))
    assert lexical.results and lexical.results[0].caption == caption
    assert lexical.results[0].channel_scores.get("lexical", 0) > 0  # the lexical index saw the regroup
    set_document_groups(settings, TENANT, "alpha.pdf", ["g1"])


def test_bad_requests_change_nothing(settings: Settings, engine: SearchEngine) -> None:
    with pytest.raises(DocumentNotFoundError, match=r"no document 'nope\.pdf' in tenant 'acme'"):
        set_document_groups(settings, TENANT, "nope.pdf", ["g1"])
    with pytest.raises(FigvaultError, match="at least one group"):
        set_document_groups(settings, TENANT, "beta.pdf", [" "])
    with pytest.raises(FigvaultError, match="invalid group name"):
        set_document_groups(settings, TENANT, "beta.pdf", ['g1" or true'])
    assert {tuple(r["groups"]) for r in rows_of(engine.store, TENANT, "beta.pdf").values()} == {("g1",)}


def test_concurrent_searches_never_see_half_a_regroup(settings: Settings, engine: SearchEngine) -> None:
    """While alpha flips between g1 and g2, a g1 and a g2 reader search on. Each answer holds both of alpha's
    units or neither (never one with the old groups and one with the new), and beta (g1) is untouched."""
    flips = 12
    stop = threading.Event()
    searches = [0]
    answers: dict[str, list[dict[str, int]]] = {"g1": [], "g2": []}
    errors: list[BaseException] = []

    def search_loop() -> None:
        try:
            while not stop.is_set():
                for group in ("g1", "g2"):
                    answers[group].append(docs_found(engine, reader(group)))
                searches[0] += 1
        except BaseException as exc:  # the main thread reports it
            errors.append(exc)
            stop.set()

    searcher = threading.Thread(target=search_loop)
    searcher.start()
    try:
        for i in range(flips):
            set_document_groups(settings, TENANT, "alpha.pdf", ["g2"] if i % 2 == 0 else ["g1"])
            seen = searches[0]
            while searches[0] < seen + 2 and not stop.is_set():  # a whole search pass in this state
                stop.wait(0.01)
    finally:
        stop.set()
        searcher.join()
    assert not errors, errors
    for group, found in answers.items():
        alpha = [f.get("alpha.pdf", 0) for f in found]
        assert set(alpha) <= {0, 2}, f"{group}: a search saw part of alpha regrouped: {alpha}"
        assert set(alpha) == {0, 2}, f"{group}: the searches never saw both states: {alpha}"
    assert all(f.get("beta.pdf") == 2 for f in answers["g1"])
    assert not any("beta.pdf" in f for f in answers["g2"])


def test_cli_lists_documents_and_sets_groups(settings: Settings) -> None:
    load_commands()
    base = ["--config", "offline", "--data-dir", str(settings.data_dir)]
    listed = CliRunner().invoke(app, [*base, "documents", "list", "--json", "--tenant", TENANT])
    assert listed.exit_code == 0, listed.output
    docs = {d["doc_id"]: d for d in json.loads(listed.stdout)}
    assert docs["beta.pdf"] == docs["beta.pdf"] | {"name": "beta.pdf", "groups": ["g1"], "units": 2}
    assert docs["beta.pdf"]["state"] == "indexed"

    changed = CliRunner().invoke(
        app, [*base, "documents", "set-groups", "beta.pdf", "--groups", "g4,g5", "--tenant", TENANT]
    )
    assert changed.exit_code == 0, changed.output
    assert "groups g1 -> g4,g5; 2 units rewritten" in changed.stdout
    listing = CliRunner().invoke(app, [*base, "documents", "list"]).stdout
    table = [line.split("\t") for line in listing.splitlines()]
    assert table[0] == ["name", "id", "tenant", "groups", "units", "state", "source", "tags", "error"]
    [beta] = [row for row in table if row[1] == "beta.pdf"]
    assert beta[:6] == ["beta.pdf", "beta.pdf", "acme", "g4,g5", "2", "indexed"]
    assert beta[6].endswith("/acme/beta.pdf")

    from figvault.pipeline import audit
    from figvault.pipeline.registry import connect

    [entry] = audit.list_entries(connect(settings), TENANT, limit=1).entries
    assert (entry.action, entry.user) == ("set-groups", "cli")
    assert entry.detail | {"doc_id": "beta.pdf", "before": ["g1"], "after": ["g4", "g5"]} == entry.detail

    # Adding a user says what they will see, and how to fix it when that is nothing.
    sees = CliRunner().invoke(app, [*base, "users", "add", "ivy", "--groups", "g1,g4", "--tenant", TENANT])
    assert "ivy can see 2 of the 2 documents of tenant acme\n" in sees.stderr
    blind = CliRunner().invoke(app, [*base, "users", "add", "hal", "--groups", "g9", "--tenant", TENANT])
    assert blind.exit_code == 0 and blind.stdout.startswith("fvk_")
    assert (
        "hal can see 0 of the 2 documents of tenant acme: the documents' groups are g1, g4, g5: give hal one"
        " of them (`figvault users set hal --groups ...`), or give a document this group too"
    ) in blind.stderr
    # A group another's spelling: named, and the fix is the user's (before: "set-groups ID --groups G1",
    # which, followed, took the documents from every user of g1).
    typo = CliRunner().invoke(app, [*base, "users", "add", "eve", "--groups", "G1", "--tenant", TENANT])
    assert (
        "eve can see 0 of the 2 documents of tenant acme: did you mean 'g1' for 'G1' (groups are exact)?"
        " `figvault users set eve --groups g1`"
    ) in typo.stderr
    again = CliRunner().invoke(app, [*base, "users", "add", "eve", "--groups", "g1", "--tenant", TENANT])
    assert again.exit_code == 1 and "`figvault users rotate eve` gives it a new key" in again.stderr

    missing = CliRunner().invoke(app, [*base, "documents", "set-groups", "nope.pdf", "--groups", "g1"])
    assert missing.exit_code == 1 and "no document 'nope.pdf'" in missing.stderr
    set_document_groups(settings, TENANT, "beta.pdf", ["g1"])


@pytest.mark.parametrize("change", ["groups", "tags"])
def test_a_document_deleted_while_it_is_regrouped_stays_deleted(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """A deletion does not wait for the store lock a regroup (or retag) holds. One that landed while the
    regroup rewrote the units brought the document back: its record written again over the deletion (with
    its rewritten units, or with none). A deletion wins now: the change answers "no document", and neither
    the record nor a unit stays."""
    from figvault.pipeline.ingest_pipeline import delete_document
    from figvault.pipeline.regroup import set_document_tags

    tenant = f"race-{change}"
    path = figure_pdf(tmp_path / "gamma.pdf", seed=33, n_figures=2)
    assert not ingest_paths(settings, [path], groups=["g1"], tenant=tenant, progress=False).failed
    [record] = DocumentRegistry.open(settings).list(tenant)
    store = MilvusUnitStore.from_settings(settings)
    write_back = store.upsert_rows

    def deleted_first(*args, **kwargs):  # deleted after the units were read, before the write
        assert delete_document(settings, tenant, record.doc_id)
        return write_back(*args, **kwargs)

    monkeypatch.setattr(store, "upsert_rows", deleted_first)
    regroup = set_document_groups if change == "groups" else set_document_tags
    with pytest.raises(DocumentNotFoundError):
        regroup(settings, tenant, record.doc_id, ["g2"], store=store, lock_timeout_s=5)
    assert DocumentRegistry.open(settings).get(tenant, record.doc_id) is None
    assert store.unit_ids_of_doc(store.served_collection(), tenant, record.doc_id) == set()


def half_replaced(settings: Settings, tmp_path: Path, tenant: str, seed: int) -> tuple[MilvusUnitStore, dict]:
    """Document ``d`` of ``tenant`` (groups g1, tags old), whose replacement (g2, new) wrote its new units and
    failed before it deleted the old ones: both live, the record says g2. The store, and the old units."""
    from figvault.pipeline.ingest_pipeline import IngestRunner

    path = figure_pdf(tmp_path / f"half-{seed}.pdf", seed=seed, n_figures=2)
    ingest_paths(settings, [path], groups=["g1"], tenant=tenant, progress=False, tags=["old"], doc_id="d")
    store = MilvusUnitStore.from_settings(settings)
    old = rows_of(store, tenant, "d")
    figure_pdf(path, seed=seed + 1, n_figures=1)

    def crash(stage: str, _outcome: object) -> None:
        if stage == "written":
            raise RuntimeError("simulated crash between the new units' write and the old ones' delete")

    report = IngestRunner(settings, hook=crash).run(
        [path], groups=["g2"], tenant=tenant, progress=False, tags=["new"], doc_id="d"
    )
    assert report.failed
    return store, old


def test_a_tag_change_after_a_half_failed_replacement_tags_every_live_unit(
    settings: Settings, tmp_path: Path
) -> None:
    """A replacement that wrote its new units and then failed (before the old ones were deleted) leaves
    both: the old units with the old groups, the new ones with the new groups, the record with the new.
    A tag change gives every live unit of the document the tags and leaves each unit's groups as they are."""
    from figvault.pipeline.regroup import set_document_tags

    tenant = "half"
    store, old = half_replaced(settings, tmp_path, tenant, seed=34)
    before = rows_of(store, tenant, "d")
    assert set(old) < set(before)  # old and new units both live
    result = set_document_tags(settings, tenant, "d", ["retagged"], store=store, lock_timeout_s=5)
    after = rows_of(store, tenant, "d")
    assert set(after) == set(before) and result.units == len(after)
    for unit_id, row in after.items():
        assert row["tags"] == ["retagged"], unit_id
        assert (row["groups"], row["acl_key"]) == (before[unit_id]["groups"], before[unit_id]["acl_key"])
    assert {tuple(r["groups"]) for r in after.values()} == {("g1",), ("g2",)}
    assert DocumentRegistry.open(settings).get(tenant, "d").tags == ["retagged"]


def test_an_editors_tag_change_after_a_half_failed_replacement_leaves_the_units_it_may_not_see(
    settings: Settings, tmp_path: Path
) -> None:
    """The same half-failed replacement, and an editor of the new groups changes the tags: it rewrote the
    old units too (groups g1, which it may not see), and counted them to it. Only its units change now."""
    from figvault.pipeline.regroup import set_document_tags

    tenant = "half-editor"
    store, _ = half_replaced(settings, tmp_path, tenant, seed=34)
    before = rows_of(store, tenant, "d")
    editor = Principal(user="ed", tenant=tenant, groups=["g2"], roles=[Role.EDITOR])
    result = set_document_tags(
        settings, tenant, "d", ["by-editor"], store=store, lock_timeout_s=5, editor=editor
    )
    after = rows_of(store, tenant, "d")
    theirs = {u for u, r in before.items() if r["groups"] == ["g2"]}
    assert theirs and len(theirs) < len(before)
    assert result.units == len(theirs)
    for unit_id, row in after.items():
        assert row["tags"] == (["by-editor"] if unit_id in theirs else before[unit_id]["tags"]), unit_id
    assert {tuple(after[u]["tags"]) for u in set(before) - theirs} == {("old",)}


def test_a_change_of_groups_alone_does_not_move_the_documents_change_time(
    settings: Settings, tmp_path: Path
) -> None:
    """Readers see a document's ``updated_at``. A regroup set it to now, so when an admin gave or took a
    group a reader is not in, the reader saw the time move with nothing else changed, and learnt of a group
    it may not know of. A change of groups leaves it; a change of tags, which every reader sees, moves it."""
    from figvault.pipeline.regroup import set_document_tags

    tenant = "times"
    path = figure_pdf(tmp_path / "plan.pdf", seed=36, n_figures=1)
    ingest_paths(settings, [path], groups=["eng", "ops"], tenant=tenant, progress=False, doc_id="d")
    registry = DocumentRegistry.open(settings)
    written = registry.get(tenant, "d").updated_at
    set_document_groups(settings, tenant, "d", ["eng"], lock_timeout_s=5)
    regrouped = registry.get(tenant, "d")
    assert regrouped.groups == ["eng"] and regrouped.updated_at == written
    set_document_tags(settings, tenant, "d", ["q3"], lock_timeout_s=5)
    assert registry.get(tenant, "d").updated_at > written


def test_users_add_names_only_a_near_spelling_and_a_user_without_groups_gets_one() -> None:
    """The review of the hint: difflib's default likeness (0.6) named "team-b" for "team-a", another team's
    group, as the meant one; and a user without groups was told `--groups ` with nothing after it."""
    from figvault.commands.users import _no_shared_group

    assert _no_shared_group("eve", ["fnance"], {"finance", "hr"}).startswith("did you mean 'finance'")
    for given, other in (("team-a", "team-b"), ("finance", "finance-hr"), ("legal", "legacy")):
        assert "did you mean" not in _no_shared_group("eve", [given], {other}), given
    assert _no_shared_group("eve", [], {"ops", "hr"}) == (
        "eve has no groups: `figvault users set eve --groups hr` (a documents' group)"
    )


def test_an_editors_tag_change_stopped_half_way_is_finished_as_a_tag_change(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same half-failed replacement; the editor's retag stops before its rows. Finished as an ingest's
    update (groups and tags on every row), it gave the old version's units (g1) the new groups and the
    editor's tags (a review, 2026-12-06). It is finished as the tag change it was: the editor's units."""
    from figvault.pipeline import regroup
    from figvault.pipeline.regroup import finish_rewrites, set_document_tags

    tenant = "half-stopped"
    store, _ = half_replaced(settings, tmp_path, tenant, seed=36)
    before = rows_of(store, tenant, "d")

    def stops_before_its_rows(*args: object, **kwargs: object) -> object:
        raise KeyboardInterrupt  # the process stops: nothing after it runs

    monkeypatch.setattr(regroup, "_rewrite_everywhere", stops_before_its_rows)
    editor = Principal(user="ed", tenant=tenant, groups=["g2"], roles=[Role.EDITOR])
    with pytest.raises(KeyboardInterrupt):
        set_document_tags(settings, tenant, "d", ["by-editor"], store=store, lock_timeout_s=5, editor=editor)
    monkeypatch.undo()
    assert finish_rewrites(settings) == 1
    after = rows_of(store, tenant, "d")
    for unit_id, row in after.items():
        mine = before[unit_id]["groups"] == ["g2"]
        assert row["groups"] == before[unit_id]["groups"], unit_id  # no unit's groups change
        assert row["tags"] == (["by-editor"] if mine else ["old"]), unit_id
