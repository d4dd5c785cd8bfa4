"""Bearer tokens: signature, issuer, audience, expiry and role are checked; with an identity provider's JWKS the
key is chosen by its id, and a key published during a rotation is picked up without a restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from tests.conftest import LiveServer, serve_in_thread
from vangnet.security.tokens import TokenError, TokenVerifier, issue, jwks, key_id

ISSUER, AUDIENCE = "https://idp.example.test", "vangnet"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def token(key: rsa.RSAPrivateKey, **overrides: Any) -> str:
    kwargs: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, "role": "ocmw", "org": "ocmw-44021"}
    return issue(key, **(kwargs | overrides))


@pytest.fixture(scope="module")
def idp() -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    """An identity provider's JWKS endpoint whose key set the test can change (a rotation)."""
    published: dict[str, Any] = {"keys": []}
    app = FastAPI()
    app.get("/jwks.json")(lambda: published)
    live = serve_in_thread(app)
    yield live, published
    live.stop()


def test_the_embedded_issuer_checks_every_claim() -> None:
    key = new_key()
    verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, key=key)
    who = verifier.verify(token(key))
    assert (who.role, who.org) == ("ocmw", "ocmw-44021") and who.expires_at and who.expires_at > time.time()
    refused = {
        "another issuer": token(key, issuer="https://evil.example"),
        "another audience": token(key, audience="someone-else"),
        "expired": token(key, now=time.time() - 7200, ttl_seconds=60),
        "another key": token(new_key()),
        "not a token": "abc.def.ghi",
    }
    for why, bad in refused.items():
        with pytest.raises(TokenError, match="invalid token"):
            verifier.verify(bad)
        assert why  # (named for the failure message)
    unsigned = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "iat": 0, "exp": 2**31, "role": "admin"},
                          key="", algorithm="none")
    with pytest.raises(TokenError):
        verifier.verify(unsigned)  # "alg: none" is never accepted
    forged_role = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "iat": int(time.time()),
                              "exp": int(time.time()) + 60, "role": "root"}, key, algorithm="RS256")
    with pytest.raises(TokenError, match="unknown role"):
        verifier.verify(forged_role)
    no_org = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "iat": int(time.time()),
                         "exp": int(time.time()) + 60, "role": "ocmw"}, key, algorithm="RS256")
    with pytest.raises(TokenError, match="needs an organisation"):
        verifier.verify(no_org)


def test_a_jwks_verifier_picks_the_key_by_id_and_follows_a_rotation(idp: tuple[LiveServer, dict[str, Any]]
                                                                   ) -> None:
    live, published = idp
    old, new, stranger = new_key(), new_key(), new_key()
    published["keys"] = jwks(old)["keys"]
    verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks_url=f"{live.url}/jwks.json",
                             jwks_refresh_cooldown=0.5)
    assert verifier.verify(token(old)).org == "ocmw-44021"

    # The provider publishes its next key next to the current one and starts signing with it: the verifier does
    # not know that key id yet. Right after a fetch it does not fetch again (the cooldown keeps random key ids
    # from hammering the provider); after the cooldown it fetches the set again and accepts the token. The old
    # key keeps working meanwhile.
    published["keys"] = jwks(new)["keys"] + jwks(old)["keys"]
    with pytest.raises(TokenError, match="Unable to find a signing key"):
        verifier.verify(token(new, role="auditor", org=None))
    time.sleep(0.6)
    assert verifier.verify(token(new, role="auditor", org=None)).role == "auditor"
    assert verifier.verify(token(old)).role == "ocmw"
    assert {k["kid"] for k in published["keys"]} == {key_id(old), key_id(new)}

    with pytest.raises(TokenError, match="invalid token"):
        verifier.verify(token(stranger))  # a key the provider never published


def test_a_verified_token_is_remembered_until_its_expiry_and_a_refused_one_never(
        monkeypatch: pytest.MonkeyPatch) -> None:
    key = new_key()
    verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, key=key)
    decoded: list[str] = []
    real_decode = jwt.decode

    def counting_decode(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        return real_decode(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting_decode)
    issued = time.time()
    short = token(key, now=issued, ttl_seconds=30)
    assert verifier.verify(short) == verifier.verify(short)
    assert len(decoded) == 1  # the second request did not check the signature again

    bad = token(new_key())
    for _ in range(2):
        with pytest.raises(TokenError):
            verifier.verify(bad)
    assert decoded.count(bad) == 2  # a refusal is not remembered

    # Expires one to two seconds from now (not from ``issued``: generating the other key above can take a second
    # on a loaded machine, and a token already expired would be refused at its first verification).
    brief_from = time.time() - 28
    brief = token(key, now=brief_from, ttl_seconds=30)
    verifier.verify(brief)
    expires_at = int(brief_from) + 30
    while time.time() <= expires_at + 0.05:
        time.sleep(0.05)
    with pytest.raises(TokenError, match="expired"):  # past its expiry: refused, although it was remembered
        verifier.verify(brief)

    long = token(key, now=issued, ttl_seconds=3600)
    verified_at = time.time()  # the minute counts from the verification, which the wait above moved past ``issued``
    verifier.verify(long)
    monkeypatch.setattr(time, "time", lambda: verified_at + 59)  # within the minute: remembered
    verifier.verify(long)
    assert decoded.count(long) == 1
    monkeypatch.setattr(time, "time", lambda: verified_at + 61)  # past the minute: checked again
    verifier.verify(long)
    assert decoded.count(long) == 2
