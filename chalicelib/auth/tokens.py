"""JWTs for merchants (access, refresh) and edges: HS256 pinned, strict claims.

Each token kind has its own audience, so a refresh token can never pass as an
access token and an edge token never reaches a merchant route. Every token
carries a random ``jti``; refresh tokens are checked against their family's
record (``chalicelib.auth.refresh``), edge tokens against the shop's edge key.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Any

import jwt

from chalicelib.aws.clients import client
from chalicelib.core.errors import AuthenticationError
from chalicelib.core.settings import settings

ALGORITHM = "HS256"
ISSUER = "receipt-bridge"


class TokenKind(str, Enum):
    ACCESS = "receipt-bridge:access"
    REFRESH = "receipt-bridge:refresh"
    EDGE = "receipt-bridge:edge"


@dataclass(frozen=True)
class IssuedToken:
    token: str
    claims: dict[str, Any]
    expires_in: int
    expires_at: int


@lru_cache(maxsize=1)
def _signing_key() -> str:
    cfg = settings()
    if cfg.jwt_secret is not None:
        return cfg.jwt_secret.get_secret_value()
    if cfg.jwt_secret_param:
        param = client("ssm").get_parameter(Name=cfg.jwt_secret_param, WithDecryption=True)
        return str(param["Parameter"]["Value"])
    raise RuntimeError("no JWT signing key configured: set BRIDGE_JWT_SECRET or BRIDGE_JWT_SECRET_PARAM")


def issue(kind: TokenKind, subject: str, ttl: int, extra: dict[str, Any] | None = None) -> IssuedToken:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": kind.value, "sub": subject, "iat": now, "exp": now + ttl,
              "jti": uuid.uuid4().hex, **(extra or {})}
    token = jwt.encode(claims, _signing_key(), algorithm=ALGORITHM)
    return IssuedToken(token=token, claims=claims, expires_in=ttl, expires_at=claims["exp"])


def verify(token: str, kind: TokenKind, *, require: tuple[str, ...] = ()) -> dict[str, Any]:
    """The token's claims if it is valid for ``kind`` and carries every claim in ``require``; else 401."""
    try:
        return jwt.decode(
            token,
            _signing_key(),
            algorithms=[ALGORITHM],
            audience=kind.value,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "aud", "sub", "iss", *require]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise AuthenticationError("token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise AuthenticationError(f"invalid token: {exc}") from exc


def bearer(headers: Any, kind: TokenKind, *, require: tuple[str, ...] = ()) -> dict[str, Any]:
    """Claims of the Bearer token in an Authorization header, or 401."""
    value = headers.get("authorization") or ""
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("missing Bearer token in the Authorization header")
    return verify(token.strip(), kind, require=require)
