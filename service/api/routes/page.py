"""The search page: ``/`` and its static files under ``/static``, shipped inside the package.

Plain HTML, CSS and JavaScript modules, no build step and nothing fetched from elsewhere at run time, so
the page works on an air-gapped site exactly as it does here.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from figvault.search_models import MAX_PIXELS_SIDE, MAX_TOP_K
from figvault.service.deps import SettingsDep

STATIC_PACKAGE = ("figvault.service", "static")

router = APIRouter(include_in_schema=False)
router.mount("/static", StaticFiles(packages=[STATIC_PACKAGE]), name="static")

# The page holds a credential (in sessionStorage): no framing by other sites, no referrer leaks, and
# the browser revalidates it so an upgraded server never runs against a stale page.
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self';"
        " connect-src 'self'; frame-ancestors 'none'"
    ),
}


PAGE_LIMITS = {"MAX_TOP_K": MAX_TOP_K, "MAX_PIXELS_SIDE": MAX_PIXELS_SIDE}
"""The search's limits the page's inputs carry (``{{NAME}}`` in index.html), from their one definition."""


def index_html(top_k: int) -> str:
    """The page, its inputs carrying the search's limits and ``top_k`` (``search.top_k``: the results box
    started at 12 whatever the setting, which the CLI and the API follow)."""
    page = resources.files(STATIC_PACKAGE[0]).joinpath(STATIC_PACKAGE[1], "index.html").read_text("utf-8")
    for name, value in {**PAGE_LIMITS, "TOP_K": top_k}.items():
        page = page.replace(f"{{{{{name}}}}}", str(value))
    return page


@router.get("/", response_class=HTMLResponse)
def search_page(settings: SettingsDep) -> HTMLResponse:
    return HTMLResponse(index_html(settings.search.top_k), headers=PAGE_HEADERS)
