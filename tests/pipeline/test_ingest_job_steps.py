"""The steps of an ingest job (``pipeline/ingest_job.py``) that run without a store: the tally of its
batches and the job's inputs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from figvault.errors import FigvaultError
from figvault.pipeline.ingest_job import _gather_inputs, _Tally
from figvault.pipeline.ingest_pipeline import DocumentOutcome, IngestReport
from figvault.settings import load_settings


class _Ctx:
    """The part of a JobContext these steps use: the job, its params and settings, and its errors."""

    def __init__(self, params: dict[str, Any], data_dir: Path | None = None) -> None:
        self.params = params
        self.job = SimpleNamespace(id="job1", params=params)
        self.settings = load_settings("offline", data_dir=data_dir) if data_dir else None
        self.errors: list[tuple[str, str]] = []

    def error(self, item: str, message: str) -> None:
        self.errors.append((item, message))


def _report(*documents: DocumentOutcome) -> IngestReport:
    return IngestReport(
        tenant="t",
        collection="c1",
        embedding_version="v1",
        documents=list(documents),
        timings={"extract": 1.5},
        stages={"encode": {"docs": 2, "units": 4, "pages": 6, "busy_s": 2.0}},
    )


def test_tally_counts_batches_and_reports_failures_as_errors() -> None:
    ctx = _Ctx({})
    tally = _Tally(total=4)
    tally.add_failed([{"path": "/gone.pdf", "status": "failed", "error": "no such file"}])
    first = _report(
        DocumentOutcome("/d/a.pdf", "a", "indexed", units=3, pages=5, failed_units={"a p2 (u9)": "bad png"}),
        DocumentOutcome("/d/b.pdf", "b", "skipped", units=7),
    )
    tally.add_batch(ctx, first, [Path("/d/a.pdf"), Path("/d/b.pdf")])
    tally.add_batch(
        ctx, _report(DocumentOutcome("/d/c.pdf", "c", "failed", error="broken")), [Path("/d/c.pdf")]
    )

    result = tally.result(2.0, "t", "local")
    assert (result["indexed"], result["skipped"], result["failed"], result["replaced"]) == (1, 1, 2, 0)
    assert (result["units"], result["pages"]) == (3, 5)  # skipped documents add no work
    assert tally.done == 4
    assert [d["path"] for d in result["documents"]] == ["/gone.pdf", "/d/a.pdf", "/d/b.pdf", "/d/c.pdf"]
    assert result["timings"] == {"extract": 3.0}
    assert result["stages"]["encode"]["units"] == 8 and result["stages"]["encode"]["units_per_s"] == 2.0
    assert ctx.errors == [("a p2 (u9)", "bad png"), ("c.pdf", "broken")]
    assert result["summary"].startswith("1 new, 0 replaced, 1 unchanged, 2 failed; 3 units from 5 pages")


def test_tally_of_a_job_where_every_document_failed_is_an_error() -> None:
    tally = _Tally(total=1)
    broken = _report(DocumentOutcome("/d/c.pdf", "c", "failed", error="broken"))
    tally.add_batch(_Ctx({}), broken, [Path("/d/c.pdf")])
    with pytest.raises(FigvaultError, match="every document failed"):
        tally.result(1.0, "t", "local")


def test_inputs_refuse_files_outside_the_allowed_folders(tmp_path: Path) -> None:
    allowed, other = tmp_path / "allowed", tmp_path / "other"
    allowed.mkdir()
    other.mkdir()
    (allowed / "a.pdf").write_bytes(b"%PDF")
    (allowed / "b.pdf").symlink_to(other / "b.pdf")
    (other / "b.pdf").write_bytes(b"%PDF")
    ctx = _Ctx({"paths": [str(allowed)], "allowed_roots": [str(allowed.resolve())]}, tmp_path / "data")

    inputs = _gather_inputs(ctx)  # type: ignore[arg-type]
    assert [p.name for p in inputs.files] == ["a.pdf"]
    assert [(Path(item).name, why.split(":")[0]) for item, why in ctx.errors] == [("b.pdf", "refused")]


def test_inputs_pin_doc_id_to_the_one_file_and_refuse_several(tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(b"%PDF")
    one = _Ctx({"paths": [str(tmp_path / "a.pdf")], "doc_id": "d7"}, tmp_path / "data")
    inputs = _gather_inputs(one)  # type: ignore[arg-type]
    ident = inputs.identities[str(tmp_path / "a.pdf")]
    assert (ident.doc_id, inputs.doc_of(tmp_path / "a.pdf")) == ("d7", "d7")

    (tmp_path / "b.pdf").write_bytes(b"%PDF")
    with pytest.raises(FigvaultError, match="names one document, but 2 files"):
        _gather_inputs(_Ctx({"paths": [str(tmp_path)], "doc_id": "d7"}, tmp_path / "data"))  # type: ignore[arg-type]
