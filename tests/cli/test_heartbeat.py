"""``figvault ingest`` printed a line per document written and nothing between: while the models loaded or
a long document was read it was silent for a minute or more (36 s for 2 PDFs at load 21 in a first-hour
walk, 2026-12-05), which reads as a hang. The heartbeat says it is still working, with the last line."""

from __future__ import annotations

import time

import pytest

from figvault.commands._heartbeat import Heartbeat


def test_a_silence_gets_a_still_working_line_and_a_progress_line_resets_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with Heartbeat("ingest", every_s=0.3) as heartbeat:
        time.sleep(0.5)
        assert capsys.readouterr().err == ""  # nothing before the first progress line
        heartbeat.saw("running ingest 0/2")
        time.sleep(1.0)
        silent = capsys.readouterr().err.splitlines()
        heartbeat.saw("running ingest 1/2")
        time.sleep(0.15)
    after = capsys.readouterr().err
    time.sleep(0.5)
    assert 1 <= len(silent) <= 4, silent
    assert all(line.startswith("ingest: still working, ") for line in silent), silent
    assert silent[0].endswith("s since: running ingest 0/2"), silent
    assert "still working" not in after  # a new progress line restarts the count
    assert capsys.readouterr().err == ""  # and nothing once the command is done
