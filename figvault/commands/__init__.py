"""The ``figvault`` command line: one module per command group, each registering on ``app``.

Heavy imports (torch, pymilvus, fitz) happen inside the commands, so ``figvault --help`` stays instant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from figvault.private_dirs import keep_new_files_private
from figvault.settings import Settings, load_settings

app = typer.Typer(
    name="figvault",
    help="Every figure in your PDF reports and PPTX decks, findable by a plain question.",
    no_args_is_help=True,
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def flag(*param_decls: str, **kwargs: Any) -> Any:
    """A boolean option (``--json``, ``--quiet``, ``--rerank/--no-rerank``): every one is declared with this.
    typer 0.29's help shows an option without a metavar by its type, so each flag read ``--json <bool>``
    and users typed ``--json true``, an error; an empty metavar shows the flag alone."""
    return typer.Option(*param_decls, metavar="", **kwargs)


@dataclass
class AppState:
    config: Path | None = None
    data_dir: Path | None = None
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.config, data_dir=self.data_dir)
            except FileNotFoundError as exc:
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(2) from None
            except ValueError as exc:
                typer.echo(f"error: {_settings_error(self.config, exc)}", err=True)
                raise typer.Exit(2) from None
            _warn_unknown_settings(self.config)
            _check_data_dir(self._settings.data_dir)
        return self._settings


def _settings_error(config: Path | None, exc: ValueError) -> str:
    import os

    from figvault.settings import resolve_config_path
    from figvault.settings_check import settings_error

    return settings_error(exc, resolve_config_path(config), os.environ)


def _check_data_dir(data_dir: Path) -> None:
    from figvault.settings_check import data_dir_problem

    problem = data_dir_problem(data_dir)
    if problem is not None:
        typer.echo(f"error: {problem}: choose another with --data-dir or FIGVAULT_DATA_DIR", err=True)
        raise typer.Exit(2)


def _warn_unknown_settings(config: Path | None) -> None:
    """A misspelt key in the settings file or ``FIGVAULT_*`` variable is ignored: say so, once a command."""
    import os

    from figvault.settings import resolve_config_path
    from figvault.settings_check import unknown_settings

    for line in unknown_settings(resolve_config_path(config), os.environ):
        typer.echo(f"warning: {line}", err=True)


CONFIG_OPTION = "--config"
DATA_DIR_OPTION = "--data-dir"
GLOBAL_OPTIONS = (CONFIG_OPTION, DATA_DIR_OPTION)
"""The options of ``figvault`` itself that take a value, which go before the command (``cli.py`` reads
them to say so when one is given after it)."""


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            CONFIG_OPTION,
            envvar="FIGVAULT_CONFIG",
            help="Settings file (TOML), or a packaged profile name: default, offline (default: the profile"
            " default, the full one, whose CLIP weights are downloaded once).",
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            DATA_DIR_OPTION,
            envvar="FIGVAULT_DATA_DIR",
            help="Folder for everything figvault writes (store, registry, blobs); default: the settings'"
            " data_dir, else $XDG_DATA_HOME/figvault or ~/.local/share/figvault.",
        ),
    ] = None,
    version: Annotated[bool, flag("--version", help="Print the version and exit.", is_eager=True)] = False,
) -> None:
    if version:
        from figvault import __version__

        typer.echo(f"figvault {__version__}")
        raise typer.Exit()
    keep_new_files_private()  # before any command writes: every file of the data folder is 0600
    ctx.obj = AppState(config=config, data_dir=data_dir)


def state(ctx: typer.Context) -> AppState:
    obj = ctx.find_root().obj
    assert isinstance(obj, AppState)
    return obj


def nothing_stored(ctx: typer.Context) -> bool:
    """True, said on stderr, when the data folder holds no figvault store: a listing command then answers
    as for an empty store and creates nothing (``settings_check.no_store_note``)."""
    from figvault.settings_check import no_store_note

    note = no_store_note(state(ctx).settings)
    if note is not None:
        typer.echo(f"note: {note}", err=True)
    return note is not None


def split_csv(value: str | None) -> list[str] | None:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``; None stays None (option not given)."""
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]
