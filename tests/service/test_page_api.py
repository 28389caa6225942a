"""The search page's endpoints through the app: page images, a document's figures, the admin map, /v1/me.

Uses the served world of tests/service/conftest.py (generated PDFs under random groups and two tenants),
ingested through the real pipeline, so the originals were kept by its hook.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from PIL import Image

from figvault.access import Role
from figvault.pipeline.page_images import (
    PageImageRenderer,
    PageNotFoundError,
    PageRenderBusyError,
    document_scope,
)
from figvault.pipeline.sources import (
    OriginalNotKeptError,
    RenderFailedError,
    SlidesUnavailableError,
    SourceUnavailableError,
)
from figvault.retrieval import document_units
from tests.generated_docs import figure_pdf
from tests.service.conftest import GROUPS, World, ingest_doc


@pytest.fixture(scope="module")
def narrow(world: World) -> str:
    """A reader of tenant acme who belongs to g0 only."""
    world.add_user("narrow", Role.READER, ["g0"], "acme")
    return "narrow"


def acme_docs(world: World) -> list:
    return [d for d in world.docs if d.tenant == "acme"]


def test_me_reports_the_caller(world: World) -> None:
    me = world.client.get("/v1/me", headers=world.headers("editor")).json()
    assert me["user"] == "editor" and me["tenant"] == "acme"
    assert me["groups"] == ["g0", "g1"] and me["roles"] == ["editor"]
    assert "ingest" in me["actions"] and "audit" not in me["actions"]
    assert world.client.get("/v1/me").status_code == 401


def test_page_image_of_a_visible_document(world: World) -> None:
    doc = acme_docs(world)[0]
    url = f"/v1/documents/{doc.doc_id}/pages/1/image"
    response = world.client.get(url, headers=world.headers("reader"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert "private" in response.headers["cache-control"]
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.size[1] > image.size[0] > 800  # A4 portrait at about 110 dpi
    etag = response.headers["etag"]
    again = world.client.get(url, headers={**world.headers("reader"), "If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag
    cached = list((world.settings.data_dir / "cache" / "pages").rglob("*.png"))
    assert cached, "page images are cached on disk"


def test_a_page_another_viewer_opened_is_rendered_again_for_this_one(world: World) -> None:
    """A view served from another caller's render (4 ms against 213 ms for a first render) told a reader
    that someone else who may see the document had read that page (2026-12-05, seventh and eighth red-team
    passes). Each viewer's first view of a page is its own render now, answered alike."""
    doc = acme_docs(world)[2]
    url = f"/v1/documents/{doc.doc_id}/pages/1/image"
    folder = world.settings.data_dir / "cache" / "pages" / "doc" / document_scope("acme", doc.doc_id)
    seen: list[int] = []
    for user in ("reader", "admin", "reader"):  # both see every group of acme
        response = world.client.get(url, headers=world.headers(user))
        assert response.status_code == 200, response.text
        seen.append(len(list(folder.rglob("*.png"))))
    assert seen == [1, 2, 2], "the admin's view was served from the reader's render"


def test_page_image_needs_credentials(world: World) -> None:
    doc = acme_docs(world)[0]
    response = world.client.get(f"/v1/documents/{doc.doc_id}/pages/1/image")
    assert response.status_code == 401
    bad = world.client.get(
        f"/v1/documents/{doc.doc_id}/pages/1/image", headers={"Authorization": "Bearer nonsense"}
    )
    assert bad.status_code == 401


def test_invisible_document_is_answered_like_a_missing_one(world: World, narrow: str) -> None:
    missing = world.client.get("/v1/documents/no-such-doc/pages/1/image", headers=world.headers(narrow))
    assert missing.status_code == 404
    hidden = [d for d in world.docs if d.tenant != "acme" or "g0" not in d.groups]
    assert hidden, "the world has documents this reader may not see"
    for doc in hidden:
        for path in (f"/v1/documents/{doc.doc_id}/pages/1/image", f"/v1/documents/{doc.doc_id}/units"):
            response = world.client.get(path, headers=world.headers(narrow))
            assert response.status_code == 404, path
            assert response.json() == missing.json()
    # Another tenant's documents are invisible even to an admin with every group name.
    for doc in (d for d in world.docs if d.tenant != "acme"):
        response = world.client.get(
            f"/v1/documents/{doc.doc_id}/pages/1/image", headers=world.headers("admin")
        )
        assert response.status_code == 404


def test_page_out_of_range(world: World) -> None:
    doc = acme_docs(world)[0]
    response = world.client.get(f"/v1/documents/{doc.doc_id}/pages/2/image", headers=world.headers("reader"))
    assert response.status_code == 404
    assert "page" in response.json()["detail"]
    assert (
        world.client.get(
            f"/v1/documents/{doc.doc_id}/pages/0/image", headers=world.headers("reader")
        ).status_code
        == 422
    )


def test_document_units_in_reading_order(world: World) -> None:
    for doc in acme_docs(world):
        body = world.client.get(f"/v1/documents/{doc.doc_id}/units", headers=world.headers("reader")).json()
        assert body["doc_id"] == doc.doc_id and body["doc"] == doc.name
        units = body["units"]
        assert sorted(u["unit_id"] for u in units) == sorted(doc.unit_ids)
        order = [(u["page"], u["bbox"][1]) for u in units]
        assert order == sorted(order)
        for unit in units:
            assert unit["image_url"] == f"/v1/units/{unit['unit_id']}/image"
            x0, y0, x1, y1 = unit["bbox"]
            assert 0 <= x0 < x1 <= unit["page_size"][0] and 0 <= y0 < y1 <= unit["page_size"][1]


def test_a_large_documents_figures_are_a_window_of_its_reading_order(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past ``MAX_DOCUMENT_UNITS`` figures a document was listed by whichever rows the store returned first
    (not its first figures, and maybe not the one the viewer was opened on, which then had no previous or
    next). Now: the first ones in reading order, or a window centred on ``around``, with offset and total."""
    path = figure_pdf(tmp_path / "wide-report.pdf", seed=4242, n_figures=2, pages=4)
    engine = world.client.app.state.engine
    wide = ingest_doc(world.settings, path, "windowco", ["g0"], "doc-wide", encoders=engine.encoders)
    world.add_user("windowed", Role.READER, ["g0"], "windowco")
    url = f"/v1/documents/{wide.doc_id}/units"
    headers = world.headers("windowed")
    whole = world.client.get(url, headers=headers).json()
    order = [u["unit_id"] for u in whole["units"]]
    assert sorted(order) == sorted(wide.unit_ids) and len(order) == 8
    assert (whole["offset"], whole["total"]) == (0, 8)
    monkeypatch.setattr(document_units, "MAX_DOCUMENT_UNITS", 3)
    monkeypatch.setattr(document_units, "ID_CHUNK", 2)  # a window read in two parts

    def window(around: str | None = None) -> tuple[list[str], int, int]:
        params = {"around": around} if around is not None else {}
        body = world.client.get(url, params=params, headers=headers).json()
        return [u["unit_id"] for u in body["units"]], body["offset"], body["total"]

    assert window() == (order[:3], 0, 8)
    assert window(order[4]) == (order[3:6], 3, 8)  # centred
    assert window(order[1]) == (order[0:3], 0, 8)  # at the start
    assert window(order[-1]) == (order[5:8], 5, 8)  # at the end
    # A unit id this caller cannot name in this document lists the first window, as without one: another
    # document's, or one the caller may not see.
    hidden = next(uid for d in world.docs if d.tenant == "acme" for uid in d.unit_ids)
    for other in ("no-such-unit", hidden):
        assert window(other) == (order[:3], 0, 8)
    monkeypatch.setattr(document_units, "MAX_DOCUMENT_UNITS", 8)  # exactly as many: one read, all
    assert window(order[5]) == (order, 0, 8)


def test_map_is_for_admins_only(world: World) -> None:
    assert world.client.get("/v1/admin/map").status_code == 401
    for user in ("reader", "editor"):
        assert world.client.get("/v1/admin/map", headers=world.headers(user)).status_code == 403


def test_map_places_exactly_the_admins_visible_units(world: World) -> None:
    response = world.client.get("/v1/admin/map", headers=world.headers("admin"))
    assert response.status_code == 200, response.text
    body = response.json()
    visible = {uid for d in acme_docs(world) for uid in d.unit_ids}  # admin: tenant acme, every group
    assert {p["unit_id"] for p in body["points"]} == visible
    assert body["total"] == len(visible)
    assert body["channel"] == "text"  # the offline profile has no CLIP channel
    assert {d["doc_id"] for d in body["documents"]} == {d.doc_id for d in acme_docs(world) if d.unit_ids}
    assert sum(d["units"] for d in body["documents"]) == len(visible)
    xs = [p["x"] for p in body["points"]]
    assert max(xs) > min(xs)  # actually spread out
    assert 0 < body["explained"][0] <= 1


def test_map_respects_the_admins_groups(world: World) -> None:
    world.add_user("g3admin", Role.ADMIN, ["g3"], "acme")
    body = world.client.get("/v1/admin/map", headers=world.headers("g3admin")).json()
    expected = {uid for d in acme_docs(world) if "g3" in d.groups for uid in d.unit_ids}
    assert {p["unit_id"] for p in body["points"]} == expected


def test_an_unrenderable_page_answers_a_generic_reason_and_logs_the_detail(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    detail = "the worker rendering /srv/figvault/data/originals/ab.pdf crashed (signal 9)"

    def worker_failed(self: PageImageRenderer, sha256: str, page: int) -> None:
        raise SourceUnavailableError(detail)

    monkeypatch.setattr(PageImageRenderer, "cached", lambda self, sha256, page: None)  # a first render
    monkeypatch.setattr(PageImageRenderer, "render", worker_failed)
    doc = acme_docs(world)[0]
    with caplog.at_level(logging.WARNING):
        response = world.client.get(
            f"/v1/documents/{doc.doc_id}/pages/1/image", headers=world.headers("reader")
        )
    assert response.status_code == 404
    assert response.json()["detail"].startswith("page image unavailable")
    assert "/srv" not in response.text and "signal" not in response.text  # no server paths or worker errors
    assert detail in caplog.text  # kept for the operator


READER_REASONS = {
    OriginalNotKeptError: (404, "original file was not kept"),
    SlidesUnavailableError: (404, "LibreOffice"),
    RenderFailedError: (404, "could not be rendered"),
    SourceUnavailableError: (404, "could not read"),
    PageNotFoundError: (404, "no such page"),
    PageRenderBusyError: (503, "try again"),
}


@pytest.mark.parametrize("error", list(READER_REASONS), ids=lambda cls: cls.__name__)
def test_each_page_image_error_class_answers_its_own_fixed_reason(
    world: World, monkeypatch: pytest.MonkeyPatch, error: type[Exception]
) -> None:
    """A reader who may see the document is told which kind of failure it was (re-ingest, server setup,
    the page itself, try later), in a fixed sentence: never the error's own text."""
    leaked = "worker said /srv/figvault/data/sources/ab/abcd.pptx: signal 9"

    def failing(self: PageImageRenderer, sha256: str, page: int) -> None:
        raise error(leaked)

    monkeypatch.setattr(PageImageRenderer, "cached", lambda self, sha256, page: None)  # a first render
    monkeypatch.setattr(PageImageRenderer, "render", failing)
    doc = acme_docs(world)[0]
    response = world.client.get(f"/v1/documents/{doc.doc_id}/pages/1/image", headers=world.headers("reader"))
    status_code, reason = READER_REASONS[error]
    assert response.status_code == status_code
    assert reason in response.json()["detail"]
    assert "/srv" not in response.text and "signal" not in response.text


def test_one_reader_cannot_hold_every_render_slot(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """First renders share RENDER_SLOTS per process: one reader asking for a heavy document's pages held
    them all, and every other caller's page views were answered 503. A caller now has one first render at
    a time: its next is answered 429 with Retry-After, and another caller's view is rendered."""
    import shutil
    import threading

    world.add_user("heavy", Role.READER, list(GROUPS), "acme")
    first, second, other = (f"/v1/documents/{d.doc_id}/pages/1/image" for d in acme_docs(world)[:3])
    shutil.rmtree(world.settings.data_dir / "cache" / "pages", ignore_errors=True)  # first renders
    render = PageImageRenderer._render_limited
    entered, release, held = threading.Event(), threading.Event(), []

    def held_once(self: PageImageRenderer, *args: object) -> bytes:
        if not held:  # the first render (heavy's) runs until released
            held.append(True)
            entered.set()
            release.wait(30)
        return render(self, *args)

    monkeypatch.setattr(PageImageRenderer, "_render_limited", held_once)
    answers: list[int] = []
    running = threading.Thread(
        target=lambda: answers.append(world.client.get(first, headers=world.headers("heavy")).status_code)
    )
    running.start()
    try:
        assert entered.wait(30)
        refused = world.client.get(second, headers=world.headers("heavy"))
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1, refused.text
        assert "being rendered" in refused.json()["detail"]
        assert world.client.get(other, headers=world.headers("reader")).status_code == 200
    finally:
        release.set()
        running.join(60)
    assert answers == [200]
    assert world.client.get(second, headers=world.headers("heavy")).status_code == 200  # its turn now


def test_another_tenant_waits_its_turn_while_one_tenant_holds_both_render_slots(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two callers of one tenant held both render slots, and a reader of another tenant was answered 503
    at once (told of that tenant's renders) until they let go. Its view now waits a bounded time and gets
    the next free slot, before the first tenant's own next waiting render."""
    import shutil
    import threading
    import time

    for name in ("slot-a0", "slot-a1", "slot-a2"):
        world.add_user(name, Role.READER, list(GROUPS), "acme")
    world.add_user("slot-g", Role.READER, list(GROUPS), "globex")
    globex = [d for d in world.docs if d.tenant == "globex"]
    assert globex, "the world has a document of globex"
    urls = [f"/v1/documents/{d.doc_id}/pages/1/image" for d in [*acme_docs(world)[:3], globex[0]]]
    shutil.rmtree(world.settings.data_dir / "cache" / "pages", ignore_errors=True)  # first renders
    render = PageImageRenderer._render_limited
    entered: list[str] = []
    release = {world.principals[n].caller_key: threading.Event() for n in ("slot-a0", "slot-a1", "slot-a2")}

    def held(self: PageImageRenderer, *args: object) -> bytes:
        entered.append(self.caller or "")
        if self.caller in release:  # acme's renders run until released; globex's at once
            release[self.caller].wait(30)
        return render(self, *args)

    monkeypatch.setattr(PageImageRenderer, "_render_limited", held)
    answers: dict[str, int] = {}

    def view(name: str, url: str) -> threading.Thread:
        def get() -> None:
            answers[name] = world.client.get(url, headers=world.headers(name)).status_code

        thread = threading.Thread(target=get)
        thread.start()
        return thread

    def until(done: object, what: str) -> None:
        deadline = time.monotonic() + 30
        while not done():  # type: ignore[operator]
            assert time.monotonic() < deadline, what
            time.sleep(0.01)

    gate = getattr(world.client.app.state, "render_gate", None)
    threads = [view("slot-a0", urls[0]), view("slot-a1", urls[1])]
    try:
        until(lambda: len(entered) == 2, "acme's two renders hold both slots")
        threads.append(view("slot-g", urls[3]))
        until(lambda: "slot-g" in answers or (gate is not None and gate.waiting == 1), "globex waits")
        assert "slot-g" not in answers, f"globex's view was answered {answers['slot-g']} while acme held both"
        threads.append(view("slot-a2", urls[2]))  # acme's next view waits behind globex's
        until(lambda: gate.waiting == 2, "acme's third view waits")
        release[entered[0]].set()  # one of acme's renders ends: its slot is globex's turn
        until(lambda: "slot-g" in answers, "globex's view is answered")
        assert answers["slot-g"] == 200
        assert entered[2] == world.principals["slot-g"].caller_key  # before acme's waiting render
    finally:
        for event in release.values():
            event.set()
        for thread in threads:
            thread.join(60)
    assert answers == {"slot-a0": 200, "slot-a1": 200, "slot-g": 200, "slot-a2": 200}


def test_the_page_cache_size_is_in_the_services_metrics_not_a_tenant_admins(world: World) -> None:
    """The page viewer's cache (every tenant's and caller's renders) shows in the scrape token's view of
    ``/metrics`` (bytes, bound, evictions); a tenant's admin reads its own tenant's view, without it."""
    from fastapi.testclient import TestClient

    from figvault.service.app import create_app
    from tests.service.conftest import SCRAPER

    doc = acme_docs(world)[1]
    url = f"/v1/documents/{doc.doc_id}/pages/1/image"
    assert world.client.get(url, headers=world.headers("reader")).status_code == 200
    settings = world.settings.model_copy(deep=True)
    settings.service.tenant_admin_metrics = True
    with TestClient(create_app(settings, engine=world.client.app.state.engine)) as client:
        scraper = client.get("/metrics", headers=SCRAPER).text
        admin = client.get("/metrics", headers=world.headers("admin"))
    values = {line.split()[0]: float(line.split()[-1]) for line in scraper.splitlines() if line[:1] != "#"}
    on_disk = sum(p.stat().st_size for p in (world.settings.data_dir / "cache" / "pages").rglob("*.png"))
    assert values["figvault_page_cache_bytes"] >= on_disk > 0
    assert values["figvault_page_cache_limit_bytes"] == settings.storage.page_cache_mb * 2**20
    assert admin.status_code == 200 and "figvault_page_cache" not in admin.text
