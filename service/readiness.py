"""``/readyz``'s checks: engine, encoders, warm-up, store, served version; each True or a one-line reason, and
the fixed reasons an unauthenticated caller sees instead."""

from __future__ import annotations

import logging
from typing import Any

from figvault.access import Principal
from figvault.errors import one_line, typed_line
from figvault.settings import Settings

log = logging.getLogger("figvault.service")

# Sees nothing (no groups, no roles): a count through it proves the store answers a filtered query
# without reading any data.
_PROBE = Principal(user="readyz", tenant="readyz", groups=[], roles=[])

READY_WHEN = ("engine", "encoders", "warm_up", "store", "version")


def readiness_checks(engine: Any, settings: Settings, warm_up: Any = None) -> dict[str, Any]:
    """Each check is ``True`` or a one-line reason it failed. ``warm_up``: the app's WarmUp, if any."""
    checks: dict[str, Any] = {}
    if engine is None:
        return {"engine": "not loaded"}
    checks["engine"] = True
    checks["encoders"] = True if engine.encoders_loaded() else "not loaded yet"
    checks["warm_up"] = True if warm_up is None else warm_up.status()
    try:
        engine.count(_PROBE)
        checks["store"] = True
    except Exception as exc:
        checks["store"] = typed_line(exc)
    try:
        served = engine.served()  # raises VersionMismatchError when the store serves another version
        checks["version"] = True
        checks["collection"] = served[0] if served else "none yet (nothing ingested)"
    except Exception as exc:  # reported, not raised: readyz answers either way
        checks["version"] = one_line(exc)
    return checks


# What an unauthenticated caller sees for a failing check: a fixed reason, never the error text (which may
# carry an internal address or a model path). The details go to the server log. ``collection`` (the served
# collection's name, which the operator chose or the embedding version's hash made) is a stable field of
# this answer that deployment scripts read after a re-encode, so it stays.
PUBLIC_REASONS = {
    "engine": "not loaded",
    "encoders": "not loaded yet",
    "warm_up": "warming up",
    "store": "store unreachable",
    "version": "served version differs from the configured one",
}


def public_checks(checks: dict[str, Any], warming_up: bool) -> dict[str, Any]:
    """``checks`` with each failure replaced by its fixed reason (READY_WHEN's checks) and ``collection``."""
    shown = {
        name: True if checks[name] is True else PUBLIC_REASONS[name] for name in READY_WHEN if name in checks
    }
    if shown.get("warm_up", True) is not True and not warming_up:
        shown["warm_up"] = "warm-up failed"
    if "collection" in checks:
        shown["collection"] = checks["collection"]
    return shown


def log_failing(app_state: Any, checks: dict[str, Any]) -> None:
    """Log the failing checks' details once each time they change (an orchestrator polls /readyz often)."""
    failing = {name: value for name, value in checks.items() if name in READY_WHEN and value is not True}
    if failing and failing != getattr(app_state, "readyz_logged", None):
        log.warning("not ready: %s", "; ".join(f"{name}: {why}" for name, why in failing.items()))
    app_state.readyz_logged = failing
