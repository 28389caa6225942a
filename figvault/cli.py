"""``figvault`` console entry point: loads every command module, then runs the typer app."""

from __future__ import annotations

import atexit
import gc
import importlib
import logging
import os
import pkgutil
import sys

import figvault.commands as commands
from figvault.commands import GLOBAL_OPTIONS
from figvault.errors import FigvaultError, disk_full, one_line


def load_commands() -> None:
    for module in pkgutil.iter_modules(commands.__path__):
        importlib.import_module(f"{commands.__name__}.{module.name}")


def quiet_libraries() -> None:
    """Keep library chatter off the terminal: figvault prints its own progress and one-line errors."""
    # torchao (the int8 reranker path) registers enums with torch's pytree at import and torch warns about it.
    logging.getLogger("torch.utils._pytree").setLevel(logging.ERROR)
    # transformers' per-load "Loading weights" bars duplicate figvault's own progress output.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    # gRPC's own errors stay on (its default): the "GOAWAY ... too_many_pings" lines a long ingest printed
    # came from pymilvus's keepalive pings to Milvus Lite, now off (retrieval/milvus_store.py
    # LITE_CHANNEL_OPTIONS), instead of GRPC_VERBOSITY=NONE, which hid every gRPC error too.


def exit_without_a_last_collection() -> None:
    """At exit, Python's last garbage collections walk every object left (a loaded model's: millions), then
    free them: ``serve`` took 10 s after uvicorn's "Finished server process" before the shell came back,
    the demo some 15 s after its last line (load 20; the first-hour walk, 2026-12-06). Frozen objects are
    not walked. Registered before any command runs, so it runs after the exit handlers the libraries
    register as they load (last in, first out): what they close or flush is closed and flushed as before;
    the memory goes back with the process."""
    atexit.register(gc.freeze)


def misplaced_global_option(args: list[str]) -> str | None:
    """The error line for a global option given after the command (``figvault ingest --config offline
    DIR``: click's boxed "No such option: --config" did not say where it goes), or None."""
    command = 0
    while command < len(args) and args[command].startswith("-"):
        command += 2 if args[command] in GLOBAL_OPTIONS else 1  # an option, with its value when it has one
    if command >= len(args):
        return None
    for arg in args[command + 1 :]:
        name = arg.split("=", 1)[0]
        if name in GLOBAL_OPTIONS:
            moved = [*args[:command], name, "VALUE", args[command], "..."]
            return (
                f"error: {name} is an option of figvault itself: give it before the command"
                f" (figvault {' '.join(moved)})"
            )
    return None


def main() -> None:
    exit_without_a_last_collection()
    quiet_libraries()
    misplaced = misplaced_global_option(sys.argv[1:])
    if misplaced is not None:
        print(misplaced, file=sys.stderr)
        raise SystemExit(2)
    load_commands()
    try:
        commands.app()
    except FigvaultError as exc:  # a reason worded for people, from a command that does not catch it
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    except Exception as exc:
        if not disk_full(exc):
            raise
        print(disk_full_line(exc), file=sys.stderr)
        raise SystemExit(1) from None


def disk_full_line(exc: BaseException) -> str:
    """A full disk, said once. It used to end an ingest with some 300 lines: the store's and the registry's
    tracebacks, then that of recording the job's end, which failed on the same disk."""
    return (
        f"error: the disk is full ({one_line(exc)}): free space where the data folder (or the store, the"
        " registry or storage.url) lives, then run the command again; an ingest skips the documents it"
        " stored"
    )


if __name__ == "__main__":
    main()
