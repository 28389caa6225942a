"""A misspelt settings key or ``FIGVAULT_*`` variable is named with the closest known one: before, both
were ignored without a word (pydantic-settings ``extra="ignore"``), so ``FIGVAULT_INGEST__DEFAULT_GRUOPS``
left every new document visible to no one and nothing said why."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app
from figvault.settings import PROFILES, profile_path, resolve_config_path
from figvault.settings_check import unknown_settings

load_commands()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(
        'profile = "site"\n[ingest]\ndefault_gruops = ["finance"]\nengine = "local"\n'
        "[search.weights]\nclip = 0.5\n[serach]\ntop_k = 3\n"
    )
    return path


def test_misspelt_keys_and_variables_are_named_with_the_closest_setting(config: Path) -> None:
    environ = {
        "FIGVAULT_INGEST__DEFAULT_GRUOPS": "finance",
        "FIGVAULT_DATADIR": "/srv/figvault",
        "FIGVAULT_DATA_DIR": "/srv/figvault",
        "FIGVAULT_SEARCH__WEIGHTS__CLIP": "0.5",  # a key of a dict setting: the dict's own
        "FIGVAULT_CONFIG": "offline",  # not a setting, but figvault's own
        "FIGVAULT_SKIP_APT": "1",
        "HOME": "/root",
    }
    assert unknown_settings(config, environ) == [
        f"{config}: unknown setting ingest.default_gruops (did you mean ingest.default_groups?);"
        " it is ignored",
        f"{config}: unknown setting serach (did you mean search?); it is ignored",
        "FIGVAULT_DATADIR: unknown setting datadir (did you mean FIGVAULT_DATA_DIR?); it is ignored",
        "FIGVAULT_INGEST__DEFAULT_GRUOPS: unknown setting ingest.default_gruops"
        " (did you mean FIGVAULT_INGEST__DEFAULT_GROUPS?); it is ignored",
    ]


def test_one_underscore_for_two_is_named_with_the_setting_meant(config: Path) -> None:
    # FIGVAULT_STORE_URI was answered "did you mean FIGVAULT_STORE?": a section, not something to set.
    environ = {"FIGVAULT_STORE_URI": "http://milvus:19530", "FIGVAULT_INGEST_DEFAULT_GRUOPS": "hr"}
    assert unknown_settings(profile_path("offline"), environ) == [
        "FIGVAULT_INGEST_DEFAULT_GRUOPS: unknown setting ingest_default_gruops"
        " (did you mean FIGVAULT_INGEST__DEFAULT_GROUPS?); it is ignored",
        "FIGVAULT_STORE_URI: unknown setting store_uri (did you mean FIGVAULT_STORE__URI?); it is ignored",
    ]


def test_a_sections_key_written_outside_it_is_named_with_its_section(tmp_path: Path) -> None:
    """``top_k = 3`` at the top of a file (before any ``[search]``) was "unknown setting top_k" with no hint
    (a first-hour audit); the section that has such a setting is named now, for a variable too."""
    path = tmp_path / "site.toml"
    path.write_text('profile = "site"\ntop_k = 3\n[search]\nneighbour_depth = 2\n')
    assert unknown_settings(path, {"FIGVAULT_TOP_K": "3"}) == [
        f"{path}: unknown setting top_k (did you mean search.top_k?); it is ignored",
        "FIGVAULT_TOP_K: unknown setting top_k (did you mean FIGVAULT_SEARCH__TOP_K?); it is ignored",
    ]


def test_a_misspelt_profile_name_is_named_with_the_profile_meant(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="did you mean the profile 'offline'"):
        resolve_config_path("offlne")
    with pytest.raises(FileNotFoundError, match="profiles: default, offline"):
        resolve_config_path(tmp_path / "site.toml")


@pytest.mark.parametrize("profile", PROFILES)
def test_the_packaged_profiles_use_only_known_settings(profile: str) -> None:
    assert unknown_settings(profile_path(profile), {}) == []


def test_every_command_warns_and_still_runs(config: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["--config", str(config), "--data-dir", str(tmp_path / "data"), "jobs", "list"],
        env={"FIGVAULT_SEARCH__TOPK": "5"},
    )
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 3 and "ingest.default_gruops" in warnings[0]
    assert (
        "FIGVAULT_SEARCH__TOPK: unknown setting search.topk (did you mean FIGVAULT_SEARCH__TOP_K?)"
        in (warnings[2])
    )
    assert "no jobs" in result.output
