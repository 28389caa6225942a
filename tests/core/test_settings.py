from pathlib import Path

import pytest
from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app
from figvault.settings import DEFAULT_JWT_ALGORITHMS, check_jwt_algorithms, load_settings, resolve_config_path


def test_default_profile_has_every_channel(data_dir: Path) -> None:
    s = load_settings(data_dir=data_dir)
    assert s.profile == "default"
    assert s.clip.enabled and s.text.enabled and s.lexical.enabled
    assert s.data_dir == data_dir


def test_offline_profile_has_no_clip_image_channel(data_dir: Path) -> None:
    s = load_settings("offline", data_dir=data_dir)
    assert s.profile == "offline"
    assert not s.clip.enabled
    assert s.text.model.startswith("package:")


def test_env_overrides_toml_and_cli_overrides_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "my.toml"
    cfg.write_text('profile = "mine"\n[store]\nhnsw_m = 32\n[extract]\ndpi = 100\n')
    monkeypatch.setenv("FIGVAULT_CONFIG", str(cfg))
    monkeypatch.setenv("FIGVAULT_STORE__HNSW_M", "8")
    monkeypatch.setenv("FIGVAULT_DATA_DIR", str(tmp_path / "env-data"))
    s = load_settings()
    assert s.profile == "mine"
    assert s.extract.dpi == 100  # from the file
    assert s.store.hnsw_m == 8  # env beats file
    assert s.data_dir == tmp_path / "env-data"
    assert load_settings(data_dir=tmp_path / "cli").data_dir == tmp_path / "cli"  # option beats env


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="config file not found"):
        resolve_config_path(tmp_path / "nope.toml")


def test_cli_reports_missing_config_in_one_line(tmp_path: Path) -> None:
    load_commands()
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["--config", str(tmp_path / "nope.toml"), "extract", str(tmp_path), "--out", str(out)]
    )
    assert result.exit_code == 2
    assert "config file not found" in result.output


@pytest.mark.parametrize(
    ("raw", "expected"), [("finance, hr", ["finance", "hr"]), ('["hr","ops"]', ["hr", "ops"])]
)
def test_ingest_default_groups_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path, raw: str, expected: list[str]
) -> None:
    assert load_settings("offline", data_dir=data_dir).ingest.default_groups == []
    monkeypatch.setenv("FIGVAULT_INGEST__DEFAULT_GROUPS", raw)
    assert load_settings("offline", data_dir=data_dir).ingest.default_groups == expected


def test_ingest_default_groups_from_toml_are_checked(tmp_path: Path) -> None:
    cfg = tmp_path / "team.toml"
    cfg.write_text('[ingest]\ndefault_groups = ["staff", "staff", "hr"]\n')
    assert load_settings(cfg, data_dir=tmp_path).ingest.default_groups == ["hr", "staff"]
    cfg.write_text('[ingest]\ndefault_groups = ["no spaces"]\n')
    with pytest.raises(ValueError, match="invalid group name 'no spaces'"):
        load_settings(cfg, data_dir=tmp_path)


def test_a_settings_file_extends_a_profile_and_overrides_key_by_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operator's file (docs/deploy.md's Compose example) used to replace the profile whole: a file
    holding only its [service] keys ran with CLIP on (weights needed) and without offline's tuned search
    settings. ``extends`` starts it from a profile or another file."""
    site = tmp_path / "site.toml"
    site.write_text(
        'extends = "offline"\n[service]\njwt_issuer = "https://idp"\n[search]\nweights = {clip = 0.5}\n'
    )
    s = load_settings(site, data_dir=tmp_path)
    offline = load_settings("offline", data_dir=tmp_path)
    assert (s.profile, s.clip.enabled, s.service.jwt_issuer) == ("offline", False, "https://idp")
    assert s.search.rrf_k == offline.search.rrf_k == 10 and s.search.priors == offline.search.priors
    assert s.search.weights == {**offline.search.weights, "clip": 0.5}  # a table merges key by key
    monkeypatch.setenv("FIGVAULT_SEARCH__RRF_K", "20")
    assert load_settings(site, data_dir=tmp_path).search.rrf_k == 20  # the environment still wins

    team = tmp_path / "conf" / "team.toml"
    team.parent.mkdir()
    team.write_text('extends = "../site.toml"\n[service]\nport = 9000\n')
    chained = load_settings(team, data_dir=tmp_path)
    assert (chained.service.port, chained.service.jwt_issuer, chained.clip.enabled) == (
        9000,
        "https://idp",
        False,
    )

    plain = tmp_path / "plain.toml"
    plain.write_text('[service]\njwt_issuer = "https://idp"\n')
    assert load_settings(plain, data_dir=tmp_path).clip.enabled  # no extends: the code's defaults, as before


def test_extends_that_leads_nowhere_or_in_a_circle_is_one_line(tmp_path: Path) -> None:
    load_commands()
    site = tmp_path / "site.toml"
    site.write_text('extends = "ofline"\n')
    result = CliRunner().invoke(app, ["--config", str(site), "--data-dir", str(tmp_path), "jobs", "list"])
    assert result.exit_code == 2
    assert result.output.startswith(
        f"error: {site}: extends 'ofline', which is no profile (default, offline)"
    )
    site.write_text('extends = "other.toml"\n')
    (tmp_path / "other.toml").write_text('extends = "site.toml"\n')
    result = CliRunner().invoke(app, ["--config", str(site), "--data-dir", str(tmp_path), "jobs", "list"])
    assert result.exit_code == 2 and "`extends` comes back to" in result.output


def test_the_default_jwt_algorithms_are_pyjwt_names() -> None:
    """Settings skip PyJWT's import (0.25 s a command) for these names only: they must be PyJWT's."""
    check_jwt_algorithms(DEFAULT_JWT_ALGORITHMS)
    with pytest.raises(ValueError, match="unknown JWT algorithm 'HS265'"):
        check_jwt_algorithms(["HS265"])
