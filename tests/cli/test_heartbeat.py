"""``figvault ingest`` printed a line per document written and nothing between: while the models loaded or
a long document was read it was silent for a minute or more (36 s for 2 PDFs at load 21 in a first-hour
walk, 2026-12-05), which reads as a hang. The heartbeat says it is still working, with the last line.

The heartbeat's clock is the test's (``_heartbeat.time.monotonic``): what it prints depends on the seconds
the test lets pass, not on when a loaded machine runs its thread (sleeps and line counts in wall time
failed under load)."""

from __future__ import annotations

import time

import pytest

from figvault.commands import _heartbeat
from figvault.commands._heartbeat import Heartbeat

WAIT_S = 30.0
"""How long the test waits for the heartbeat's thread to print a line it owes (it polls every 0.05 s)."""


def _next_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The heartbeat's next line(s), once its thread has printed."""
    end = time.monotonic() + WAIT_S
    while time.monotonic() < end:
        if lines := capsys.readouterr().err.splitlines():
            return lines
        time.sleep(0.02)
    return []


def test_a_silence_gets_a_still_working_line_and_a_progress_line_resets_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(_heartbeat, "time", type("Clock", (), {"monotonic": staticmethod(lambda: now[0])}))
    with Heartbeat("ingest", every_s=0.5) as heartbeat:
        now[0] += 5.0
        time.sleep(0.3)  # the thread looks 6 times
        assert capsys.readouterr().err == ""  # nothing before the first progress line
        heartbeat.saw("running ingest 0/2")
        now[0] += 0.6  # past every_s without a progress line
        assert _next_lines(capsys) == ["ingest: still working, 1 s since: running ingest 0/2"]
        now[0] += 0.4
        time.sleep(0.3)
        assert capsys.readouterr().err == ""  # once per silence of every_s, not at every look
        heartbeat.saw("running ingest 1/2")
        now[0] += 0.2  # every_s after the heartbeat's line, 0.2 s after the progress line
        time.sleep(0.3)
        assert capsys.readouterr().err == ""  # a new progress line restarts the count
        now[0] += 0.4
        assert _next_lines(capsys) == ["ingest: still working, 1 s since: running ingest 1/2"]
    now[0] += 5.0
    time.sleep(0.3)
    assert capsys.readouterr().err == ""  # and nothing once the command is done
