"""The Ray engine leaves the process's SIGTERM handler alone: `figvault ingest` turns SIGTERM into a
cancel of its job (figvault/commands/ingest.py), and ``ray.init`` in the main thread replaced that with
``sys.exit(15)``, so a stopped Ray ingest left its job running under a dead process. Starts a Ray of its
own (the engine's ``ray.init``, as the command does without --ray-address), on loopback only
(tests/conftest.py sets Ray's local-only mode)."""

from __future__ import annotations

import signal
from pathlib import Path

from figvault.pipeline.ray_engine import RayEngine
from tests.encoders.tiny_models import tiny_settings


def test_starting_ray_keeps_the_commands_sigterm_handler(tmp_path: Path) -> None:
    def commands_handler(_signum: int, _frame: object) -> None:  # stands for the command's cancel
        pass

    previous = signal.signal(signal.SIGTERM, commands_handler)
    engine = RayEngine(tiny_settings(tmp_path))
    try:
        engine._connect()
        assert engine._started_ray  # this test's ray.init ran (no Ray was running in this process)
        assert signal.getsignal(signal.SIGTERM) is commands_handler
    finally:
        engine.close()
        signal.signal(signal.SIGTERM, previous)
