"""A trailing-slash redirect behind a TLS-terminating proxy. The proxy speaks plain HTTP to figvault, so
the request's scheme is ``http`` unless ``service.forwarded_allow_ips`` names the proxy (empty by
default); Starlette's slash redirect (307) built an absolute ``http://host/...`` address from it, and a
user's browser left HTTPS. The redirect now names a path only (RFC 9110 allows a relative Location): the
browser keeps its scheme and host, and ``service.root_path`` stays in front."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from fastapi.testclient import TestClient

from figvault.settings import load_settings

OUTSIDE = "figvault.example.com"


def _location(tmp_path: Path, path: str, root_path: str = "") -> str:
    from figvault.service.app import create_app

    settings = load_settings("offline", data_dir=tmp_path / "data")
    # No engine to load: its warm-up fails at once (logged, never fatal); a redirect needs none.
    app = create_app(settings, engine=SimpleNamespace())
    with TestClient(app, base_url=f"http://{OUTSIDE}", root_path=root_path) as client:
        response = client.get(path, headers={"X-Forwarded-Proto": "https"}, follow_redirects=False)
    assert response.status_code == 307, response.text
    return response.headers["location"]


def test_a_slash_redirect_names_a_path_not_the_plain_http_address(tmp_path: Path) -> None:
    assert _location(tmp_path, "/v1/me/") == "/v1/me"
    assert _location(tmp_path, "/v1/me/?x=1") == "/v1/me?x=1"


def test_a_slash_redirect_keeps_the_proxys_prefix(tmp_path: Path) -> None:
    location = _location(tmp_path, "/figvault/v1/me/", root_path="/figvault")
    assert location == "/figvault/v1/me"


def _rewritten(location: str) -> str:
    """The Location a bare app behind RelativeRedirects sends for a redirect to ``location``."""
    from starlette.applications import Starlette
    from starlette.responses import RedirectResponse
    from starlette.routing import Route

    from figvault.service.redirects import RelativeRedirects

    app = Starlette(routes=[Route("/go", lambda request: RedirectResponse(location, status_code=307))])
    app.add_middleware(RelativeRedirects)
    with TestClient(app, base_url=f"http://{OUTSIDE}") as client:
        return client.get("/go", follow_redirects=False).headers["location"]


def test_a_redirect_elsewhere_or_to_a_path_read_as_another_host_stays_absolute() -> None:
    """Only a Location on the request's own host becomes a path, and only when the path cannot be read as
    an address of its own: "//other.example/x" is a scheme-relative reference to other.example (RFC 3986
    4.2), so ``http://HOST//other.example/x`` sent as a path would send the browser to another host."""
    assert _rewritten(f"http://{OUTSIDE}/v1/me?a=1") == "/v1/me?a=1"
    assert _rewritten("https://other.example/v1/me") == "https://other.example/v1/me"
    assert _rewritten(f"http://{OUTSIDE}//other.example/x") == f"http://{OUTSIDE}//other.example/x"
