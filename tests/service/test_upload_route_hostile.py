"""The upload route under hostile multipart bodies (the eleventh hostile pass): ten thousand parts, file
names holding path separators, a NUL or ten thousand characters. Each is refused in words or stored under a
name of its own making; nothing is written outside the job's folder and the service answers after.

The code was already safe (Starlette's multipart parser stops at 1,000 files and 1,000 fields, and refuses a
part whose file name is 10,000 characters long, "Invalid multipart data."; ``display_name`` keeps a name's
last component without control characters, shortened with a digest): these tests prove it on the route and
fail if a limit or the name check goes."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from httpx import Response

from figvault.settings import Settings
from figvault.text_checks import MAX_DISPLAY_NAME_CHARS
from tests.generated_docs import figure_pdf
from tests.service.test_extract_isolation import served, wait_job

__all__ = ["served"]  # the fixture, used by name below

BOUNDARY = "hostile11boundary"


def _multipart(parts: list[tuple[str, bytes | None, bytes]]) -> bytes:
    """A multipart/form-data body of (field name, file name as sent or None for a plain field, data)."""
    out = bytearray()
    for name, filename, data in parts:
        out += b"--" + BOUNDARY.encode() + b"\r\n"
        disposition = b'Content-Disposition: form-data; name="' + name.encode() + b'"'
        if filename is not None:
            disposition += b'; filename="' + filename + b'"\r\nContent-Type: application/pdf'
        out += disposition + b"\r\n\r\n" + data + b"\r\n"
    return bytes(out + b"--" + BOUNDARY.encode() + b"--\r\n")


def _post(client: TestClient, headers: dict[str, str], body: bytes) -> Response:
    content_type = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    return client.post("/v1/documents", content=body, headers=headers | content_type)


def test_ten_thousand_parts_are_refused_in_words(served: tuple[Settings, TestClient, dict[str, str]]) -> None:
    _settings, client, headers = served
    files = [("files", b"x%d.pdf" % i, b"%PDF-1.4 tiny") for i in range(10_000)]
    answer = _post(client, headers, _multipart([*files, ("groups", None, b"g")]))
    assert answer.status_code == 400, answer.text
    assert "Too many files" in answer.json()["detail"], answer.text
    fields = [("groups", None, b"g")] + [(f"x{i}", None, b"1") for i in range(10_000)]
    answer = _post(client, headers, _multipart(fields))
    assert answer.status_code == 400 and "Too many fields" in answer.json()["detail"], answer.text
    assert client.get("/healthz").status_code == 200
    assert client.get("/v1/jobs", headers=headers).json()["jobs"] == []  # nothing queued


def test_hostile_file_names_are_stored_under_names_of_their_own(
    served: tuple[Settings, TestClient, dict[str, str]], tmp_path: Path
) -> None:
    settings, client, headers = served
    pdf = figure_pdf(tmp_path / "good.pdf", seed=12).read_bytes()
    group = [("groups", None, b"g")]
    long = _post(client, headers, _multipart([("files", b"A" * 10_000 + b".pdf", pdf), *group]))
    assert long.status_code == 400 and long.json()["detail"] == "Invalid multipart data.", long.text
    names = [b"../../../../tmp/hostile11-escape.pdf", b"a\x00b.pdf", b"B" * 1_000 + b".pdf"]
    answer = _post(client, headers, _multipart([("files", n, pdf) for n in names] + group))
    assert answer.status_code == 202, answer.text
    shown = [d["name"] for d in answer.json()["documents"]]
    assert shown[:2] == ["hostile11-escape.pdf", "a_b.pdf"]
    assert (
        len(shown[2]) <= MAX_DISPLAY_NAME_CHARS and shown[2].startswith("BBB") and shown[2].endswith(".pdf")
    )
    job = wait_job(client, headers, answer.json()["job_id"])
    assert job["state"] == "succeeded", job
    assert not Path("/tmp/hostile11-escape.pdf").exists()
    assert not any(p.name.endswith("hostile11-escape.pdf") for p in Path(settings.data_dir).parent.rglob("*"))
