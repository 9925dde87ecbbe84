"""Merchants, their API keys, and the /auth token exchange (seed 004)."""

from __future__ import annotations

import uuid
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, RootModel

from chalicelib.auth import rate_limits, refresh, tokens
from chalicelib.auth.tokens import TokenKind
from chalicelib.aws.clients import client
from chalicelib.aws.storage import cancellation_codes, from_item, key, to_item
from chalicelib.core.clock import now_ms
from chalicelib.core.errors import ApiKeyNotFound, AuthenticationError, ConflictError
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


class RotateSecretIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    api_key: str = Field(min_length=1, max_length=128, description="One of the authenticated merchant's API keys.")


class RotatedSecretOut(BaseModel):
    api_key: str
    api_secret: str = Field(description="The new secret, shown once; the old one no longer authenticates.")
    rotated_at: int


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


def authenticate(request: AuthRequest, source_ip: str) -> dict[str, Any]:
    """Exchange an API key pair or a refresh token for a fresh token pair.

    Counted per source IP and, for a key pair, per api_key (``rate_limits``) before any check, so
    guessing a secret is slowed whether the guesses are right or wrong. A refresh token is spent by
    the exchange (``refresh``): the response carries its successor."""
    credentials = request.root
    rate_limits.hit(rate_limits.AUTH_PER_IP, source_ip)
    if isinstance(credentials, ApiKeyAuth):
        rate_limits.hit(rate_limits.AUTH_PER_KEY, credentials.api_key)
        merchant_id = _merchant_for_key(credentials)
        next_refresh = refresh.start(merchant_id)
    else:
        merchant_id, next_refresh = refresh.exchange(credentials.refresh_token)
    access = tokens.issue(TokenKind.ACCESS, merchant_id, settings().access_token_ttl)
    return {
        "access_token": access.token,
        "access_token_claims": access.claims,
        "access_token_expires_in": access.expires_in,
        "access_token_expires_at": access.expires_at,
        "refresh_token": next_refresh.token,
        "refresh_token_expires_in": next_refresh.expires_in,
        "refresh_token_expires_at": next_refresh.expires_at,
    }


def rotate_secret(merchant_id: str, request: RotateSecretIn) -> RotatedSecretOut:
    """A new secret for one of the merchant's API keys; the old one stops working at once, and every
    refresh-token family that logged in before ends (``refresh_not_before``), in one transaction.

    Access tokens already issued stay valid until they expire (at most ``access_token_ttl``)."""
    api_secret = new_secret("secret")
    rotated_ms = now_ms()
    try:
        client("dynamodb").transact_write_items(TransactItems=[
            {"Update": {"TableName": _table(), "Key": key(f"APIKEY#{request.api_key}", "KEY"),
                        "UpdateExpression": "SET secret_digest = :d, rotated_at = :at",
                        "ConditionExpression": "merchant_id = :m",
                        "ExpressionAttributeValues": to_item({":d": digest(api_secret), ":at": rotated_ms // 1000,
                                                              ":m": merchant_id})}},
            {"Update": {"TableName": _table(), "Key": refresh.merchant_key(merchant_id),
                        "UpdateExpression": "SET refresh_not_before = :ms",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": to_item({":ms": rotated_ms})}},
        ])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        if "ConditionalCheckFailed" in cancellation_codes(exc):
            raise ApiKeyNotFound("no such api_key for this merchant") from exc
        raise ConflictError("another rotation of this key is under way; retry") from exc
    return RotatedSecretOut(api_key=request.api_key, api_secret=api_secret, rotated_at=rotated_ms // 1000)
