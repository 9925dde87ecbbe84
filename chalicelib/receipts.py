"""eReceipts: the one created for each terminated order, and public access by token.

Issue 5 grows this into the full eReceipt API; orders already use the same
record shape (fiskaly resource fields, an EKaBS-shaped schema).
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

from chalicelib import money, webhooks
from chalicelib import resource_names as names
from chalicelib.aws import client
from chalicelib.errors import PublicAccessExpired, ReceiptNotFound
from chalicelib.logs import get_logger
from chalicelib.orders import get_order, order_key
from chalicelib.settings import settings
from chalicelib.storage import from_item, to_item

log = get_logger(__name__)
API_VERSION = "1.0.0"


class ReceiptWork(BaseModel):
    """Message on the receipts queue: create the eReceipt of this terminated order."""

    model_config = ConfigDict(extra="forbid")
    shop_id: str
    order_id: str


def receipt_id_for_order(order_internal_id: str) -> str:
    """A UUIDv4-shaped id derived from the order, so a retried creation finds the same receipt."""
    digest = hashlib.sha256(f"receipt:{order_internal_id}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def new_public_token() -> str:
    return secrets.token_urlsafe(24)


def ekabs_from_order(order: dict[str, Any]) -> dict[str, Any]:
    """The order as an EKaBS-shaped receipt schema (decimal strings for money)."""
    fiscal = order.get("fiscal") or {}
    return {
        "ekabs_v0": {
            "head": {
                "id": order["order_internal_id"],
                "number": fiscal.get("fiscal_number"),
                "date": fiscal.get("printed_at", order["date"]),
                "seller": {"shop_id": order["shop_id"]},
                "buyer": order.get("customer"),
            },
            "data": {
                "currency": order["currency"],
                "full_amount_incl_vat": money.format_minor(order["total"]),
                "payment_types": [{"name": order["payment"]["name"], "type": order["payment"]["type"],
                                   "amount": money.format_minor(order["total"])}],
                "vat_amounts": [{"percentage": v["rate"], "incl_vat": money.format_minor(v["gross"]),
                                 "excl_vat": money.format_minor(v["net"]), "vat": money.format_minor(v["vat"])}
                                for v in order["vats"]],
                "lines": [{"text": line["name"], "quantity": line["quantity"],
                           "price_per_unit": money.format_minor(line["unit_price"]),
                           "total": money.format_minor(line["amount"]), "vat_percentage": line["vat_rate"]}
                          for line in order["lines"]],
            },
            "security": {"fiscal_device": fiscal.get("device"), "is_refund": order["is_refund"]},
        }
    }


def public_url(token: str) -> str:
    return f"{settings().public_base_url.rstrip('/')}/r/{token}"


def create_for_order(shop_id: str, order_id: str) -> dict[str, Any] | None:
    """Create the eReceipt of a terminated order once, then queue its ``terminated`` webhook."""
    order = get_order(shop_id, order_id)
    if order["status"] != "terminated":
        log.warning("receipt_skipped_order_not_terminated", order_id=order_id, status=order["status"])
        return None
    if not order.get("receipt_id"):
        order = _create(order)
    webhooks.enqueue(order, "terminated")
    return order


def _create(order: dict[str, Any]) -> dict[str, Any]:
    cfg = settings()
    now = int(time.time())
    receipt_id, token = receipt_id_for_order(order["order_internal_id"]), new_public_token()
    link = {"url": public_url(token), "expires_at": now + cfg.public_link_ttl}
    receipt = {
        "receipt_id": receipt_id,
        "merchant_id": order["merchant_id"],
        "shop_id": order["shop_id"],
        "order_id": order["order_id"],
        "schema": ekabs_from_order(order),
        "user_association": {},
        "metadata": {"order_id": order["order_id"]},
        "public_token": token,
        "public_expires_at": link["expires_at"],
        "created_at": now,
    }
    try:
        client("dynamodb").transact_write_items(
            TransactItems=[
                {"Put": {"TableName": cfg.table(names.RECEIPTS_TABLE), "Item": to_item(receipt),
                         "ConditionExpression": "attribute_not_exists(receipt_id)"}},
                {"Update": {"TableName": cfg.table(names.ORDERS_TABLE), "Key": order_key(order["shop_id"], order["order_id"]),
                            "UpdateExpression": "SET receipt_id = :r, public_link = :l",
                            "ConditionExpression": "attribute_not_exists(receipt_id)",
                            "ExpressionAttributeValues": to_item({":r": receipt_id, ":l": link})}},
            ]
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        return get_order(order["shop_id"], order["order_id"])
    return {**order, "receipt_id": receipt_id, "public_link": link}


def resource(record: dict[str, Any]) -> dict[str, Any]:
    """The receipt in the eReceipt API's resource shape."""
    return {
        "_id": record["receipt_id"],
        "_type": "RECEIPT",
        "_env": "TEST" if settings().stage != "prod" else "LIVE",
        "_version": API_VERSION,
        "schema": record["schema"],
        "user_association": record.get("user_association", {}),
        "metadata": record.get("metadata", {}),
        "public_link": {"url": public_url(record["public_token"]), "expires_at": record["public_expires_at"]},
        "assets": {"pdf": {"url": None}},
    }


def by_public_token(token: str, now: int | None = None) -> dict[str, Any]:
    """The receipt behind a public token, unless that link has expired."""
    if not 16 <= len(token) <= 64:
        raise ReceiptNotFound("receipt not found")
    response = client("dynamodb").query(
        TableName=settings().table(names.RECEIPTS_TABLE),
        IndexName=names.RECEIPTS_BY_TOKEN_INDEX,
        KeyConditionExpression="public_token = :t",
        ExpressionAttributeValues={":t": {"S": token}},
        Limit=1,
    )
    if not response["Items"]:
        raise ReceiptNotFound("receipt not found")
    record = from_item(response["Items"][0])
    if record["public_expires_at"] <= (now if now is not None else int(time.time())):
        raise PublicAccessExpired("the public link of this receipt has expired")
    return record
