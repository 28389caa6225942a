"""``figvault`` console entry point: loads every command module, then runs the typer app."""

from __future__ import annotations

import importlib
import pkgutil

import figvault.commands as commands


def load_commands() -> None:
    for module in pkgutil.iter_modules(commands.__path__):
        importlib.import_module(f"{commands.__name__}.{module.name}")


def main() -> None:
    load_commands()
    commands.app()


if __name__ == "__main__":
    main()
