"""What is wrong with the settings, said in lines a person can act on.

Settings figvault does not know: pydantic-settings ignores a misspelt key in the TOML file or a misspelt
``FIGVAULT_*`` variable (``extra="ignore"``), so ``FIGVAULT_INGEST__DEFAULT_GRUOPS=finance`` or a
``[serach]`` table used to change nothing without a word. ``unknown_settings`` names each one, with the
closest known name; the CLI prints them as warnings (figvault/commands/__init__.py).

Settings it cannot use: ``settings_error`` turns a file that is not TOML, or a value of the wrong kind,
into one line naming the file or the variable (pydantic's report is several lines and a URL).
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_settings import NoDecode, SettingsError

from figvault.settings import CONFIG_ENV, SECRET_SETTINGS, Settings

ENV_PREFIX = "FIGVAULT_"
OTHER_VARIABLES = frozenset(
    {CONFIG_ENV, "FIGVAULT_SKIP_APT", "FIGVAULT_CORPUS", "FIGVAULT_DISTRACTORS", "FIGVAULT_UPDATE_SCREENSHOT"}
)
"""``FIGVAULT_*`` variables that are not settings: install.sh, the benchmarks and the tests read them."""


def _section(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    """The settings model of field ``name`` when it is a section (a table of keys), else None."""
    annotation = model.model_fields[name].annotation
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _unknown(model: type[BaseModel], path: list[str]) -> tuple[str, str] | None:
    """(the dotted key up to the first unknown part, the closest known key) for ``path``; None if known.
    A part below a field that is not a section (a dict such as ``search.weights``) is the field's own."""
    for depth, part in enumerate(path):
        if part not in model.model_fields:
            close = difflib.get_close_matches(part, list(model.model_fields), n=1)
            known = ".".join([*path[:depth], close[0]]) if close else ""
            if depth == 0 and len(path) == 1:  # a section's key written outside it: top_k = 3 at the top
                known = _section_of(model, part) or known
            return ".".join(path[: depth + 1]), known
        section = _section(model, part)
        if section is None:
            return None
        model = section
    return None


def _section_of(model: type[BaseModel], key: str) -> str:
    """``section.key`` for the first section of ``model`` that has the setting ``key``, else ""."""
    for name in model.model_fields:
        section = _section(model, name)
        if section is not None and key in section.model_fields:
            return f"{name}.{key}"
    return ""


def _one_underscore(model: type[BaseModel], path: list[str]) -> str:
    """The dotted setting ``path`` names when its first ``_`` stands for ``__`` (``store_uri``, as in
    ``FIGVAULT_STORE_URI``: the closest name by spelling is the section ``store``), or the closest key of
    that section, else ""."""
    if len(path) != 1 or "_" not in path[0]:
        return ""
    section, _, key = path[0].partition("_")
    if section not in model.model_fields:
        return ""
    found = _unknown(model, [section, key])
    return ".".join([section, key]) if found is None else found[1]


def _toml_paths(table: Mapping[str, Any], model: type[BaseModel], prefix: list[str]) -> Iterator[list[str]]:
    for key, value in table.items():
        path = [*prefix, key]
        section = _section(model, key) if key in model.model_fields else None
        if section is not None and isinstance(value, Mapping):
            yield from _toml_paths(value, section, path)
        else:
            yield path


def _line(what: str, dotted: str, known: str) -> str:
    hint = f" (did you mean {known}?)" if known else ""
    return f"{what}: unknown setting {dotted}{hint}; it is ignored"


def unknown_settings(config_path: Path, environ: Mapping[str, str]) -> list[str]:
    """One line per key of ``config_path`` and per ``FIGVAULT_*`` variable that names no setting."""
    lines: list[str] = []
    with config_path.open("rb") as fh:
        table = tomllib.load(fh)
    for path in _toml_paths(table, Settings, []):
        found = _unknown(Settings, path)
        if found is not None:
            lines.append(_line(str(config_path), *found))
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX) or name.upper() in OTHER_VARIABLES:
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        found = _unknown(Settings, parts)
        if found is not None:
            dotted, known = found
            known = _one_underscore(Settings, parts) or known
            env_known = ENV_PREFIX + known.upper().replace(".", "__") if known else ""
            lines.append(_line(name, dotted, env_known))
    return lines


def settings_error(exc: ValueError, config_path: Path, environ: Mapping[str, str]) -> str:
    """One line for settings that cannot be loaded: the TOML error with the file's name, or per bad value
    its dotted key, where it came from (the variable when one is set, else the file) and pydantic's reason."""
    if isinstance(exc, tomllib.TOMLDecodeError):
        return f"{config_path}: not valid TOML: {exc}"
    if isinstance(exc, SettingsError) and (line := _not_json_line(str(exc), environ)) is not None:
        return line
    if not isinstance(exc, ValidationError):
        return str(exc)
    problems = []
    set_names = {name.upper() for name in environ}
    for error in exc.errors():
        path = [str(part) for part in error["loc"]]
        source = _source(path, set_names) or str(config_path)
        reason = str(error["msg"]).removeprefix("Value error, ")
        dotted = ".".join(path)
        secret = any(dotted == name or dotted.startswith(name + ".") for name in SECRET_SETTINGS)
        got = "the value is a secret, not shown" if secret else f"got {error.get('input')!r}"
        problems.append(f"setting {dotted} ({source}): {reason}, {got}")
    return "; ".join(problems)


def _source(path: list[str], set_names: set[str]) -> str | None:
    """The variable that set the setting at ``path``: FIGVAULT_SEARCH__PRIORS='{"slide": "x"}' sets
    search.priors.slide, and FIGVAULT_SEARCH__WEIGHTS__LEXCAL=0 a key of search.weights; None: the file."""
    named = (ENV_PREFIX + "__".join(path[:depth]).upper() for depth in range(len(path), 0, -1))
    below = ENV_PREFIX + "__".join(path).upper() + "__"
    return next((variable for variable in named if variable in set_names), None) or next(
        (variable for variable in sorted(set_names) if variable.startswith(below)), None
    )


def _not_json_line(message: str, environ: Mapping[str, str]) -> str | None:
    """The variable of a list or table setting whose value is not JSON, and the form it wants: pydantic-
    settings said only 'error parsing value for field "service" from source "EnvSettingsSource"' for
    ``FIGVAULT_SERVICE__INGEST_ALLOW_DIRS=/srv/drop`` (a first-hour walk, 2026-12-06). Only the variables of
    the field ``message`` names; a field that takes ``a,b`` too (``NoDecode``) is not one; None: none."""
    named = re.search(r'field "(\w+)"', message)
    for name, value in sorted(environ.items()):
        parts = name[len(ENV_PREFIX) :].lower().split("__") if name.upper().startswith(ENV_PREFIX) else []
        if not parts or (named is not None and parts[0] != named.group(1)):
            continue
        model: type[BaseModel] | None = Settings
        for part in parts[:-1]:
            model = _section(model, part) if model is not None and part in model.model_fields else None
        if model is None or parts[-1] not in model.model_fields:
            continue
        field = model.model_fields[parts[-1]]
        if get_origin(field.annotation) not in (list, dict, set, tuple) or NoDecode in field.metadata:
            continue
        origin = get_origin(field.annotation)
        try:
            json.loads(value)
        except ValueError:
            dotted = ".".join(parts)
            form = '["a", "b"]' if origin is not dict else '{"key": "value"}'
            got = "the value is a secret, not shown" if dotted in SECRET_SETTINGS else f"got {value!r}"
            return f"setting {dotted} ({name}): give it as JSON, e.g. {form}, {got}"
    return None


def data_dir_problem(data_dir: Path) -> str | None:
    """Why figvault cannot keep its files in ``data_dir``; None when it can, or can create it. Nothing is
    created here (the listing commands leave a missing folder missing: ``no_store_note``). A path under a
    file, or a folder it may not write (read-only mount, another user's), used to end a command with a
    traceback from wherever the folder was first touched (the registry, the store)."""
    import os

    existing = data_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "is not a folder" if existing == data_dir else f"is under {existing}, which is a file"
        return f"the data folder {data_dir} {where}"
    what = "is" if existing == data_dir else f"would be made in {existing}, which is"
    if os.statvfs(existing).f_flag & os.ST_RDONLY:  # no user may write there: "by this user" misled
        return f"the data folder {data_dir} {what} on a read-only file system"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"the data folder {data_dir} {what} not writable by this user"
    return None


def no_store_note(settings: Settings) -> str | None:
    """What ``status`` and the listing commands (``users``, ``documents``, ``jobs list``) say instead of
    opening a store the data folder does not hold: no registry there (the default SQLite one) means
    nothing was ever ingested or added. Opening it made the folder and its registry, so a mistyped
    ``--data-dir`` was answered "no users" and left an empty store behind that the next command took for
    the real one. None when a store may be there (its registry file exists, or the registry is a
    server's)."""
    if settings.registry.url or settings.registry_path.exists():
        return None
    return (
        f"the data folder {settings.data_dir.resolve()} holds no figvault store (nothing was ever ingested or"
        " added there; nothing was created): is it the one you meant? (--data-dir, FIGVAULT_DATA_DIR or the"
        " settings file's data_dir)"
    )
