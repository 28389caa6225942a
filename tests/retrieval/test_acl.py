"""Access filters inside the query: random principals against the Python rule, zero leaks, counts too."""

from __future__ import annotations

import random
from datetime import date

import numpy as np
import pytest

from figvault.access import Principal, local_operator
from figvault.retrieval.acl import AccessForm, acl_key, build_filter, quote
from figvault.retrieval.acl_sets import AclSetTable
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.retrieval.schema import F_ID
from figvault.search_models import SearchFilters
from figvault.settings import Settings, load_settings
from figvault.units import FigureKind
from tests.retrieval.store_fixtures import LAYOUT, random_unit, rows_for

GROUPS = ["g0", "g1", "g2", "g3", "g4"]
TENANTS = ["acme", "globex"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    settings: Settings = load_settings("offline", data_dir=tmp_path_factory.mktemp("acl"))
    store = MilvusUnitStore.from_settings(settings)
    table = AclSetTable.at(settings.registry_path)
    rng = random.Random(11)
    units = []
    for i in range(400):
        tenant = rng.choice(TENANTS)
        groups = rng.sample(GROUPS, rng.randint(0, 3))
        units.append(random_unit(rng, i, tenant=tenant, groups=groups, doc_id=f"d{i % 9}"))
    for u in units:
        table.register(u.tenant, u.groups)
    collection = store.ensure_collection(LAYOUT)
    rows = rows_for(units, seed=3)
    store.upsert_rows(collection, rows)
    return store, table, collection, units, rows


FORMS: list[AccessForm] = ["acl_key", "groups"]


def visible_ids(
    store, table, collection, principal, filters=None, form: AccessForm = "acl_key"
) -> set[str] | None:
    sets = None if principal.unrestricted else table.sets_of(principal.tenant)
    expr = build_filter(principal, filters, sets, form=form)
    if expr is None:
        return None
    return {r[F_ID] for r in store.query_rows(collection, expr, [F_ID])}


@pytest.mark.parametrize("form", FORMS)
def test_random_principals_see_exactly_what_the_rule_allows(world, form: AccessForm) -> None:
    store, table, collection, units, _ = world
    rng = random.Random(5)
    for _ in range(30):
        principal = Principal(
            user="u", tenant=rng.choice(TENANTS), groups=rng.sample(GROUPS, rng.randint(0, 3))
        )
        truth = {u.unit_id for u in units if principal.sees(u.tenant, u.groups)}
        got = visible_ids(store, table, collection, principal, form=form)
        if got is None:  # nothing visible: the engine does not even query
            assert truth == set()
            continue
        assert got == truth
        sets = table.sets_of(principal.tenant)
        assert store.count(collection, build_filter(principal, None, sets, form=form)) == len(truth)


def test_vector_search_never_returns_a_hidden_unit(world) -> None:
    store, table, collection, units, rows = world
    by_id = {u.unit_id: u for u in units}
    principal = Principal(user="u", tenant="acme", groups=["g1"])
    expr = build_filter(principal, None, table.sets_of("acme"))
    for row in rows[:20]:
        hits = store.search_channel(collection, "text", np.asarray(row["text"]), expr, 50)
        assert hits
        assert all(principal.sees(by_id[h.unit_id].tenant, by_id[h.unit_id].groups) for h in hits)


def test_unrestricted_operator_sees_its_whole_tenant_only(world) -> None:
    store, table, collection, units, _ = world
    got = visible_ids(store, table, collection, local_operator("globex"))
    assert got == {u.unit_id for u in units if u.tenant == "globex"}


def test_no_groups_or_unknown_groups_see_nothing() -> None:
    assert (
        build_filter(Principal(user="u", tenant="acme", groups=[]), None, {acl_key(["g1"]): ["g1"]}) is None
    )
    assert (
        build_filter(Principal(user="u", tenant="acme", groups=["zz"]), None, {acl_key(["g1"]): ["g1"]})
        is None
    )


@pytest.mark.parametrize("form", FORMS)
def test_request_filters_join_the_access_filter(world, form: AccessForm) -> None:
    store, table, collection, units, _ = world
    principal = Principal(user="u", tenant="acme", groups=["g0", "g2"])
    filters = SearchFilters(
        doc_ids=["d1", "d2"], kinds=[FigureKind.CHART], after=date(2015, 1, 1), before=date(2020, 12, 31)
    )
    truth = {
        u.unit_id
        for u in units
        if principal.sees(u.tenant, u.groups)
        and u.doc_id in {"d1", "d2"}
        and u.kind == FigureKind.CHART
        and "2015-01-01" <= (u.meta.created or "") <= "2020-12-31"
    }
    assert truth, "the fixture should have some matches"
    assert visible_ids(store, table, collection, principal, filters, form) == truth


@pytest.mark.parametrize("form", FORMS)
def test_hostile_names_cannot_widen_the_filter(world, form: AccessForm) -> None:
    store, table, collection, units, _ = world
    principal = Principal(user="u", tenant="acme", groups=["g1"])
    hostile = SearchFilters(docs=['x" or tenant != "', "d1.pdf\\", 'a"] or unit_id != "'])
    assert visible_ids(store, table, collection, principal, hostile, form) == set()
    # A registered group whose name is an injection attempt is quoted like any other name.
    group = 'g9"]) or (tenant != "'
    table.register("acme", [group])
    sneaky = Principal(user="u", tenant="acme", groups=["g1", group])
    truth = {u.unit_id for u in units if u.tenant == "acme" and "g1" in u.groups}
    assert visible_ids(store, table, collection, sneaky, form=form) == truth
    assert quote('a"b\\c') == '"a\\"b\\\\c"'


def test_acl_key_ignores_order_and_duplicates() -> None:
    assert acl_key(["b", "a", "a"]) == acl_key(["a", "b"])
    assert acl_key(["a"]) != acl_key(["a", "b"])


def test_sets_registered_by_another_process_are_seen_at_once(tmp_path) -> None:
    """sets_of keeps the sets between calls; a set another connection adds must still show up next time."""
    reader = AclSetTable.at(tmp_path / "registry.sqlite3")
    writer = AclSetTable.at(tmp_path / "registry.sqlite3")
    first = writer.register("acme", ["red"])
    assert reader.sets_of("acme") == {first: ["red"]}
    second = writer.register("acme", ["blue", "red"])
    writer.register("other", ["green"])
    assert reader.sets_of("acme") == {first: ["red"], second: ["blue", "red"]}
    assert reader.sets_of("other") != {} and reader.sets_of("nobody") == {}
