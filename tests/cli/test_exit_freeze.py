"""A command that loaded models took 10-15 s to exit after its last line (``serve`` after uvicorn's
"Finished server process", the demo after its answer; load 20, the first-hour walk of 2026-12-06): Python's
last garbage collections walked every object left. The CLI freezes them at exit (``gc.freeze``): a handler
registered before the command starts runs after it and finds them frozen."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import atexit, gc, sys
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0, flush=True))
from figvault.cli import main
sys.argv = ["figvault", "--version"]
try:
    main()
except SystemExit:
    pass
"""


def test_the_cli_freezes_what_is_left_at_exit() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["figvault 0.1.0", "frozen at exit: True"], done.stdout
