"""Bearer tokens: the embedded identity provider's signing key, issuing (``vangnet token``) and verifying.

Tokens are RS256 JWTs with issuer, audience, expiry, a role and an organisation. The embedded default keeps
its key under ``var/keys``; production configures an issuer and its JWKS URL and never signs locally.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

Role = Literal["ocmw", "ocmw-coordinator", "wonen-vlaanderen", "netbeheerder", "auditor", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
ORG_ROLES = ("ocmw", "ocmw-coordinator", "netbeheerder")
VERIFIED_KEPT = 4096  # tokens whose verification a process remembers
VERIFIED_FOR_SECONDS = 60.0  # and for how long at most (never past the token's own expiry)


class TokenError(ValueError):
    """The token is missing, malformed, expired, or not ours."""


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    org: str | None
    expires_at: int | None = None  # the token's exp (seconds since the epoch)


def load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise TokenError(f"{path} does not hold an RSA private key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    path.chmod(0o600)
    return key


def key_id(key: rsa.RSAPrivateKey) -> str:
    n = key.public_key().public_numbers().n
    return uuid.uuid5(uuid.NAMESPACE_OID, str(n)).hex[:16]


def jwks(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update({"kid": key_id(key), "use": "sig", "alg": "RS256"})
    return {"keys": [jwk]}


def issue(key: rsa.RSAPrivateKey, *, issuer: str, audience: str, role: str, org: str | None,
          subject: str | None = None, ttl_seconds: int = 3600, now: float | None = None) -> str:
    if role not in ROLES:
        raise TokenError(f"unknown role '{role}'; choose one of: {', '.join(ROLES)}")
    if role in ORG_ROLES and not org:
        raise TokenError(f"role '{role}' needs --org (the OCMW or netbeheerder id)")
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "iss": issuer, "aud": audience, "sub": subject or f"{role}:{org or 'central'}:user",
        "iat": issued, "exp": issued + ttl_seconds, "role": role,
    }
    if org:
        claims["org"] = org
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": key_id(key)})


class TokenVerifier:
    """Checks signature, issuer, audience and expiry; the role and organisation come only from the token."""

    def __init__(self, *, issuer: str, audience: str, key: rsa.RSAPrivateKey | None = None,
                 jwks_url: str | None = None, jwks_refresh_cooldown: float = 30) -> None:
        self._issuer, self._audience = issuer, audience
        self._public = key.public_key() if key is not None else None
        # The key set is cached for 5 minutes; a token naming an unknown key id fetches it again (at most once per
        # cooldown, so random key ids cannot make us hammer the identity provider). A provider that publishes its
        # next key before signing with it, as they do, is followed without a restart.
        self._jwks = jwt.PyJWKClient(jwks_url, lifespan=300, timeout=5, cooldown_duration=jwks_refresh_cooldown
                                     ) if jwks_url else None
        self._verified: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    def verify(self, token: str) -> Principal:
        """The token's principal. A token verified in the last minute is not verified again (an RSA signature
        check on every request was about 6 % of the API's CPU): it is still refused from its expiry on, and a
        key withdrawn from the identity provider's key set is dropped within the 5 minutes the key set is cached
        anyway. Refused tokens are never remembered."""
        now = time.time()
        remembered = self._verified.get(token)
        if remembered is not None and now < remembered[0]:
            self._verified.move_to_end(token)
            return remembered[1]
        principal = self._verify(token)
        until = now + VERIFIED_FOR_SECONDS
        if principal.expires_at is not None:
            until = min(until, principal.expires_at)
        self._verified[token] = (until, principal)
        if len(self._verified) > VERIFIED_KEPT:
            self._verified.popitem(last=False)
        return principal

    def _verify(self, token: str) -> Principal:
        try:
            signing_key: Any = self._public
            if self._jwks is not None:
                signing_key = self._jwks.get_signing_key_from_jwt(token).key
            claims = jwt.decode(token, signing_key, algorithms=["RS256"], audience=self._audience,
                                issuer=self._issuer, options={"require": ["exp", "iat", "iss", "aud", "sub"]})
        except jwt.PyJWTError as exc:
            raise TokenError(f"invalid token: {exc}") from exc
        role = claims.get("role")
        if role not in ROLES:
            raise TokenError("invalid token: unknown role")
        org = claims.get("org")
        if role in ORG_ROLES and not org:
            raise TokenError("invalid token: this role needs an organisation")
        return Principal(subject=str(claims["sub"]), role=role, org=org, expires_at=int(claims["exp"]))
