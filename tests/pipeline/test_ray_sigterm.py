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


def test_a_sigterm_while_ray_connects_reaches_the_commands_handler(tmp_path: Path) -> None:
    """Ray sets its ``sys.exit`` handler as ``init`` begins, before it connects (45 s to an unreachable
    head, minutes to a GCS address): putting the command's back after ``init`` left that window, and a
    SIGTERM in it exited 15 without a word, the job left running (an audit, 2026-12-07). A stand-in Ray
    whose ``init`` sets its handler as Ray's does, then reads which one is in place while it connects."""
    import sys
    from types import SimpleNamespace

    import pytest

    def commands_handler(_signum: int, _frame: object) -> None:
        pass

    def set_sigterm_handler(handler: object) -> None:  # ray._private.utils's
        signal.signal(signal.SIGTERM, handler)  # type: ignore[arg-type]

    in_place: list[object] = []

    class Connecting(Exception):
        pass

    def init(**_kwargs: object) -> None:
        fake._private.utils.set_sigterm_handler(lambda signum, _frame: sys.exit(signum))
        in_place.append(signal.getsignal(signal.SIGTERM))
        raise Connecting  # still connecting when the SIGTERM comes: the handler then in place runs

    fake = SimpleNamespace(
        is_initialized=lambda: False,
        init=init,
        _private=SimpleNamespace(utils=SimpleNamespace(set_sigterm_handler=set_sigterm_handler)),
    )
    previous = signal.signal(signal.SIGTERM, commands_handler)
    engine = RayEngine(tiny_settings(tmp_path))
    engine.ray = fake
    try:
        with pytest.raises(Connecting):
            engine._connect()
        assert in_place == [commands_handler]
        assert signal.getsignal(signal.SIGTERM) is commands_handler
        assert fake._private.utils.set_sigterm_handler is set_sigterm_handler  # Ray's own, given back
    finally:
        signal.signal(signal.SIGTERM, previous)
