"""Merchants, their API keys, and the /auth token exchange (seed 004)."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel

from chalicelib.auth import tokens
from chalicelib.auth.tokens import TokenKind
from chalicelib.aws.clients import client
from chalicelib.aws.storage import from_item, key, to_item
from chalicelib.core.errors import AuthenticationError
from chalicelib.core.secrets_util import digest, matches, new_secret
from chalicelib.core.settings import settings


class ApiKeyAuth(BaseModel):
    model_config = ConfigDict(extra="forbid")
    api_key: str = Field(min_length=1, max_length=128)
    api_secret: str = Field(min_length=1, max_length=256)


class RefreshAuth(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: str = Field(min_length=1, max_length=4096)


class AuthRequest(RootModel[ApiKeyAuth | RefreshAuth]):
    """Either an API key pair or a refresh token, never both."""


def _table() -> str:
    return settings().table("tenants")


def create_merchant(name: str) -> dict[str, str]:
    """Create a merchant with one API key pair; the secret is returned once, stored hashed."""
    merchant_id = str(uuid.uuid4())
    api_key = new_secret("key")
    api_secret = new_secret("secret")
    client("dynamodb").transact_write_items(
        TransactItems=[
            {"Put": {"TableName": _table(), "Item": to_item({"pk": f"MERCHANT#{merchant_id}", "sk": "PROFILE", "name": name}),
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"TableName": _table(),
                     "Item": to_item({"pk": f"APIKEY#{api_key}", "sk": "KEY", "merchant_id": merchant_id,
                                      "secret_digest": digest(api_secret)}),
                     "ConditionExpression": "attribute_not_exists(pk)"}},
        ]
    )
    return {"merchant_id": merchant_id, "api_key": api_key, "api_secret": api_secret}


def _merchant_for_key(credentials: ApiKeyAuth) -> str:
    response = client("dynamodb").get_item(TableName=_table(), Key=key(f"APIKEY#{credentials.api_key}", "KEY"))
    record = from_item(response["Item"]) if "Item" in response else None
    if record is None or not matches(credentials.api_secret, record["secret_digest"]):
        raise AuthenticationError("invalid api_key or api_secret")
    return str(record["merchant_id"])


def authenticate(request: AuthRequest) -> dict[str, Any]:
    """Exchange an API key pair or a refresh token for a fresh token pair."""
    credentials = request.root
    if isinstance(credentials, ApiKeyAuth):
        merchant_id = _merchant_for_key(credentials)
    else:
        merchant_id = str(tokens.verify(credentials.refresh_token, TokenKind.REFRESH)["sub"])
    cfg = settings()
    access = tokens.issue(TokenKind.ACCESS, merchant_id, cfg.access_token_ttl)
    refresh = tokens.issue(TokenKind.REFRESH, merchant_id, cfg.refresh_token_ttl)
    return {
        "access_token": access.token,
        "access_token_claims": access.claims,
        "access_token_expires_in": access.expires_in,
        "access_token_expires_at": access.expires_at,
        "refresh_token": refresh.token,
        "refresh_token_expires_in": refresh.expires_in,
        "refresh_token_expires_at": refresh.expires_at,
    }
