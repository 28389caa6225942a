"""``figvault serve`` that cannot start says why in one line: before, a second ``serve`` on the same data
folder (or one started while a CLI ingest held it, or with the CLIP weights missing) printed an 80-line
traceback whose last line was the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from figvault.cli import load_commands
from figvault.commands import app
from figvault.errors import StoreError
from tests.helpers.server import free_port

load_commands()
HELD = "the embedded store x is in use by another process: stop the other figvault process"


def _serve_with_the_store_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: type[Exception]
) -> Result:
    """``figvault serve`` whose engine cannot open the store: ``error(HELD)``."""

    def held(settings: object) -> None:
        raise error(HELD)

    monkeypatch.setattr("figvault.service.app._load_engine", held)
    return CliRunner().invoke(
        app, ["--config", "offline", "--data-dir", str(tmp_path), "serve", "--port", str(free_port())]
    )


def test_a_start_up_that_fails_for_a_figvault_reason_says_it_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _serve_with_the_store_held(tmp_path, monkeypatch, StoreError)
    assert result.exit_code == 3, result.output
    assert f"figvault cannot start: {HELD}" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("suppressed", [False, True])
def test_a_failure_while_handling_a_figvault_error_keeps_its_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suppressed: bool
) -> None:
    """A new error raised while a FigvaultError was being handled is another failure (a bug in the
    handling): it is not reworded as the handled error's reason, and its traceback is kept."""

    def handled_then_broken(settings: object) -> None:
        try:
            raise StoreError(HELD)
        except StoreError:
            if suppressed:
                raise KeyError("a bug while cleaning up") from None
            raise KeyError("a bug while cleaning up")  # noqa: B904 (the implicit context is the point)

    monkeypatch.setattr("figvault.service.app._load_engine", handled_then_broken)
    result = CliRunner().invoke(
        app, ["--config", "offline", "--data-dir", str(tmp_path), "serve", "--port", "18799"]
    )
    assert result.exit_code == 3, result.output
    assert "figvault cannot start" not in result.output
    assert "KeyError" in result.output and "a bug while cleaning up" in result.output


def test_a_configuration_the_app_refuses_says_it_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two JWT keys without an issuer are refused when the app is built (service/auth.py), before uvicorn
    runs: that was a 40-line traceback ending in the reason; now the reason alone, and exit 1."""
    monkeypatch.setenv("FIGVAULT_SERVICE__JWT_SECRET", "0123456789abcdef0123456789abcdef")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    monkeypatch.setenv("FIGVAULT_SERVICE__JWT_PUBLIC_KEY", pem.decode())  # a real key: it is checked first
    result = CliRunner().invoke(
        app, ["--config", "offline", "--data-dir", str(tmp_path), "serve", "--port", "18799"]
    )
    assert result.exit_code == 1, result.output
    assert "error: service.jwt_secret and service.jwt_public_key are both set" in result.output
    assert "Traceback" not in result.output


def test_a_taken_port_is_said_before_anything_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn binds its port only after the app's start-up: with the port taken, ``serve`` loaded the
    models, logged uvicorn's bind error, then printed "the search page is at http://...:PORT/" (a page
    another process serves) and ended. Now it says the port is taken before it loads anything."""
    import socket

    def must_not_load(settings: object) -> None:
        raise StoreError("the models were loaded although the port is taken")

    monkeypatch.setattr("figvault.service.app._load_engine", must_not_load)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = CliRunner().invoke(
            app, ["--config", "offline", "--data-dir", str(tmp_path), "serve", "--port", str(port)]
        )
    assert result.exit_code == 1, result.output
    assert f"error: cannot listen on 127.0.0.1:{port}:" in result.output and "--port" in result.output
    assert "models were loaded" not in result.output


def test_a_rate_limit_storage_that_cannot_be_used_says_it_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/deploy.md tells replicas to share ``service.rate_limit_storage`` (``redis://...``); with the
    redis client missing (it is not installed with figvault) or a scheme ``limits`` does not know, serve
    ended in a 54-line traceback from ``limits``. Now one line naming the setting, password hidden."""
    monkeypatch.setenv("FIGVAULT_SERVICE__RATE_LIMIT_STORAGE", "nosuch://counter:s3cret@host/0")
    result = CliRunner().invoke(
        app, ["--config", "offline", "--data-dir", str(tmp_path), "serve", "--port", "18799"]
    )
    assert result.exit_code in (1, 3), result.output
    assert "service.rate_limit_storage 'nosuch://counter:***@host/0': unknown storage scheme" in result.output
    assert "Traceback" not in result.output and "s3cret" not in result.output


def test_a_storage_url_fsspec_cannot_open_says_it_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``storage.url = s3://...`` without s3fs (docs/deploy.md: `pip install s3fs`) ended serve in a
    traceback from fsspec ("ImportError: Install s3fs to access S3"); now one line naming the setting.
    A scheme fsspec does not know at all takes the same path here (s3fs may be installed one day)."""
    monkeypatch.setenv("FIGVAULT_STORAGE__URL", "nosuch://files:s3cret@host/figvault")
    result = CliRunner().invoke(
        app, ["--config", "offline", "--data-dir", str(tmp_path), "serve", "--port", "18799"]
    )
    assert result.exit_code in (1, 3), result.output
    assert "storage.url 'nosuch://files:***@host/figvault': Protocol not known: nosuch" in result.output
    assert "Traceback" not in result.output and "s3cret" not in result.output


def test_a_second_serve_on_a_lite_folder_is_told_what_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lite serves a folder from one process: a second `serve` (or a worker of a multi-process start) is
    refused at start; the line now says how to run several (before: only "stop the other process")."""
    from figvault.errors import StoreInUseError

    result = _serve_with_the_store_held(tmp_path, monkeypatch, StoreInUseError)
    assert result.exit_code == 3, result.output
    assert f"figvault cannot start: {HELD}" in result.output
    assert "for more serve processes use a Milvus server" in result.output
