"""Who is calling: bearer API keys (users table) and JWTs (pyjwt) turned into a Principal.

Every failure is an ``AuthError`` whose reason goes to the log; the HTTP answer is a plain 401 that does
not tell a guesser which part was wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NoReturn

import jwt

from figvault.access import Credential, Principal, Role
from figvault.db import Database
from figvault.errors import FigvaultError
from figvault.pipeline import users
from figvault.pipeline.apikeys import dummy_check, looks_like_api_key, parse_api_key, verify_secret
from figvault.pipeline.credentials import (
    HMAC_ALGS,
    JWT_LEEWAY_S,
    JwtKey,
    jwt_keys,
    key_fingerprint,
    keys_for_kid,
)
from figvault.pipeline.user_records import JWT_USER_PREFIX
from figvault.settings import ServiceSettings
from figvault.text_checks import strip_invisible, text_problem

log = logging.getLogger("figvault.service.auth")
_MAX_CACHED_KEYS = 10_000
_MAX_SUBJECT_CHARS = 128
MAX_TOKEN_CHARS = 16_384
"""Longest bearer token looked at (an identity provider's token with a long group list is a few KB; nginx's
default header buffers stop at 8 KB). A JWT is verified on the event loop: a 27 MB token took seconds of
decoding, hashing and JSON parsing there, during which no request of anyone was answered."""


class SlowCheckNeeded(Exception):
    """The key's scrypt check has to run (first use of the key in this process): run it off the event loop."""


class AuthError(FigvaultError):
    """Credentials missing, malformed, unknown, revoked, expired or for someone else."""


def _string_list(value: Any) -> list[str]:
    """A list claim's names, each once, in order: a comma-separated string or a list of strings. Other
    items are dropped: ``[true]`` read as the group "True", so an identity provider's flag matched a group
    of that name (an audit, 2026-12-07)."""
    if value is None:
        return []
    if isinstance(value, str):
        names = [part.strip() for part in value.split(",")]
    elif isinstance(value, list):
        names = [v.strip() for v in value if isinstance(v, str)]
    else:
        raise AuthError("token claim has the wrong type (want a list of strings)")
    return list(dict.fromkeys(n for n in names if n))


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Map verified JWT claims to a Principal: ``sub``, ``tenant``, ``groups``, ``roles`` (or ``role``).

    Unknown role names are dropped (and logged): a role claim of only unknown names gives no role, so every
    call is refused; a token with no role claim at all is a reader. A token is never unrestricted, whatever
    it claims.
    """
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise AuthError("token has no subject")
    if len(sub) > _MAX_SUBJECT_CHARS or text_problem(sub) or strip_invisible(sub) != sub:
        raise AuthError("token subject is too long or holds control or formatting characters")
    if sub.strip() != sub:  # " jo " would be an account apart from "jo", shown alike in lists and the audit
        raise AuthError("token subject starts or ends with a space")
    tenant = claims.get("tenant", "default")
    if not isinstance(tenant, str) or not tenant:
        raise AuthError("token tenant claim is not a string")
    try:  # the same rules as for API-key users: these names end up in store filters and URLs
        users.validate_label("tenant", tenant)
    except users.UserError as exc:
        raise AuthError(f"token claim refused: {str(exc)[:120]}") from None
    # A group name no document can carry (documents' groups follow the same rules) grants nothing: dropped.
    groups = [g for g in _string_list(claims.get("groups")) if users.is_label(g)]
    raw_roles = claims.get("roles", claims.get("role"))
    user = JWT_USER_PREFIX + sub
    if raw_roles is None:
        roles = [Role.READER]
    else:
        names = _string_list(raw_roles)
        known = {role.value for role in Role}
        roles = [Role(r) for r in names if r in known]
        _warn_unknown_roles(user, tenant, [r for r in names if r not in known], bool(roles))
    return Principal(user=user, tenant=tenant, groups=groups, roles=roles)


_warned_roles: OrderedDict[tuple[str, str, tuple[str, ...]], None] = OrderedDict()
_warned_lock = threading.Lock()


def _warn_unknown_roles(user: str, tenant: str, unknown: list[str], some_known: bool) -> None:
    """Say which role names of a token were dropped: a token of only unknown ones ("Admin") was refused on
    every call (403) with nothing in the log. Once per holder and names in a process, not per request; the
    token itself never reaches the log."""
    if not unknown:
        return
    key = (tenant, user, tuple(name[:40] for name in unknown[:10]))  # what the line names, bounded
    with _warned_lock:
        if key in _warned_roles:
            return
        _warned_roles[key] = None
        if len(_warned_roles) > _MAX_CACHED_KEYS:
            _warned_roles.popitem(last=False)
    names = ", ".join(repr(name[:40]) for name in unknown[:10])
    result = "its other roles stand" if some_known else "it has no role: every call is refused (403)"
    log.warning(
        "JWT of %s (tenant %s) names roles figvault does not know, dropped: %s (the roles are %s;"
        " names are case-sensitive); %s",
        user,
        tenant,
        names,
        ", ".join(role.value for role in Role),
        result,
    )


TWO_KEYS_NEED_AN_ISSUER = (
    "service.jwt_secret and service.jwt_public_key are both set (with their jwt_additional_* keys) but"
    " service.jwt_issuer is not: the two kinds of key could be two issuers, whose equal subjects would be"
    " one account (jwt:<sub>: its jobs, audit entries, budgets). Set service.jwt_issuer (every token must"
    " then carry that iss), or keep one kind of key."
)
"""Token identity is ``jwt:<sub>``, one namespace: every key this server trusts must speak for one issuer."""
MIN_JWT_SECRET_BYTES = 32
"""RFC 7518 3.2: an HMAC key at least as long as the hash (256 bits for HS256). A shorter shared secret is
guessed offline from any one token a caller holds, and then signs any subject, tenant and role."""


def short_jwt_secret(setting: str) -> str:
    return (
        f"{setting} is shorter than {MIN_JWT_SECRET_BYTES} bytes: anyone holding one token could guess"
        " it offline and sign tokens for any tenant and role. Use a random one, e.g."
        " `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
    )


class JwtVerifier:
    """Verifies signature, expiry, audience and issuer against the configured keys: the main shared secret
    and public key, and a rotation's additional ones (chosen by the token's ``kid`` where it names one)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.secrets = jwt_keys(settings, hmac_family=True)
        self.public_keys = jwt_keys(settings, hmac_family=False)
        self.algorithms = set(settings.jwt_algorithms)
        self.audience = settings.jwt_audience or None
        self.issuer = settings.jwt_issuer or None
        if self.secrets and self.public_keys and self.issuer is None:
            raise FigvaultError(TWO_KEYS_NEED_AN_ISSUER)
        for secret in self.secrets:
            if len(secret.key.encode()) < MIN_JWT_SECRET_BYTES:
                raise FigvaultError(short_jwt_secret(secret.setting))

    @property
    def enabled(self) -> bool:
        return bool(self.secrets or self.public_keys)

    def _keys_for(self, alg: str, kid: str | None) -> list[JwtKey]:
        # The algorithm picks the family, and HMAC only ever uses the shared secrets: a token signed with a
        # public key as an HMAC secret (algorithm confusion) cannot verify.
        if alg not in self.algorithms:
            raise AuthError(f"token algorithm {alg!r} is not accepted")
        keys = self.secrets if alg in HMAC_ALGS else self.public_keys
        if not keys:
            raise AuthError(f"no key configured for {alg} tokens")
        return keys_for_kid(keys, kid)

    def _decode(self, token: str, alg: str, keys: list[JwtKey]) -> tuple[dict[str, Any], JwtKey]:
        """The claims and the key whose signature matched; the claims are checked with that key only. A key
        of another type than ``alg`` needs (an RSA key for an ES256 token, in a rotation from one to the
        other) is passed over, as one whose signature does not match."""
        mismatch: jwt.InvalidSignatureError | None = None
        for key in keys:
            try:
                claims = jwt.decode(
                    token,
                    key.key,
                    algorithms=[alg],
                    audience=self.audience,
                    issuer=self.issuer,
                    options={"require": ["exp", "sub"]},
                    leeway=JWT_LEEWAY_S,
                )
            except jwt.InvalidSignatureError as exc:
                mismatch = exc
                continue
            except jwt.InvalidKeyError:
                continue
            return claims, key
        if mismatch is not None:
            raise mismatch
        raise AuthError(f"token rejected: no configured key is of the type {alg} tokens need")

    def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
            alg, kid = str(header.get("alg", "")), header.get("kid")
            keys = self._keys_for(alg, kid if isinstance(kid, str) else None)
            claims, key = self._decode(token, alg, keys)
        except jwt.PyJWTError as exc:
            raise AuthError(f"token rejected: {exc}") from None
        # What a job queued with this token checks again (figvault.pipeline.credentials.jwt_refusal).
        fingerprint = key_fingerprint(key.key)
        credential = Credential(kind="jwt", expires=int(claims["exp"]), alg=alg, key=fingerprint)
        return principal_from_claims(claims).model_copy(update={"credential": credential})


class ApiKeyVerifier:
    """Checks ``fvk_...`` keys against the users table.

    The row is read on every request, so a revoke takes effect at once; only the slow scrypt check is
    remembered (per key id and stored hash, as a sha256 of the secret), so it runs once per key and process.

    A guesser learns nothing from the time an answer takes: an unknown key id, a revoked key and a wrong
    secret all cost one full scrypt check on their first try (an unknown id is checked against a dummy
    hash of the same parameters), and a token already refused once is refused from memory, whatever the
    reason was. Only a correct secret takes the fast path, and only its owner has it.
    """

    def __init__(self, connect: Callable[[], Database]) -> None:
        self._connect = connect
        self._verified: dict[str, tuple[str, bytes]] = {}
        self._refused: OrderedDict[bytes, str] = OrderedDict()
        """sha256 of a refused token -> the reason (for the log), oldest first."""
        self._lock = threading.Lock()

    def verify(self, token: str, *, allow_slow: bool = True) -> Principal:
        """The key's principal, or AuthError. ``allow_slow=False``: raise ``SlowCheckNeeded`` instead of
        running scrypt (about 50 ms), so that an event loop can hand that one check to a thread."""
        parsed = parse_api_key(token)
        if parsed is None:
            raise AuthError("malformed API key")
        token_hash = hashlib.sha256(token.encode()).digest()
        refused = self._refused.get(token_hash)
        if refused is not None:
            raise AuthError(f"{refused} (key id {parsed.key_id}, refused before)")
        found = users.find_by_key_id(self._connect(), parsed.key_id)
        fingerprint = hashlib.sha256(parsed.secret.encode()).digest()
        if found is not None and found[0].active:
            record, stored_hash = found
            known = self._verified.get(parsed.key_id)
            if known is not None and known[0] == stored_hash and hmac.compare_digest(known[1], fingerprint):
                return record.principal()
        if not allow_slow:
            raise SlowCheckNeeded
        if found is None:
            dummy_check(parsed.secret)  # the cost of a real check: no timing difference for unknown ids
            self._refuse(token_hash, f"unknown API key id {parsed.key_id}")
        record, stored_hash = found
        if not verify_secret(parsed.secret, stored_hash):
            self._refuse(token_hash, f"wrong secret for API key id {parsed.key_id}")
        if not record.active:
            self._refuse(token_hash, f"API key of {record.name!r} was revoked")
        with self._lock:
            if len(self._verified) >= _MAX_CACHED_KEYS:
                self._verified.clear()
            self._verified[parsed.key_id] = (stored_hash, fingerprint)
        return record.principal()

    def _refuse(self, token_hash: bytes, reason: str) -> NoReturn:
        with self._lock:
            self._refused[token_hash] = reason
            while len(self._refused) > _MAX_CACHED_KEYS:
                self._refused.popitem(last=False)
        raise AuthError(reason)


def api_key_id(token: str) -> str | None:
    """The key id of a well-formed API key (a public handle: rate limits, logs); None for anything else."""
    parsed = parse_api_key(token)
    return parsed.key_id if parsed is not None else None


class Authenticator:
    """Bearer token -> Principal, whichever kind of credential it is."""

    def __init__(self, settings: ServiceSettings, connect: Callable[[], Database]) -> None:
        self.api_keys = ApiKeyVerifier(connect)
        self.jwt = JwtVerifier(settings)

    def authenticate(self, token: str, *, allow_slow: bool = True) -> Principal:
        """The caller of ``token``, or AuthError. ``allow_slow``: see ``ApiKeyVerifier.verify``."""
        if len(token) > MAX_TOKEN_CHARS:  # before any work on it (even stripping)
            raise AuthError(f"bearer token longer than {MAX_TOKEN_CHARS} characters")
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
