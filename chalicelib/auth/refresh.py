"""Refresh-token families: rotation on every exchange, reuse detection, revocation.

A login with an API key starts a family: one record ``RTFAMILY#<family>`` holding the ``jti`` of the
family's one refresh token that may still be exchanged. An exchange swaps that jti for the new
token's in one conditional UpdateItem, so of two concurrent exchanges of one token exactly one
wins. Presenting any other token of the family (one already exchanged: stolen and replayed, or the
loser of a race) revokes the whole family, as the OAuth 2.0 Security BCP asks (RFC 9700 §4.14.2):
both holders log in again with the API key rather than a thief refreshing for 30 days.
Rotating the merchant's API secret stamps ``refresh_not_before`` (milliseconds) on the merchant,
which ends every family that logged in before it. Records expire (DynamoDB TTL, ``expires_at``)
with their family's newest token.
"""

from __future__ import annotations

import time
import uuid

from botocore.exceptions import ClientError

from chalicelib.auth import tokens
from chalicelib.auth.tokens import IssuedToken, TokenKind
from chalicelib.aws.clients import client
from chalicelib.aws.storage import from_item, key, to_item
from chalicelib.core.clock import now_ms
from chalicelib.core.errors import AuthenticationError
from chalicelib.core.settings import settings

FAMILY_CLAIM = "fam"
LOGIN_CLAIM = "login_ms"  # when the family's API-key login happened, to compare with refresh_not_before


def _table() -> str:
    return settings().table("tenants")


def _family_key(family: str) -> dict[str, dict[str, str]]:
    return key(f"RTFAMILY#{family}", "FAMILY")


def merchant_key(merchant_id: str) -> dict[str, dict[str, str]]:
    return key(f"MERCHANT#{merchant_id}", "PROFILE")


def _issue(merchant_id: str, family: str, login_ms: int) -> IssuedToken:
    return tokens.issue(TokenKind.REFRESH, merchant_id, settings().refresh_token_ttl,
                        {FAMILY_CLAIM: family, LOGIN_CLAIM: login_ms})


def start(merchant_id: str) -> IssuedToken:
    """A new family for an API-key login, and its first refresh token."""
    family = uuid.uuid4().hex
    token = _issue(merchant_id, family, now_ms())
    client("dynamodb").put_item(
        TableName=_table(),
        Item=to_item({**{k: v["S"] for k, v in _family_key(family).items()}, "merchant_id": merchant_id,
                      "current_jti": token.claims["jti"], "created_at": token.claims["iat"],
                      "expires_at": token.expires_at}),
        ConditionExpression="attribute_not_exists(pk)")
    return token


def _revoke(family: str, reason: str) -> None:
    """Mark the family revoked (a family already gone by TTL stays gone)."""
    try:
        client("dynamodb").update_item(
            TableName=_table(), Key=_family_key(family),
            UpdateExpression="SET revoked_at = if_not_exists(revoked_at, :now), revoked_reason = :r",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=to_item({":now": int(time.time()), ":r": reason}))
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


def _ended_by_secret_rotation(merchant_id: str, login_ms: int) -> bool:
    response = client("dynamodb").get_item(TableName=_table(), Key=merchant_key(merchant_id),
                                           ProjectionExpression="refresh_not_before", ConsistentRead=True)
    profile = from_item(response.get("Item", {}))
    return "Item" not in response or int(profile.get("refresh_not_before", 0)) > login_ms


def exchange(refresh_token: str) -> tuple[str, IssuedToken]:
    """The merchant and the family's next refresh token; the presented one is spent.

    A token that is not the family's current one revokes the family; either way 401."""
    claims = tokens.verify(refresh_token, TokenKind.REFRESH, require=("jti", FAMILY_CLAIM, LOGIN_CLAIM))
    merchant_id, family, login_ms = str(claims["sub"]), str(claims[FAMILY_CLAIM]), int(claims[LOGIN_CLAIM])
    if _ended_by_secret_rotation(merchant_id, login_ms):
        _revoke(family, "api secret rotated")
        raise AuthenticationError("refresh token revoked: the API secret was rotated; log in again")
    new = _issue(merchant_id, family, login_ms)
    try:
        client("dynamodb").update_item(
            TableName=_table(), Key=_family_key(family),
            UpdateExpression="SET current_jti = :new, expires_at = :exp, rotated_at = :iat",
            ConditionExpression="current_jti = :old AND merchant_id = :m AND attribute_not_exists(revoked_at)",
            ExpressionAttributeValues=to_item({":new": new.claims["jti"], ":exp": new.expires_at,
                                               ":iat": new.claims["iat"], ":old": claims["jti"], ":m": merchant_id}))
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        _revoke(family, "refresh token reused")
        raise AuthenticationError("refresh token already used or revoked; the token family is revoked") from exc
    return merchant_id, new
