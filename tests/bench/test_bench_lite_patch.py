"""bench/lite_patch.py on a store of today's layout (dense channels plus figvault's own lexical index): it
times the Milvus Lite searches, which are the dense channels' only."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from figvault.pipeline.ingest_pipeline import ingest_paths
from figvault.retrieval import lite_patch
from figvault.settings import load_settings
from tests.generated_docs import figure_pdf
from tests.helpers.bench_module import load_bench


@pytest.mark.skipif(lite_patch.why_not_applicable() is not None, reason=f"{lite_patch.why_not_applicable()}")
def test_times_each_dense_channel_of_a_store_with_a_lexical_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings("offline", data_dir=tmp_path / "data")
    pdf = figure_pdf(tmp_path / "report.pdf", seed=1)
    ingest_paths(settings, [pdf], groups=["g"], tenant="t", progress=False)
    bench = load_bench("lite_patch")
    argv = ["lite_patch.py", str(settings.data_dir), "--tenant", "t", "--groups", "g", "--queries", "2"]
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the bench sets it for its process: undone after the test
    bench.main()
    lines = capsys.readouterr().out.splitlines()
    timed = [line.split()[:2] for line in lines if line.split()[:1] in (["text"], ["lexical"])]
    assert timed == [["text", "lite"], ["text", "patched"]]  # the offline profile's one dense channel
    assert sum(line.endswith("(same hits on every query)") for line in lines) == 1
