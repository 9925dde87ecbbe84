"""Pairing a till by code (DESIGN §4.4): the owner issues a one-time code, the till exchanges it for the edge key.

The code is 12 symbols of ``ALPHABET`` (digits and capitals without 0/O, 1/I/L and U, so nothing a person can
misread or mistype into another symbol), shown as ``XXXX-XXXX-XXXX``: 30**12 = 5.3e17 codes, about 59 bits.
A code lives 15 minutes, and the pair route counts every attempt (``chalicelib.auth.rate_limits.PAIR_PER_IP``
and ``PAIR_ALL``, at most 2 x 1200 a minute for the whole deployment with a fixed window): at most 36,000
guesses in one code's life, so even with 10,000 codes live at once a guess of any of them succeeds with a
probability below 1e-9 per 15 minutes. Only the code's SHA-256 is stored; its expiry is also the item's TTL.

Exchanging a code replaces the shop's edge key (``service.edge_key_replacement``) in the same transaction
that deletes the code: the bridge keeps only digests, so the current key cannot be handed out, and a key is
shown once, to the till that paired. A shop has one edge (the one consumer of its jobs queue), so pairing a
till retires the till paired before it, which is what replacing a till needs; the console's rotate button
does the same without a code.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from chalicelib.aws.clients import client
from chalicelib.aws.storage import from_item, key, to_item
from chalicelib.core.errors import ConflictError, PairingCodeInvalid, ShopNotFound
from chalicelib.core.secrets_util import digest, new_secret
from chalicelib.core.settings import settings
from chalicelib.shops import service

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12
GROUP = 4
CODE_TTL_SECONDS = 15 * 60
_INVALID = "this pairing code is unknown, used or expired; issue a new one for the shop"


class PairingCodeOut(BaseModel):
    code: str = Field(description="Type it on the till: `edge pair <code>`. Case, spaces and dashes do not matter.")
    expires_at: int = Field(description="Epoch seconds; at most 15 minutes from now. Usable once.")


class PairIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    code: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class PairOut(BaseModel):
    shop_id: str
    edge_key: str = Field(description="The shop's new edge key, shown this once; the till paired before stops.")
    api_base: str = Field(description="The bridge's base URL the edge talks to.")


def _table() -> str:
    return settings().table("tenants")


def _code_key(normalized: str) -> dict[str, Any]:
    return key(f"PAIRCODE#{digest(normalized)}", "CODE")


def normalize(code: str) -> str | None:
    """The code's 12 symbols as issued, from what a person typed (any case, spaces, dashes); None if it cannot be one."""
    symbols = "".join(code.split()).replace("-", "").upper()
    return symbols if len(symbols) == CODE_LENGTH and all(c in ALPHABET for c in symbols) else None


def _shown(normalized: str) -> str:
    return "-".join(normalized[i:i + GROUP] for i in range(0, CODE_LENGTH, GROUP))


def issue(merchant_id: str, shop_id: str, now: int) -> PairingCodeOut:
    """A new one-time code for the merchant's live shop, valid ``CODE_TTL_SECONDS``."""
    service.live_profile(merchant_id, shop_id)
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    expires_at = now + CODE_TTL_SECONDS
    client("dynamodb").put_item(
        TableName=_table(),
        Item={**_code_key(code), **to_item({"shop_id": shop_id, "merchant_id": merchant_id, "created_at": now,
                                            "expires_at": expires_at})},
        ConditionExpression="attribute_not_exists(pk)")
    return PairingCodeOut(code=_shown(code), expires_at=expires_at)


def _live_code(normalized: str, now: int) -> dict[str, Any] | None:
    response = client("dynamodb").get_item(TableName=_table(), Key=_code_key(normalized), ConsistentRead=True)
    record = from_item(response["Item"]) if "Item" in response else None
    return record if record is not None and record["expires_at"] > now else None


def redeem(request: PairIn, now: int) -> PairOut:
    """Consume the code and replace the shop's edge key, in one transaction: of two tills racing with one code,
    one gets the key and the other ``PairingCodeInvalid``."""
    normalized = normalize(request.code)
    record = _live_code(normalized, now) if normalized else None
    if normalized is None or record is None:
        raise PairingCodeInvalid(_INVALID)
    try:
        profile = service.live_profile(record["merchant_id"], record["shop_id"])
    except ShopNotFound as exc:
        raise PairingCodeInvalid(_INVALID) from exc
    edge_key = new_secret("edk")
    consume = {"Delete": {"TableName": _table(), "Key": _code_key(normalized),
                          "ConditionExpression": "attribute_exists(pk) AND expires_at > :now",
                          "ExpressionAttributeValues": to_item({":now": now})}}
    try:
        client("dynamodb").transact_write_items(TransactItems=[consume, *service.edge_key_replacement(profile, edge_key)])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        if _live_code(normalized, now) is None:
            raise PairingCodeInvalid(_INVALID) from exc
        raise ConflictError("the shop's edge key or the shop changed meanwhile; try the same code again") from exc
    finally:
        service.forget(profile["shop_id"])
    service.retag_edge_queue(profile, edge_key)
    return PairOut(shop_id=profile["shop_id"], edge_key=edge_key, api_base=settings().public_base_url.rstrip("/"))
