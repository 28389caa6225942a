"""JWT bearer tokens: HS256 and RS256, expiry, audience, issuer, algorithm confusion, claim mapping."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from figvault.access import Role
from figvault.service.auth import Authenticator, AuthError
from figvault.settings import ServiceSettings

SECRET = "test-shared-secret-of-at-least-32-bytes!"


@pytest.fixture(scope="module")
def rsa_pair() -> tuple[Any, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public_pem


def _claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "sub": "jo",
        "tenant": "acme",
        "groups": ["a", "b"],
        "roles": ["editor"],
        "iat": now,
        "exp": now + 60,
    }
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def _auth(tmp_path: Path, **service: Any) -> Authenticator:
    conn = sqlite3.connect(tmp_path / "r.sqlite3")
    return Authenticator(ServiceSettings(**service), lambda: conn)


def test_hs256_token_maps_claims(tmp_path: Path) -> None:
    auth = _auth(tmp_path, jwt_secret=SECRET, jwt_audience="figvault", jwt_issuer="https://idp")
    token = jwt.encode(_claims(aud="figvault", iss="https://idp"), SECRET, algorithm="HS256")
    p = auth.authenticate(token)
    assert (p.user, p.tenant, p.groups, p.roles, p.unrestricted) == (
        "jwt:jo",  # token subjects are namespaced apart from API-key users
        "acme",
        ["a", "b"],
        [Role.EDITOR],
        False,
    )


def test_rs256_token_with_generated_key(tmp_path: Path, rsa_pair: tuple[Any, str]) -> None:
    private, public_pem = rsa_pair
    key_file = tmp_path / "pub.pem"
    key_file.write_text(public_pem)
    for configured in (public_pem, str(key_file)):  # PEM text or a path to it
        auth = _auth(tmp_path, jwt_public_key=configured)
        token = jwt.encode(_claims(roles="admin,reader", groups="x, y"), private, algorithm="RS256")
        p = auth.authenticate(token)
        assert p.roles == [Role.ADMIN, Role.READER] and p.groups == ["x", "y"]


@pytest.mark.parametrize(
    ("why", "claims", "service"),
    [
        ("expired", _claims(exp=int(time.time()) - 120), {}),
        ("no exp", _claims(exp=None), {}),
        ("no sub", _claims(sub=None), {}),
        # " jo " would be an account apart from "jo" that every list and audit entry shows alike.
        ("sub with edge spaces", _claims(sub=" jo "), {}),
        ("sub of spaces", _claims(sub="   "), {}),
        ("wrong audience", _claims(aud="other"), {"jwt_audience": "figvault"}),
        ("missing audience", _claims(), {"jwt_audience": "figvault"}),
        ("unexpected audience", _claims(aud="figvault"), {}),
        ("wrong issuer", _claims(iss="https://evil"), {"jwt_issuer": "https://idp"}),
        ("HS not accepted", _claims(), {"jwt_algorithms": ["RS256"]}),
    ],
)
def test_rejected_hs256_tokens(
    tmp_path: Path, why: str, claims: dict[str, Any], service: dict[str, Any]
) -> None:
    auth = _auth(tmp_path, jwt_secret=SECRET, **service)
    with pytest.raises(AuthError):
        auth.authenticate(jwt.encode(claims, SECRET, algorithm="HS256"))


def test_wrong_secret_and_tampering(tmp_path: Path) -> None:
    auth = _auth(tmp_path, jwt_secret=SECRET)
    with pytest.raises(AuthError):
        auth.authenticate(jwt.encode(_claims(), "another-secret-another-secret-1234", algorithm="HS256"))
    header, _payload, sig = jwt.encode(_claims(), SECRET, algorithm="HS256").split(".")
    forged_payload = jwt.utils.base64url_encode(b'{"sub":"root","exp":9999999999,"roles":["admin"]}').decode()
    with pytest.raises(AuthError):
        auth.authenticate(f"{header}.{forged_payload}.{sig}")
    unsigned = jwt.encode(_claims(), None, algorithm="none")
    with pytest.raises(AuthError):
        auth.authenticate(unsigned)


def test_algorithm_confusion_is_refused(tmp_path: Path, rsa_pair: tuple[Any, str]) -> None:
    # An attacker signs HS256 with the (public) RSA key as the HMAC secret: it must not verify.
    _, public_pem = rsa_pair
    auth = _auth(tmp_path, jwt_public_key=public_pem)
    import hashlib
    import hmac

    header = jwt.utils.base64url_encode(b'{"alg":"HS256","typ":"JWT"}')
    body = jwt.utils.base64url_encode(b'{"sub":"x","exp":9999999999,"roles":["admin"]}')
    sig = jwt.utils.base64url_encode(
        hmac.new(public_pem.encode(), header + b"." + body, hashlib.sha256).digest()
    )
    with pytest.raises(AuthError, match="no key configured"):
        auth.authenticate((header + b"." + body + b"." + sig).decode())


def test_two_keys_are_trusted_only_for_one_issuer(tmp_path: Path, rsa_pair: tuple[Any, str]) -> None:
    """A shared secret and a public key could be set together without an issuer: two parties' tokens, and
    ``sub: jo`` of each was the one account ``jwt:jo`` (its jobs to cancel and retry, its audit entries,
    its budgets). Two keys are now trusted only with ``jwt_issuer`` set: both speak for that issuer, whose
    subjects are one namespace; a token of another issuer is refused, whichever key signed it."""
    from figvault.errors import FigvaultError

    private, public_pem = rsa_pair
    with pytest.raises(FigvaultError, match=r"service\.jwt_issuer"):
        _auth(tmp_path, jwt_secret=SECRET, jwt_public_key=public_pem)
    auth = _auth(tmp_path, jwt_secret=SECRET, jwt_public_key=public_pem, jwt_issuer="https://idp")
    for key, alg in ((SECRET, "HS256"), (private, "RS256")):
        assert auth.authenticate(jwt.encode(_claims(iss="https://idp"), key, algorithm=alg)).user == "jwt:jo"
        for other in ("https://other", None):
            with pytest.raises(AuthError, match="token rejected"):
                auth.authenticate(jwt.encode(_claims(iss=other), key, algorithm=alg))


def test_jwt_disabled_without_keys(tmp_path: Path) -> None:
    with pytest.raises(AuthError, match="not configured"):
        _auth(tmp_path).authenticate(jwt.encode(_claims(), SECRET, algorithm="HS256"))


def test_group_claims_are_strings_each_once(tmp_path: Path) -> None:
    """``groups: [true]`` read as the group "True" and ``[1, 2]`` as "1" and "2" (an identity provider's
    flag or ids matched groups of those names; an audit, 2026-12-07), and repeats were kept. Only strings
    are names now, each once."""
    auth = _auth(tmp_path, jwt_secret=SECRET)
    claims = _claims(groups=[True, 1, 2.0, " fin ", "fin", ["hr"], {"g": 1}, "", "hr"])
    assert auth.authenticate(jwt.encode(claims, SECRET, algorithm="HS256")).groups == ["fin", "hr"]
    assert auth.authenticate(jwt.encode(_claims(groups="fin, hr,fin"), SECRET, algorithm="HS256")).groups == [
        "fin",
        "hr",
    ]


def test_roles_default_and_unknown(tmp_path: Path) -> None:
    auth = _auth(tmp_path, jwt_secret=SECRET)
    assert auth.authenticate(jwt.encode(_claims(roles=None), SECRET, algorithm="HS256")).roles == [
        Role.READER
    ]
    # Unknown role names are dropped, and "unrestricted" in a token means nothing.
    p = auth.authenticate(jwt.encode(_claims(roles=["root"], unrestricted=True), SECRET, algorithm="HS256"))
    assert p.roles == [] and not p.unrestricted


def test_unknown_role_names_are_logged_and_grant_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A token whose roles were all unknown ("Admin": names are case-sensitive) was given no role without a
    log line, and every call was 403 (a first-hour audit, 2026-12-08). The names are logged, not the token."""
    auth = _auth(tmp_path, jwt_secret=SECRET)
    token = jwt.encode(_claims(roles=["Admin", "superuser"]), SECRET, algorithm="HS256")
    with caplog.at_level("WARNING", logger="figvault.service.auth"):
        assert auth.authenticate(token).roles == []
        auth.authenticate(token)
    [record] = caplog.records  # once per token holder and names, not per request
    message = record.getMessage()
    assert "'Admin', 'superuser'" in message and "reader, editor, admin" in message
    assert "jwt:jo" in message and "no role" in message and token not in message
    caplog.clear()
    mixed = jwt.encode(_claims(sub="al", roles=["reader", "Editor"]), SECRET, algorithm="HS256")
    with caplog.at_level("WARNING", logger="figvault.service.auth"):
        assert auth.authenticate(mixed).roles == [Role.READER]
    assert "'Editor'" in caplog.records[0].getMessage()


def test_a_short_shared_secret_is_refused(tmp_path: Path) -> None:
    """``service.jwt_secret = "s3cret"`` was accepted: one token a caller holds is enough to find such a
    secret offline (a dictionary, or every short string), and then to sign tokens of any subject, tenant and
    role. A shared secret shorter than 32 bytes (RFC 7518: at least the hash's 256 bits) is now refused when
    the service starts, with how to make one."""
    from figvault.errors import FigvaultError

    for short in ("s3cret", "x" * 31):
        with pytest.raises(FigvaultError, match="shorter than 32 bytes"):
            _auth(tmp_path, jwt_secret=short)
    auth = _auth(tmp_path, jwt_secret="x" * 32)
    assert auth.authenticate(jwt.encode(_claims(), "x" * 32, algorithm="HS256")).user == "jwt:jo"


def test_a_private_key_or_no_key_as_the_public_key_is_refused_at_start(
    tmp_path: Path, rsa_pair: tuple[Any, str]
) -> None:
    """A private key given as ``jwt_public_key`` (an easy slip on an operator's walk, 2026-12-05) was
    accepted: the server started and every RS256 token then failed in PyJWT (AttributeError: no
    ``verify`` on a private key). Now the server refuses the setting, saying what the file holds."""
    from figvault.errors import FigvaultError

    private, _ = rsa_pair
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    key_file = tmp_path / "idp.key"
    key_file.write_text(private_pem)
    for configured in (private_pem, str(key_file)):
        with pytest.raises(FigvaultError, match="holds a private key: give the server the public key only"):
            _auth(tmp_path, jwt_public_key=configured)
    with pytest.raises(FigvaultError, match="holds no PEM public key"):
        _auth(tmp_path, jwt_public_key="-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----")


NEXT_SECRET = "the-next-shared-secret-of-32-bytes-or-more"


def test_a_rotation_trusts_the_next_secret_beside_the_current_one(tmp_path: Path) -> None:
    """One shared secret was trusted at a time: a rotation refused every token of the other secret from
    the restart on. ``jwt_additional_secrets`` trusts the next one beside it, by key id: a token whose
    ``kid`` names it is checked with it only, a token without one against each."""
    auth = _auth(tmp_path, jwt_secret=SECRET, jwt_additional_secrets={"2027-01": NEXT_SECRET})
    assert auth.authenticate(jwt.encode(_claims(), SECRET, algorithm="HS256")).user == "jwt:jo"
    for headers in ({"kid": "2027-01"}, None, {"kid": "unknown-here"}):
        token = jwt.encode(_claims(), NEXT_SECRET, algorithm="HS256", headers=headers)
        assert auth.authenticate(token).user == "jwt:jo", headers
    # The kid chooses the key: the current secret under the next one's kid does not verify.
    with pytest.raises(AuthError, match="Signature verification failed"):
        auth.authenticate(jwt.encode(_claims(), SECRET, algorithm="HS256", headers={"kid": "2027-01"}))
    with pytest.raises(AuthError, match="Signature verification failed"):
        auth.authenticate(jwt.encode(_claims(), "a-third-secret-never-configured-here!!", algorithm="HS256"))
    # Claims are still checked with the key that matched: an expired token of the next key is refused.
    expired = jwt.encode(_claims(exp=int(time.time()) - 120), NEXT_SECRET, algorithm="HS256")
    with pytest.raises(AuthError, match="expired"):
        auth.authenticate(expired)


def test_a_rotation_trusts_the_next_public_key_by_kid(tmp_path: Path, rsa_pair: tuple[Any, str]) -> None:
    current, current_pem = rsa_pair
    following = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    following_file = tmp_path / "idp-2027.pem"
    following_file.write_bytes(
        following.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    auth = _auth(
        tmp_path, jwt_public_key=current_pem, jwt_additional_public_keys={"idp-2027": str(following_file)}
    )
    for key, headers in ((current, None), (following, {"kid": "idp-2027"}), (following, None)):
        token = jwt.encode(_claims(), key, algorithm="RS256", headers=headers)
        assert auth.authenticate(token).user == "jwt:jo"
    with pytest.raises(AuthError, match="Signature verification failed"):
        auth.authenticate(jwt.encode(_claims(), current, algorithm="RS256", headers={"kid": "idp-2027"}))
    # An additional key is held to the main key's rules, and the message names it.
    from figvault.errors import FigvaultError

    with pytest.raises(FigvaultError, match=r"public_keys\['old'\]: .* holds no PEM public key"):
        _auth(tmp_path, jwt_public_key=current_pem, jwt_additional_public_keys={"old": "-----BEGIN x"})
    with pytest.raises(FigvaultError, match=r"jwt_additional_secrets\['k'\] is shorter than 32 bytes"):
        _auth(tmp_path, jwt_secret=SECRET, jwt_additional_secrets={"k": "short"})
    with pytest.raises(FigvaultError, match=r"service\.jwt_issuer"):  # two kinds of key: one issuer
        _auth(tmp_path, jwt_public_key=current_pem, jwt_additional_secrets={"k": NEXT_SECRET})


def test_a_rotation_to_another_key_type_trusts_tokens_without_a_kid(
    tmp_path: Path, rsa_pair: tuple[Any, str]
) -> None:
    """A rotation from an RSA key to an EC key (RS256 to ES256): a token without a ``kid`` is tried against
    each public key, main first, and the RSA key made pyjwt raise InvalidKeyError for an ES256 token, which
    ended the tries: every ES256 token of the new key was refused unless it named its ``kid``. A key of
    another type is now passed over like a key whose signature does not match."""
    from cryptography.hazmat.primitives.asymmetric import ec

    _current, current_pem = rsa_pair
    following = ec.generate_private_key(ec.SECP256R1())
    following_pem = (
        following.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    auth = _auth(tmp_path, jwt_public_key=current_pem, jwt_additional_public_keys={"ec-2027": following_pem})
    assert auth.authenticate(jwt.encode(_claims(), following, algorithm="ES256")).user == "jwt:jo"
    stranger = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(AuthError, match="Signature verification failed"):
        auth.authenticate(jwt.encode(_claims(), stranger, algorithm="ES256"))
    only_rsa = _auth(tmp_path, jwt_public_key=current_pem)
    with pytest.raises(AuthError, match="token rejected"):
        only_rsa.authenticate(jwt.encode(_claims(), following, algorithm="ES256"))


def test_a_huge_token_is_refused_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A JWT is verified on the event loop. A well-formed token of 27 MB (a padded header) was decoded,
    hashed and parsed there: 10.6 s at a 1-minute load of 19, while no request of anyone was answered;
    the per-address failure budget let 60 of them through a minute. A token past MAX_TOKEN_CHARS is now
    refused before it is read; a token of ordinary size still works."""
    import base64

    auth = _auth(tmp_path, jwt_secret=SECRET)
    read: list[str] = []
    real = jwt.get_unverified_header
    monkeypatch.setattr(jwt, "get_unverified_header", lambda token: read.append(token) or real(token))
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","pad":"' + b"a" * 100_000 + b'"}')
    huge = header.decode().rstrip("=") + ".e30.c2ln"
    with pytest.raises(AuthError, match=r"longer than \d+ characters"):
        auth.authenticate(huge)
    assert read == []
    assert auth.authenticate(jwt.encode(_claims(), SECRET, algorithm="HS256")).user == "jwt:jo"
    assert len(read) == 1


def test_a_job_queued_with_the_next_key_is_kept_while_that_key_is_trusted(tmp_path: Path) -> None:
    """A queued job checks its token's key again (figvault.pipeline.credentials.jwt_refusal): a token of a
    rotation's additional key keeps its job while either setting still holds that key."""
    from figvault.pipeline.credentials import jwt_refusal

    rotating = {"jwt_secret": SECRET, "jwt_additional_secrets": {"next": NEXT_SECRET}}
    token = jwt.encode(_claims(), NEXT_SECRET, algorithm="HS256", headers={"kid": "next"})
    credential = _auth(tmp_path, **rotating).authenticate(token).credential
    assert credential is not None
    now = time.time()
    assert jwt_refusal(ServiceSettings(**rotating), credential, now) is None
    assert jwt_refusal(ServiceSettings(jwt_secret=NEXT_SECRET), credential, now) is None  # promoted
    assert jwt_refusal(ServiceSettings(jwt_secret=SECRET), credential, now) is not None  # dropped


def test_an_additional_secret_is_never_repeated_in_a_settings_error(tmp_path: Path) -> None:
    """An error about one entry (``service.jwt_additional_secrets.k``) is an error about a secret."""
    from pydantic import ValidationError

    from figvault.settings import load_settings
    from figvault.settings_check import settings_error

    wrong = {"jwt_additional_secrets": {"k": ["the-secret-value-itself-xxxxxxxxxxxxx"]}}
    with pytest.raises(ValidationError) as caught:
        load_settings("offline", service=wrong)
    line = settings_error(caught.value, tmp_path / "figvault.toml", {})
    assert "service.jwt_additional_secrets.k" in line and "the-secret-value-itself" not in line
