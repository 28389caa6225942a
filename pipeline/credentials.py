"""Whether the credential recorded in queued work may still act for it.

An ingest job records whose it is (``params.principal``, with ``credential``: ``figvault.access.Credential``)
and checks that credential again before it starts and between its batches (pipeline/ingest_job.py; a
re-encode started over HTTP does the same for its admin: pipeline/reencode.py ``check_admin``): an API
key is re-read from the users table by its key id (revoked, gone, moved, demoted, out of a group: refused);
a JWT cannot be re-read, so its expiry is checked, and that this server still verifies its algorithm with
the same key (a rotated or removed key refuses it). Whatever cannot be checked is refused (fail closed).

In the pipeline, which owns the jobs and the registry (not the service: the pipeline must not import the
HTTP layer, tests/core/test_layering.py); the service's JWT verifier (service/auth.py) uses the same key
rules.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from figvault.access import Action, Credential
from figvault.db import Database
from figvault.errors import FigvaultError
from figvault.pipeline.user_records import ingest_refusal, record_refusal, user_by_key_id
from figvault.settings import ServiceSettings

HMAC_ALGS = frozenset({"HS256", "HS384", "HS512"})
JWT_LEEWAY_S = 10
"""Seconds a token's ``exp`` (and ``nbf``/``iat``) may be off."""


def load_public_key(value: str, setting: str = "service.jwt_public_key") -> str:
    """A public key setting (``setting``) is PEM text or the path of a PEM file; it must hold a public key."""
    if not value or value.lstrip().startswith("-----BEGIN"):
        return _public_pem(value, "its PEM text", setting) if value else value
    path = Path(value).expanduser()
    try:
        text = path.read_text()
    except OSError as exc:
        raise FigvaultError(f"{setting}: cannot read {path}: {exc.strerror or exc}") from None
    return _public_pem(text, str(path), setting)


def _public_pem(text: str, where: str, setting: str) -> str:
    """``text`` when it starts with a PEM public key. A private key or a certificate there used to be taken
    as is: the server started, and every token then failed (a private key: a 500 per request, since PyJWT
    loads it and finds no verify method), so the mistake showed only as signed-in users refused."""
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        load_pem_public_key(text.encode())
    except (ValueError, TypeError):
        if "PRIVATE KEY-----" in text:
            fix = "a private key: give the server the public key only (openssl pkey -in KEY -pubout)"
        elif "CERTIFICATE-----" in text:
            fix = "a certificate: give its public key (openssl x509 -in CERT -pubkey -noout)"
        else:
            fix = "no PEM public key (-----BEGIN PUBLIC KEY-----)"
        raise FigvaultError(f"{setting}: {where} holds {fix}") from None
    return text


@dataclass(frozen=True)
class JwtKey:
    """One key this server verifies tokens with."""

    kid: str | None
    """Its key id (``jwt_additional_*``'s name), matched against a token's ``kid``; None: the main key."""
    key: str
    setting: str
    """Where it is configured, for messages (never the key itself)."""


def jwt_keys(service: ServiceSettings, *, hmac_family: bool) -> list[JwtKey]:
    """The keys trusted for HMAC tokens (``hmac_family``) or for public-key ones: the main key first, then
    the additional ones of a rotation (``jwt_additional_secrets`` / ``_public_keys``), by key id."""
    if hmac_family:
        main = [JwtKey(None, service.jwt_secret, "service.jwt_secret")] if service.jwt_secret else []
        more = service.jwt_additional_secrets.items()
        return main + [JwtKey(kid, key, f"service.jwt_additional_secrets[{kid!r}]") for kid, key in more]
    keys = [JwtKey(None, service.jwt_public_key, "service.jwt_public_key")] if service.jwt_public_key else []
    for kid, value in service.jwt_additional_public_keys.items():
        keys.append(JwtKey(kid, value, f"service.jwt_additional_public_keys[{kid!r}]"))
    return [JwtKey(k.kid, load_public_key(k.key, k.setting), k.setting) for k in keys]


def keys_for_kid(keys: list[JwtKey], kid: str | None) -> list[JwtKey]:
    """The key a token's ``kid`` names, when one is named so; else every key, the main one first (an issuer
    that sends no ``kid``, or one unknown here, is tried against each)."""
    named = [key for key in keys if kid is not None and key.kid == kid]
    return named or keys


def key_fingerprint(key: str) -> str:
    """A short keyed digest that tells whether a JWT key is still the same (the key itself is never
    recorded; for an HMAC secret this reveals no more than any token signed with it)."""
    return hmac.new(key.encode(), b"figvault: a queued job's token key", hashlib.sha256).hexdigest()[:32]


def jwt_refusal(service: ServiceSettings, credential: Credential, now: float) -> str | None:
    """Why the JWT that queued a job may no longer act for it; None while it may."""
    if credential.expires is None or now > credential.expires + JWT_LEEWAY_S:
        return "the token that queued this job has expired"
    alg = credential.alg or ""
    try:  # any key trusted for its algorithm: a rotation's next or previous key keeps the job
        keys = jwt_keys(service, hmac_family=alg in HMAC_ALGS)
    except FigvaultError:
        keys = []
    if alg not in service.jwt_algorithms or credential.key not in {key_fingerprint(k.key) for k in keys}:
        return "this server no longer accepts the token that queued this job"
    return None


@dataclass(frozen=True)
class Refusal:
    """Why a recorded credential may no longer act for its job, and who may read that."""

    reason: str
    private: bool
    """True when the reason tells of the starter's standing (revoked, moved, demoted, out of a group, the
    key gone): not for everyone who sees the job, only the operator. False when it tells of the credential
    itself (a token expired or no longer accepted, an unreadable record): its holder needs it."""


def caller_refusal(
    db: Database | Any,
    service: ServiceSettings,
    recorded: dict[str, Any],
    tenant: str,
    groups: list[str] | None,
    action: Action = Action.INGEST,
    starter: str | None = None,
) -> Refusal | None:
    """Why the caller recorded in a job's ``params.principal`` may no longer ingest into ``groups`` of
    ``tenant`` (or do ``action`` there: a re-encode's admin); None while it may. A job recorded before
    credentials were (no ``credential``) is checked by its API-key user's name, and refused when that user
    has no record, it was a token's, or (``starter``: the job's ``started_by_id``) the name now belongs to
    another account."""
    user = str(recorded.get("user") or "")
    raw = recorded.get("credential")
    if raw is None:
        return _private(ingest_refusal(db, user, tenant, groups, action, account=starter))
    try:
        credential = Credential.model_validate(raw)
    except ValidationError:
        return Refusal("the job's recorded credential cannot be read", private=False)
    if credential.kind == "local":
        return None
    if credential.kind == "jwt":
        reason = jwt_refusal(service, credential, time.time())
        return None if reason is None else Refusal(reason, private=False)
    record = user_by_key_id(db, credential.key_id or "")
    if record is None:
        return Refusal("the API key that queued this job no longer exists", private=True)
    return _private(record_refusal(record, tenant, groups, action))


def _private(reason: str | None) -> Refusal | None:
    return None if reason is None else Refusal(reason, private=True)
