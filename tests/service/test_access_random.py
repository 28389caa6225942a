"""Randomized access test: many principals with random groups and tenants against documents with random
groups; every search result, count, unit, image and document answer is checked against ``Principal.sees``.

Zero leaks, and no short pages: with ``top_k`` above the number of units, a search must return exactly the
units the caller may see (the filter is part of the store query, not a post-filter).
"""

from __future__ import annotations

import random

from figvault.access import Principal, Role
from tests.service.conftest import GROUPS, TENANTS, World

N_USERS = 24
N_JWT_USERS = 6
QUERIES = ("revenue by region", "turbine vibration figure", "report")


def random_users(world: World, rng: random.Random) -> list[str]:
    names = []
    for i in range(N_USERS):
        # Some users hold a group no document uses; some share one group; some several.
        pool = [*GROUPS, "nobody"]
        groups = sorted(rng.sample(pool, rng.randint(1, 3)))
        tenant = rng.choice([*TENANTS, "initech"])
        name = f"rand{i}"
        world.add_user(name, rng.choice([Role.READER, Role.EDITOR]), groups, tenant)
        names.append(name)
    for i in range(N_JWT_USERS):  # token callers, some with no groups at all
        name = f"jwt{i}"
        world.add_jwt_principal(name, sorted(rng.sample(GROUPS, rng.randint(0, 2))), rng.choice(TENANTS))
        names.append(name)
    return names


def expected_units(world: World, principal: Principal) -> set[str]:
    return {uid for d in world.docs if principal.sees(d.tenant, d.groups) for uid in d.unit_ids}


def test_random_principals_see_exactly_their_units(world: World) -> None:
    rng = random.Random(11)
    names = random_users(world, rng)
    all_units = world.unit_doc()
    assert len(all_units) >= 8
    missing_unit = world.client.get("/v1/units/" + "0" * 32, headers=world.headers("admin"))
    missing_image = world.client.get("/v1/units/" + "0" * 32 + "/image", headers=world.headers("admin"))
    missing_doc = world.client.get("/v1/documents/no-such-doc", headers=world.headers("admin"))
    assert missing_unit.status_code == missing_image.status_code == missing_doc.status_code == 404

    checked_hidden = 0
    seen_counts = []
    for name in names:
        principal = world.principals[name]
        headers = world.headers(name)
        visible = expected_units(world, principal)
        seen_counts.append(len(visible))

        for query in QUERIES:
            response = world.client.post("/v1/search", json={"query": query, "top_k": 100}, headers=headers)
            assert response.status_code == 200, response.text
            got = [h["unit_id"] for h in response.json()["results"]]
            assert len(got) == len(set(got))
            leaked = set(got) - visible
            assert not leaked, f"{name} {principal} saw {leaked}"
            assert set(got) == visible, f"{name}: short page {len(got)} of {len(visible)}"

        for unit_id in all_units:
            unit = world.client.get(f"/v1/units/{unit_id}", headers=headers)
            image = world.client.get(f"/v1/units/{unit_id}/image", headers=headers)
            if unit_id in visible:
                assert unit.status_code == 200 and unit.json()["unit_id"] == unit_id
                assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
            else:
                checked_hidden += 1
                # Indistinguishable from an id that does not exist.
                assert (unit.status_code, unit.content) == (404, missing_unit.content), name
                assert (image.status_code, image.content) == (404, missing_image.content), name

        listing = world.client.get("/v1/documents", headers=headers)
        assert listing.status_code == 200
        docs = {d["doc_id"]: d for d in listing.json()["documents"]}
        expected_docs = {d.doc_id: d for d in world.docs if principal.sees(d.tenant, d.groups)}
        assert set(docs) == set(expected_docs), name
        assert listing.json()["total"] == len(expected_docs)
        for doc_id, shown in docs.items():
            assert shown["units"] == len(expected_docs[doc_id].unit_ids)
            assert set(shown["groups"]) <= set(principal.groups)
        assert page_of_documents(world, headers, 2) == sorted(expected_docs), name
        for doc in world.docs:
            one = world.client.get(f"/v1/documents/{doc.doc_id}", headers=headers)
            if doc.doc_id in expected_docs:
                assert one.status_code == 200 and one.json()["doc_id"] == doc.doc_id
            else:
                assert (one.status_code, one.content) == (404, missing_doc.content)

    # The draw exercised the interesting cases: callers who see nothing, some, and hidden units.
    assert checked_hidden > 0
    assert 0 in seen_counts and any(0 < n < len(all_units) for n in seen_counts)


def page_of_documents(world: World, headers: dict[str, str], limit: int) -> list[str]:
    """Every document the caller sees, read ``limit`` at a time through ``next_after``: their ids in the
    order read (each page holds the same ``total``)."""
    ids: list[str] = []
    after: str | None = None
    totals: set[int] = set()
    for _ in range(100):
        params: dict[str, object] = {"limit": limit, **({"after": after} if after is not None else {})}
        body = world.client.get("/v1/documents", params=params, headers=headers).json()
        ids.extend(d["doc_id"] for d in body["documents"])
        totals.add(body["total"])
        assert len(body["documents"]) <= limit
        after = body["next_after"]
        if after is None:
            break
    assert totals == {len(ids)}
    return ids


def test_every_search_is_audited(world: World) -> None:
    before = world.client.get("/v1/audit", params={"action": "search"}, headers=world.headers("admin"))
    n_before = before.json()["total"]
    queries = [f"figure about {topic}" for topic in ("soil", "churn", "solar", "crop")]
    returned = []
    for q in queries:
        body = world.client.post("/v1/search", json={"query": q}, headers=world.headers("reader")).json()
        returned.append([h["unit_id"] for h in body["results"]])
    after = world.client.get(
        "/v1/audit", params={"action": "search", "limit": len(queries)}, headers=world.headers("admin")
    ).json()
    assert after["total"] == n_before + len(queries)
    newest_first = list(reversed(after["entries"]))
    assert [e["query"] for e in newest_first] == queries
    assert [e["unit_ids"] for e in newest_first] == returned
    assert all(e["user"] == "reader" and e["tenant"] == "acme" for e in newest_first)
