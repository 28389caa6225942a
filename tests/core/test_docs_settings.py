"""The docs and the settings name the same ``FIGVAULT_*`` variables.

An operator copies a variable from the README or docs/ into a unit file; one that names no setting is
ignored (with a warning, but in a service's log nobody reads), so a misspelt or renamed variable in the
docs silently changes nothing. And a setting the docs never name is one an operator cannot find.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from figvault.settings import Settings
from figvault.settings_check import ENV_PREFIX, OTHER_VARIABLES, _unknown

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
CONFIGS = sorted((REPO / "configs").glob("*.toml"))
OPERATOR_FILES = [*DOCS, REPO / "install.sh", REPO / ".ci" / "run", *CONFIGS]
VARIABLE = re.compile(r"\bFIGVAULT_[A-Z0-9_]*[A-Z0-9](?:_\*)?")
NOT_SETTINGS = {
    "FIGVAULT_INGEST__DEFAULT_GRUOPS": "the README's example of a misspelt variable",
    "FIGVAULT_X": "bench/http_load.py's --env FIGVAULT_X=V placeholder",
    # docs/deploy.md's first-hour walk names the typo'd variables it tried (each warned with the right name)
    "FIGVAULT_SEARCH__TOPK": "a typo tried in docs/deploy.md's first-hour walk",
    "FIGVAULT_SERACH": "a typo tried in docs/deploy.md's first-hour walk",
    "FIGVAULT_DATADIR": "a typo tried in docs/deploy.md's first-hour walk",
}


def _named_variables() -> dict[str, list[str]]:
    """Each FIGVAULT_* name written in the operator-facing files, with where (file:line)."""
    found: dict[str, list[str]] = {}
    for path in OPERATOR_FILES:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in VARIABLE.finditer(line):
                found.setdefault(match.group(0), []).append(f"{path.relative_to(REPO)}:{number}")
    return found


def _names_a_setting(name: str) -> bool:
    """``name`` is a setting's variable; ``FIGVAULT_SERVICE__JWT_*`` when at least one setting starts so."""
    if name.endswith("_*"):
        section, _, key = name.removesuffix("_*")[len(ENV_PREFIX) :].lower().partition("__")
        return any(f.startswith(key + "_") for f in _settings().get(section, []))
    return _unknown(Settings, name[len(ENV_PREFIX) :].lower().split("__")) is None


def _settings() -> dict[str, list[str]]:
    """Section name -> its keys; a top-level setting (``data_dir``) is its own section with no keys."""
    sections: dict[str, list[str]] = {}
    for name, field in Settings.model_fields.items():
        model = field.annotation
        keys = list(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []
        sections[name] = keys
    return sections


def test_every_variable_the_docs_name_is_a_setting() -> None:
    wrong = {
        name: places
        for name, places in _named_variables().items()
        if name not in OTHER_VARIABLES and name not in NOT_SETTINGS and not _names_a_setting(name)
    }
    assert not wrong, f"variables in the docs that name no setting (ignored if set): {wrong}"


def test_the_allowed_exceptions_are_still_written_somewhere() -> None:
    """An exception nobody writes any more is one that would hide the next real mistake of that name."""
    named = _named_variables()
    assert [name for name in NOT_SETTINGS if name not in named] == []


def test_every_setting_is_named_in_the_docs() -> None:
    text = "\n".join(path.read_text(encoding="utf-8") for path in DOCS)
    internal = {"profile", "extends"}  # written in settings files, not set by variable; extends: README
    missing = []
    for section, keys in _settings().items():
        if section in internal:
            continue
        for key in keys or [""]:
            dotted = f"{section}.{key}" if key else section
            variable = ENV_PREFIX + dotted.upper().replace(".", "__")
            if not re.search(rf"(?<![\w.]){re.escape(dotted)}\b", text) and variable not in text:
                missing.append(f"{dotted} ({variable})")
    assert not missing, f"settings no page of README.md or docs/ names: {missing}"
