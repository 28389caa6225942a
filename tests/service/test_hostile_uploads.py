"""The fuzz campaign's classes through the upload route (docs/extraction.md, eighth hostile pass): broken and
mutated PDFs and decks uploaded in one job are each indexed or failed alone, each failure says why in words
(never a bare exception's name, never a server path), and the service answers all along and after."""

from __future__ import annotations

import random
from pathlib import Path

from fastapi.testclient import TestClient
from httpx import Response

from figvault.settings import Settings
from tests.generated_docs import figure_pdf
from tests.helpers.trap import LoopbackTrap
from tests.ingest import hostile_eighth as h8
from tests.ingest import pptx_decks as decks
from tests.ingest.hostile_docs import actions_pdf, external_link_pptx, linked_picture_pptx
from tests.ingest.test_hostile_eighth import BARE_EXCEPTION
from tests.service.test_extract_isolation import served, wait_job

__all__ = ["served"]  # the fixture, used by name below

PDF, PPTX = "application/pdf", "application/vnd.openxmlformats-officedocument.presentationml.presentation"


def mutants(folder: Path) -> list[Path]:
    """The eighth pass's files, and seeded mutants of a good PDF and deck (truncated, bytes flipped)."""
    files = [
        h8.page_tree_cycle_pdf(folder / "cycle.pdf"),
        h8.deep_page_tree_pdf(folder / "deep.pdf"),
        h8.page_tree_gone_pdf(folder / "gone.pdf"),
        h8.part_swapped_pptx(
            folder / "swapped.pptx", "ppt/presentation.xml", "ppt/slideLayouts/slideLayout1.xml"
        ),
        h8.chart_rel_to_slide_pptx(folder / "chart.pptx"),
        h8.damaged_deflate_pptx(folder / "deflate.pptx"),
        h8.main_part_retyped_pptx(folder / "typed.pptx"),
    ]
    rng = random.Random(9)
    deck = folder / "deck.pptx"
    deck.write_bytes(h8._two_slide_deck(deck))
    for seed in (figure_pdf(folder / "seed.pdf", seed=5), deck):
        data = seed.read_bytes()
        cut = folder / f"cut-{seed.name}"
        cut.write_bytes(data[: rng.randrange(1, len(data))])
        flipped = bytearray(data)
        for _ in range(16):
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
        (folder / f"flipped-{seed.name}").write_bytes(bytes(flipped))
        files += [cut, folder / f"flipped-{seed.name}"]
    return files


def _upload(client: TestClient, headers: dict[str, str], files: list[Path]) -> Response:
    """POST the files to /v1/documents for group g, each with its media type."""
    return client.post(
        "/v1/documents",
        files=[("files", (p.name, p.read_bytes(), PDF if p.suffix == ".pdf" else PPTX)) for p in files],
        data={"groups": "g"},
        headers=headers,
    )


def test_broken_uploads_fail_alone_with_a_reason_and_no_server_path(
    served: tuple[Settings, TestClient, dict[str, str]], tmp_path: Path
) -> None:
    settings, client, headers = served
    files = mutants(tmp_path)
    response = _upload(client, headers, files)
    assert response.status_code == 202, response.text
    # A file the route can tell is broken (a zip cut short) is rejected there, with its reason.
    listed = response.json()["documents"]
    rejected = {d["name"]: d["error"] for d in listed if d["state"] == "rejected"}
    job = wait_job(client, headers, response.json()["job_id"])
    assert job["state"] == "succeeded", job
    assert job["result"]["indexed"] + job["result"]["failed"] + len(rejected) == len(files)
    assert job["result"]["indexed"] >= 1  # the page tree listing itself is read
    reasons = {error["item"]: error["error"] for error in job["errors"]} | rejected
    assert "cycle.pdf" not in reasons
    for item, reason in reasons.items():  # a bare exception's name is a parser's words, not a reason
        assert not BARE_EXCEPTION.match(reason), (item, reason)
    shown = response.text + client.get(f"/v1/jobs/{job['id']}", headers=headers).text
    for server_path in (str(tmp_path), str(settings.data_dir), "/tmp/", "0x"):
        assert server_path not in shown
    assert client.get("/healthz").status_code == 200
    assert client.post("/v1/search", json={"query": "figure", "top_k": 5}, headers=headers).status_code == 200


def test_uploads_pointing_outside_themselves_fetch_and_run_nothing(
    served: tuple[Settings, TestClient, dict[str, str]], tmp_path: Path
) -> None:
    """The tenth pass's classes through the upload route, LibreOffice on: a deck whose picture is linked to a
    loopback listener, one with a linked OLE object set to update, a PDF whose actions launch a program and
    fetch, submit or open things: each is indexed, nothing connects, nothing is launched."""
    settings, client, headers = served
    settings.extract.libreoffice = "auto"
    outside = tmp_path / "outside" / "secret.txt"
    outside.parent.mkdir()
    outside.write_text("a server file")
    launched = tmp_path / "launched"
    base = decks.picture_deck(tmp_path / "base.pptx").read_bytes()
    with LoopbackTrap() as trap:
        files = [
            linked_picture_pptx(tmp_path / "linked.pptx", base, trap.url("x.png")),
            external_link_pptx(tmp_path / "ole.pptx", base, "linked-ole", trap.url("ole")),
            actions_pdf(
                tmp_path / "acts.pdf",
                figure_pdf(tmp_path / "b.pdf", seed=2),
                trap.url("pdf"),
                outside,
                launched,
                script_loops=False,
            ),
        ]
        response = _upload(client, headers, files)
        assert response.status_code == 202, response.text
        job = wait_job(client, headers, response.json()["job_id"])
    assert job["state"] == "succeeded" and job["result"]["indexed"] == len(files), job
    assert trap.hits == []
    assert not launched.exists()
