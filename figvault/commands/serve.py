"""``figvault serve [--host 127.0.0.1] [--port 8000]``: the HTTP service (uvicorn)."""

from __future__ import annotations

import logging
import socket
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from figvault.commands import app, state
from figvault.errors import FigvaultError, StoreInUseError
from figvault.private_dirs import open_to_others

if TYPE_CHECKING:
    from fastapi import FastAPI

    from figvault.settings import Settings


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Address (default: service.host).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="TCP port (default: service.port).")] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
) -> None:
    """Serve the search page (/) and the HTTP API (/v1, /healthz, /readyz, /metrics; OpenAPI schema at
    /openapi.json).

    When ready it prints what it serves: the page's address, profile, store, collection and unit count,
    whether rerank is on and why, documents nobody can see, and the first user to create if there is none."""
    import uvicorn

    from figvault.commands._retrieval_cli import one_line_errors
    from figvault.encoders.device import serving_cpu_threads, use_cpu_threads
    from figvault.service.app import create_app
    from figvault.service.http_protocol import bounded_head_protocol

    settings = state(ctx).settings
    _log_to_stderr(log_level)
    use_cpu_threads(serving_cpu_threads(settings.service.cpu_threads))
    host = host or settings.service.host
    port = port or settings.service.port
    taken = _cannot_listen(host, port)
    if taken is not None:  # before the models load: else the ready lines came after uvicorn's bind error
        typer.echo(f"error: {taken}", err=True)
        raise typer.Exit(1)
    typer.echo(
        f"figvault: starting on {host}:{port}, profile {settings.profile}, data folder {settings.data_dir};"
        " loading the encoders and the store...",
        err=True,
    )
    if open_to_others(settings.data_dir):  # the operator's folder keeps its mode: say so, change nothing
        typer.echo(
            f"warning: other local users may read the data folder {settings.data_dir} (originals, figures,"
            " the audit trail): chmod 700 it",
            err=True,
        )

    def announce(app: FastAPI) -> None:
        from figvault.service.startup import startup_lines

        lines = startup_lines(settings, app.state.engine, host, port, app.state.warm_up)
        typer.echo("\n".join(lines), err=True)

    logging.getLogger("uvicorn.error").addFilter(OneLineStartupError())
    # One process: the search engine (models, store client) lives once per process; the thread pool
    # gives concurrency. Scale out with more processes behind a proxy.
    with one_line_errors():  # a configuration the app refuses (two JWT keys, no issuer) ends with its reason
        app = create_app(settings, on_ready=announce)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        root_path=settings.service.root_path,
        http=bounded_head_protocol(settings.service.max_header_kb * 1024),
        **proxy_options(settings),
    )


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's forwarded-header options: read ``X-Forwarded-For`` / ``-Proto`` only from the proxies
    ``service.forwarded_allow_ips`` names, and from nobody when it is empty (uvicorn would otherwise trust
    127.0.0.1, or its ``FORWARDED_ALLOW_IPS`` variable, which figvault's settings do not show)."""
    trusted = settings.service.forwarded_allow_ips
    if not trusted:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": trusted}


def _cannot_listen(host: str, port: int) -> str | None:
    """Why ``serve`` could not listen on ``host:port`` (the port taken, the address not this machine's),
    found by binding it once; None when it can. Checked before anything loads: uvicorn binds only after
    the app's start-up (the models, a warm-up search), so a taken port printed "the search page is at ..."
    for a page another process serves, then ended."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: TIME_WAIT is no bar
            probe.bind(address)
    except OSError as exc:
        return (
            f"cannot listen on {host}:{port}: {exc.strerror or exc} (another `figvault serve`, or another"
            " program, may have the port): stop it, or choose another with --port"
        )
    return None


class OneLineStartupError(logging.Filter):
    """A start-up that fails for a reason figvault words for people (the data folder held by another
    process, model weights missing, a registry it cannot open) is logged as that one line, not as the
    traceback Starlette hands uvicorn (the reason was its last line, under 80 lines of frames)."""

    def filter(self, record: logging.LogRecord) -> bool:
        reason = _figvault_reason(sys.exc_info()[1]) if record.levelno >= logging.ERROR else None
        if reason is not None and record.getMessage().startswith("Traceback"):
            record.msg, record.args = f"figvault cannot start: {reason}", ()
        return True


def _figvault_reason(exc: BaseException | None) -> str | None:
    """The one-line reason of the FigvaultError behind ``exc`` (itself or its explicit cause, ``raise ...
    from``), if there is one. Not an error it was raised while handling (``__context__``): that is another
    failure, a bug in the handling, whose traceback is kept."""
    while exc is not None:
        if isinstance(exc, StoreInUseError):  # most often a second serve: what to do for more processes
            return f"{exc}. {ONE_SERVE_PER_LITE_FOLDER}"
        if isinstance(exc, FigvaultError):
            return str(exc)
        exc = exc.__cause__
    return None


ONE_SERVE_PER_LITE_FOLDER = (
    "One `figvault serve` per data folder on Milvus Lite; for more serve processes use a Milvus server"
    " (store.uri) and PostgreSQL, each process with its own data folder (docs/deploy.md, Processes)"
)


def _log_to_stderr(level: str) -> None:
    """figvault's own log lines (failed authentications, failing jobs) on stderr beside uvicorn's."""
    logger = logging.getLogger("figvault")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        logger.addHandler(handler)
    named = logging.getLevelName(level.upper())
    logger.setLevel(named if isinstance(named, int) else logging.DEBUG)
