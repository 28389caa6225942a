"""The demo's ingest step says what the wait is before it starts: on 2 busy cores it ran 134 s after a bare
"3. ingest into tenant 'demo'" line, which reads like a hang."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from figvault.commands.demo import DemoRun, ingest_samples
from figvault.settings import load_settings


def test_the_demo_says_the_ingest_takes_a_while_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = io.StringIO()
    seen_before_ingest: list[str] = []

    def ingest_paths(*args: object, **kwargs: object) -> object:
        seen_before_ingest.append(out.getvalue())
        raise KeyboardInterrupt  # stop here: what was printed before the ingest is what this test is about

    monkeypatch.setattr("figvault.pipeline.ingest_pipeline.ingest_paths", ingest_paths)
    run = DemoRun(
        ctx=None,  # type: ignore[arg-type]
        settings=load_settings("offline", data_dir=tmp_path),
        docs_dir=tmp_path / "docs",
        console=Console(file=out, soft_wrap=True),
    )
    with pytest.raises(KeyboardInterrupt):
        ingest_samples(run)
    [printed] = seen_before_ingest
    assert "3. ingest into tenant 'demo'" in printed
    assert "loading the text models and encoding: a minute or more on a busy machine" in printed
