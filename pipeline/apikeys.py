"""API keys: generation, the stored (salted scrypt) form, and constant-time verification.

A key reads ``fvk_<key_id>_<secret>``. The key id is a public lookup handle (the row in the users table);
the secret is 256 random bits, stored only as scrypt(secret, per-key salt). A leaked users table therefore
gives no usable key, and the id prefix lets a request find its row without trying every hash.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

KEY_PREFIX = "fvk"
_KEY_RE = re.compile(r"fvk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")

# scrypt cost: about 50 ms per check on this class of CPU. Verified keys are remembered in-process
# (auth.ApiKeyVerifier), so the cost is paid once per key and process, not per request.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
_SCRYPT_MAXMEM = 64 * 1024 * 1024


@dataclass(frozen=True)
class NewKey:
    key: str
    """The full key, shown to its owner once and never stored."""
    key_id: str
    key_hash: str
    """``scrypt$N$r$p$<salt hex>$<hash hex>``: parameters travel with the hash so they can change later."""


@dataclass(frozen=True)
class ParsedKey:
    key_id: str
    secret: str


def looks_like_api_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX + "_")


def parse_api_key(token: str) -> ParsedKey | None:
    match = _KEY_RE.fullmatch(token)
    if match is None:
        return None
    return ParsedKey(key_id=match.group(1), secret=match.group(2))


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=_SCRYPT_MAXMEM, dklen=32)


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_secret(secret: str, stored: str) -> bool:
    """Constant-time check of ``secret`` against a stored ``scrypt$...`` hash; False for malformed input."""
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(digest_hex)
        actual = _scrypt(secret, bytes.fromhex(salt_hex), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


_DUMMY_SALT = secrets.token_bytes(16)


def dummy_check(secret: str) -> None:
    """Spend what ``verify_secret`` spends, for a key id that does not exist (no timing oracle)."""
    hmac.compare_digest(_scrypt(secret, _DUMMY_SALT, SCRYPT_N, SCRYPT_R, SCRYPT_P), bytes(32))


def generate_api_key() -> NewKey:
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)  # 32 bytes -> 43 url-safe characters
    return NewKey(key=f"{KEY_PREFIX}_{key_id}_{secret}", key_id=key_id, key_hash=hash_secret(secret))
