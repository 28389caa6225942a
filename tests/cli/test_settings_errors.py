"""Settings that cannot be loaded end the command with one line naming the file or the variable: before, a
TOML syntax error did not say which file, and a bad value printed pydantic's multi-line report and a URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app

load_commands()


def run(config: str, data_dir: Path, env: dict[str, str] | None = None) -> object:
    return CliRunner().invoke(app, ["--config", config, "--data-dir", str(data_dir), "jobs", "list"], env=env)


def test_a_file_that_is_not_toml_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "site.toml"
    broken.write_text("[ingest\nengine = 'local'\n")
    result = run(str(broken), tmp_path / "data")
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {broken}: not valid TOML: Expected ']'")


def test_a_bad_value_names_its_setting_and_where_it_came_from(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text('[extract]\nworkers = "many"\n')
    from_file = run(str(config), tmp_path / "data")
    assert from_file.exit_code == 2
    assert from_file.output.splitlines() == [
        f"error: setting extract.workers ({config}): Input should be a valid integer, unable to parse string"
        " as an integer, got 'many'"
    ]
    from_env = run("offline", tmp_path / "data", env={"FIGVAULT_INGEST__DEFAULT_GROUPS": "bad group!"})
    assert from_env.exit_code == 2
    [line] = from_env.output.splitlines()
    assert line.startswith("error: setting ingest.default_groups (FIGVAULT_INGEST__DEFAULT_GROUPS): invalid")
    assert "errors.pydantic.dev" not in line


def test_a_bad_secret_is_named_but_not_repeated(tmp_path: Path) -> None:
    """A scrape token too short was echoed back (`got 'short-but-real-secret'`) into terminals and CI logs;
    an error about a credential names the setting and the reason only."""
    result = run(
        "offline", tmp_path / "data", env={"FIGVAULT_SERVICE__METRICS_TOKEN": "short-but-real-secret"}
    )
    assert result.exit_code == 2
    [line] = result.output.splitlines()
    assert line.startswith("error: setting service.metrics_token (FIGVAULT_SERVICE__METRICS_TOKEN): ")
    assert "at least 32 characters" in line and "not shown" in line
    assert "short-but-real-secret" not in result.output


def test_a_list_or_table_variable_that_is_not_json_names_itself_and_the_form(tmp_path: Path) -> None:
    """``FIGVAULT_SERVICE__INGEST_ALLOW_DIRS=/srv/drop`` (a stable variable) ended the command with 'error
    parsing value for field "service" from source "EnvSettingsSource"'; a variable holding a table was
    blamed on the TOML file (a first-hour walk, 2026-12-06)."""
    plain = run("offline", tmp_path / "data", env={"FIGVAULT_SERVICE__INGEST_ALLOW_DIRS": "/srv/drop"})
    assert plain.exit_code == 2
    assert plain.output.splitlines() == [
        "error: setting service.ingest_allow_dirs (FIGVAULT_SERVICE__INGEST_ALLOW_DIRS): give it as JSON,"
        """ e.g. ["a", "b"], got '/srv/drop'"""
    ]
    both = {
        "FIGVAULT_INGEST__DEFAULT_GROUPS": "finance,ops",
        "FIGVAULT_SERVICE__INGEST_ALLOW_DIRS": "/srv/drop",
    }
    assert (
        "FIGVAULT_SERVICE__INGEST_ALLOW_DIRS" in run("offline", tmp_path / "data", env=both).output
    )  # a,b is fine
    table = run("offline", tmp_path / "data", env={"FIGVAULT_SEARCH__PRIORS": '{"slide": "x"}'})
    assert table.exit_code == 2
    assert table.output.startswith("error: setting search.priors.slide (FIGVAULT_SEARCH__PRIORS): ")
    secret = run("offline", tmp_path / "data", env={"FIGVAULT_SERVICE__JWT_ADDITIONAL_SECRETS": "hunter2"})
    assert "the value is a secret, not shown" in secret.output and "hunter2" not in secret.output


def test_an_unknown_key_of_a_table_setting_names_the_keys_it_takes(tmp_path: Path) -> None:
    """``FIGVAULT_SEARCH__WEIGHTS='{"lexcal": 0}'`` was read as a weight of no channel, the lexical channel
    keeping its 1.0: the ranking changed without a word (a first-hour audit, 2026-12-08)."""
    from_env = run("offline", tmp_path / "data", env={"FIGVAULT_SEARCH__WEIGHTS": '{"lexcal": 0}'})
    assert from_env.exit_code == 2
    assert from_env.output.splitlines() == [
        "error: setting search.weights (FIGVAULT_SEARCH__WEIGHTS): unknown key 'lexcal' (did you mean"
        " 'lexical'?); the keys are clip, text, lexical,"
        " got {'clip': 1.0, 'text': 1.0, 'lexical': 2.0, 'lexcal': 0}"
    ]  # the variable's keys go over the profile's table
    one_key = run("offline", tmp_path / "data", env={"FIGVAULT_SEARCH__WEIGHTS__LEXCAL": "0"})
    assert one_key.output.startswith(
        "error: setting search.weights (FIGVAULT_SEARCH__WEIGHTS__LEXCAL): unknown key 'lexcal'"
    )
    config = tmp_path / "site.toml"
    for table, key, meant in (
        ("weights", "lexcal", "lexical"),
        ("priors", "slides", "slide"),
        ("no_match_weights", "coverag", "coverage"),
    ):
        config.write_text(f'extends = "offline"\n[search]\n{table} = {{ {key} = 0.5 }}\n')
        from_file = run(str(config), tmp_path / "data")
        assert from_file.exit_code == 2, table
        [line] = from_file.output.splitlines()
        assert line.startswith(f"error: setting search.{table} ({config}): unknown key {key!r} (did you mean")
        assert f"(did you mean {meant!r}?)" in line
    config.write_text("[search]\npriors = { zzz = 1.0, slide = 0.3 }\n")
    [line] = run(str(config), tmp_path / "data").output.splitlines()
    known = "slide, paper, picture, document, own_words, document_support"
    assert f"unknown key 'zzz'; the keys are {known}" in line


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        (
            "FIGVAULT_LEXICAL__FIELD_WEIGHTS",
            '{"titel": 2}',
            "unknown key 'titel' (did you mean 'title'?); the keys are title, caption, figure_text, context,"
            " page_text, document",
        ),
        ("FIGVAULT_LEXICAL__FIELD_B", '{"captoin": 0.5}', "unknown key 'captoin' (did you mean 'caption'?)"),
        ("FIGVAULT_LEXICAL__STEMMER", "englsh", "unknown stemmer 'englsh'"),
        ("FIGVAULT_SERVICE__RATE_LIMIT_PER_KEY", "100/secnd", "not a rate limit"),
        ("FIGVAULT_SERVICE__AUTH_FAILURES_PER_ADDRESS", "lots", "not a rate limit"),
        ("FIGVAULT_SERVICE__JWT_ALGORITHMS", '["HS265"]', "unknown JWT algorithm 'HS265' (did you mean"),
        (
            "FIGVAULT_SERVICE__JWT_ALGORITHMS",
            '["hs512"]',
            "unknown JWT algorithm 'hs512' (did you mean 'HS512'?)",
        ),
        (
            "FIGVAULT_SERVICE__JWT_ALGORITHMS",
            '["HS256", "none"]',
            "JWT algorithm 'none' (unsigned tokens) is never",
        ),
        ("FIGVAULT_TEXT__BATCH_SIZE", "0", "Input should be greater than or equal to 1"),
        ("FIGVAULT_CLIP__BATCH_SIZE", "-1", "Input should be greater than or equal to 1"),
        ("FIGVAULT_RERANKER__BATCH_SIZE", "0", "Input should be greater than or equal to 1"),
        ("FIGVAULT_JOBS__BATCH_SIZE", "0", "Input should be greater than or equal to 1"),
    ],
)
def test_a_value_its_reader_cannot_use_ends_the_command_with_one_line(
    tmp_path: Path, variable: str, value: str, reason: str
) -> None:
    """These were accepted at load and failed later: lexical field names and the stemmer with a traceback
    from the lexical channel (``figvault status``), a rate limit with the ``limits`` library's error naming
    no setting (``figvault serve``); an unknown JWT algorithm started a service that refused every token,
    and a batch size of 0 was taken (a first-hour audit, 2026-12-08)."""
    result = run("offline", tmp_path / "data", env={variable: value})
    assert result.exit_code == 2
    [line] = result.output.splitlines()
    setting = variable.removeprefix("FIGVAULT_").lower().replace("__", ".")
    assert line.startswith(f"error: setting {setting} ({variable}): {reason}"), line
