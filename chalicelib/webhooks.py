"""Merchant webhooks (seed 003 fields), signed per Standard Webhooks.

Deliveries go through a FIFO queue grouped by order, so an order's
``validated`` always reaches the merchant before its ``terminated``; the
webhook-id is stable per (order, type) so a receiver can drop repeats.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime, timezone
from typing import Annotated, Any

import httpx
from pydantic import BaseModel, ConfigDict, StringConstraints
from standardwebhooks.webhooks import Webhook

from chalicelib import money, net_guard, resource_names as names
from chalicelib.aws import client, queue_url
from chalicelib.logs import get_logger
from chalicelib.settings import settings
from chalicelib.shops import load_snapshot

log = get_logger(__name__)


class WebhookConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Annotated[str, StringConstraints(min_length=8, max_length=2048)]


class WebhookMessage(BaseModel):
    """One queued delivery: the body is fixed at enqueue time, the target read at send time."""

    model_config = ConfigDict(extra="forbid")
    shop_id: str
    webhook_id: str
    payload: dict[str, Any]


class DeliveryFailed(Exception):
    """The receiver did not accept the delivery; the message is retried."""


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_target(url: str) -> None:
    net_guard.check_url(url, allow_loopback=settings().allows_loopback_webhooks)


def payload(order: dict[str, Any], event_type: str) -> dict[str, Any]:
    """The seed's webhook body for one order, money as two-decimal strings."""
    link = order.get("public_link")
    return {
        "type": event_type,
        "orderID": order["order_id"],
        "orderInternalID": order["order_internal_id"],
        "price": money.format_minor(order["total"]),
        "clientID": order.get("client_id"),
        "customer": order.get("customer"),
        "cashBoxID": order["shop_id"],
        "deliveryMethod": order["delivery"]["name"],
        "PDFinvoice": f"{link['url']}.pdf" if link else None,
        "items": [
            {"name": line["name"], "quantity": line["quantity"], "unitPrice": money.format_minor(line["unit_price"]),
             "price": money.format_minor(line["amount"]), "VATrate": line["vat_rate"], "itemID": line.get("item_id")}
            for line in order["lines"]
        ],
        "VATs": [{"rate": vat["rate"], "amount": money.format_minor(vat["vat"]), "base": money.format_minor(vat["net"])}
                 for vat in order["vats"]],
        "VAT": money.format_minor(order["vat_total"]),
        "isRefund": order["is_refund"],
    }


def webhook_id(order: dict[str, Any], event_type: str) -> str:
    return f"msg_{order['order_internal_id']}_{event_type}"


def enqueue(order: dict[str, Any], event_type: str) -> None:
    cfg = settings()
    message = WebhookMessage(shop_id=order["shop_id"], webhook_id=webhook_id(order, event_type),
                             payload=payload(order, event_type))
    client("sqs").send_message(
        QueueUrl=queue_url(cfg.queue(names.WEBHOOKS_QUEUE)),
        MessageBody=message.model_dump_json(),
        MessageGroupId=order["order_internal_id"],
        MessageDeduplicationId=message.webhook_id,
    )


def signed_headers(secret: str, msg_id: str, body: str, now: datetime) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body),
    }


def deliver(url: str, secret: str, msg_id: str, body: dict[str, Any]) -> int:
    """POST one signed delivery; raise DeliveryFailed unless the receiver answers 2xx."""
    check_target(url)
    text = json.dumps(body, separators=(",", ":"))
    headers = signed_headers(secret, msg_id, text, datetime.now(timezone.utc))
    try:
        response = httpx.post(url, content=text, headers=headers, timeout=settings().webhook_timeout_seconds,
                              follow_redirects=False)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"receiver answered {response.status_code}")
    log.info("webhook_delivered", webhook_id=msg_id, status=response.status_code)
    return response.status_code


def deliver_message(message: WebhookMessage) -> None:
    """Send one queued delivery to the shop's current webhook target, if it has one."""
    profile = load_snapshot(message.shop_id).profile
    if not profile.get("webhook_url"):
        log.info("webhook_skipped_no_target", webhook_id=message.webhook_id)
        return
    deliver(profile["webhook_url"], profile["webhook_secret"], message.webhook_id, message.payload)
