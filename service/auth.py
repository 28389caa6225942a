"""Who is calling: bearer API keys (users table) and JWTs (pyjwt) turned into a Principal.

Every failure is an ``AuthError`` whose reason goes to the log; the HTTP answer is a plain 401 that does
not tell a guesser which part was wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt

from figvault.access import Principal, Role
from figvault.db import Database
from figvault.errors import FigvaultError
from figvault.service import users
from figvault.service.apikeys import looks_like_api_key, parse_api_key, verify_secret
from figvault.settings import ServiceSettings

_HMAC_ALGS = {"HS256", "HS384", "HS512"}
_MAX_CACHED_KEYS = 10_000


class SlowCheckNeeded(Exception):
    """The key's scrypt check has to run (first use of the key in this process): run it off the event loop."""


class AuthError(FigvaultError):
    """Credentials missing, malformed, unknown, revoked, expired or for someone else."""


def load_public_key(value: str) -> str:
    """``jwt_public_key`` is PEM text or the path of a PEM file."""
    if not value or value.lstrip().startswith("-----BEGIN"):
        return value
    path = Path(value).expanduser()
    try:
        return path.read_text()
    except OSError as exc:
        raise FigvaultError(f"service.jwt_public_key: cannot read {path}: {exc.strerror or exc}") from None


def _string_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str | int) and str(v)]
    raise AuthError("token claim has the wrong type (want a list of strings)")


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Map verified JWT claims to a Principal: ``sub``, ``tenant``, ``groups``, ``roles`` (or ``role``).

    Unknown role names are dropped; a token with no role claim at all is a reader. A token is never
    unrestricted, whatever it claims.
    """
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise AuthError("token has no subject")
    tenant = claims.get("tenant", "default")
    if not isinstance(tenant, str) or not tenant:
        raise AuthError("token tenant claim is not a string")
    raw_roles = claims.get("roles", claims.get("role"))
    if raw_roles is None:
        roles = [Role.READER]
    else:
        known = {role.value for role in Role}
        roles = [Role(r) for r in _string_list(raw_roles) if r in known]
    return Principal(user=sub, tenant=tenant, groups=_string_list(claims.get("groups")), roles=roles)


class JwtVerifier:
    """Verifies signature, expiry, audience and issuer against the configured keys."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.secret = settings.jwt_secret
        self.public_key = load_public_key(settings.jwt_public_key)
        self.algorithms = set(settings.jwt_algorithms)
        self.audience = settings.jwt_audience or None
        self.issuer = settings.jwt_issuer or None

    @property
    def enabled(self) -> bool:
        return bool(self.secret or self.public_key)

    def _key_for(self, alg: str) -> str:
        # The algorithm picks the key, and HMAC only ever uses the shared secret: a token signed with the
        # public key as an HMAC secret (algorithm confusion) cannot verify.
        if alg not in self.algorithms:
            raise AuthError(f"token algorithm {alg!r} is not accepted")
        key = self.secret if alg in _HMAC_ALGS else self.public_key
        if not key:
            raise AuthError(f"no key configured for {alg} tokens")
        return key

    def verify(self, token: str) -> Principal:
        try:
            alg = jwt.get_unverified_header(token).get("alg", "")
            claims = jwt.decode(
                token,
                self._key_for(str(alg)),
                algorithms=[str(alg)],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "sub"]},
                leeway=10,
            )
        except jwt.PyJWTError as exc:
            raise AuthError(f"token rejected: {exc}") from None
        return principal_from_claims(claims)


class ApiKeyVerifier:
    """Checks ``fvk_...`` keys against the users table.

    The row is read on every request, so a revoke takes effect at once; only the slow scrypt check is
    remembered (per key id and stored hash, as a sha256 of the secret), so it runs once per key and process.
    """

    def __init__(self, connect: Callable[[], Database]) -> None:
        self._connect = connect
        self._verified: dict[str, tuple[str, bytes]] = {}
        self._lock = threading.Lock()

    def verify(self, token: str, *, allow_slow: bool = True) -> Principal:
        """The key's principal, or AuthError. ``allow_slow=False``: raise ``SlowCheckNeeded`` instead of
        running scrypt (about 50 ms), so that an event loop can hand that one check to a thread."""
        parsed = parse_api_key(token)
        if parsed is None:
            raise AuthError("malformed API key")
        found = users.find_by_key_id(self._connect(), parsed.key_id)
        if found is None:
            raise AuthError("unknown API key")
        record, stored_hash = found
        if not record.active:
            raise AuthError(f"API key of {record.name!r} was revoked")
        fingerprint = hashlib.sha256(parsed.secret.encode()).digest()
        cached = self._verified.get(parsed.key_id)
        if cached is not None and cached[0] == stored_hash and hmac.compare_digest(cached[1], fingerprint):
            return record.principal()
        if not allow_slow:
            raise SlowCheckNeeded
        if not verify_secret(parsed.secret, stored_hash):
            raise AuthError("wrong API key secret")
        with self._lock:
            if len(self._verified) >= _MAX_CACHED_KEYS:
                self._verified.clear()
            self._verified[parsed.key_id] = (stored_hash, fingerprint)
        return record.principal()


class Authenticator:
    """Bearer token -> Principal, whichever kind of credential it is."""

    def __init__(self, settings: ServiceSettings, connect: Callable[[], Database]) -> None:
        self.api_keys = ApiKeyVerifier(connect)
        self.jwt = JwtVerifier(settings)

    def authenticate(self, token: str, *, allow_slow: bool = True) -> Principal:
        """The caller of ``token``, or AuthError. ``allow_slow``: see ``ApiKeyVerifier.verify``."""
        token = token.strip()
        if not token:
            raise AuthError("empty bearer token")
        if looks_like_api_key(token):
            return self.api_keys.verify(token, allow_slow=allow_slow)
        if token.count(".") == 2:
            if not self.jwt.enabled:
                raise AuthError("JWT bearer tokens are not configured on this server")
            return self.jwt.verify(token)
        raise AuthError("bearer token is neither an API key nor a JWT")
