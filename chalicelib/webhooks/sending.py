"""Merchant webhooks (seed 003 fields), signed per Standard Webhooks, sent over a guarded HTTP client.

An order's events are first attempted from the orders stream (``chalicelib.webhooks.first_attempts``). The fleet's
events (``device.warning``, ``device.warning_cleared``, ``edge.offline``, built in ``chalicelib.fleet.events``) and
every retry go on the FIFO queue grouped by their subject (``publish_many``): an order, one warning or one outage.
The consumer in ``chalicelib.webhooks.deliveries`` keeps a delivery record per event, sends it with ``send`` and
schedules retries. The webhook-id is stable per (subject, type) so a receiver can
drop repeats. A shop receives the event types it subscribed to (``events`` on its webhook; the order events
when it names none).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated, Any, Literal
from urllib.parse import urljoin

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from standardwebhooks.webhooks import Webhook

from chalicelib.aws.clients import queue_url, send_message_batches
from chalicelib.core import money
from chalicelib.core import resource_names as names
from chalicelib.core.errors import WebhookTargetRefused
from chalicelib.core.lazy import lazy
from chalicelib.core.settings import settings
from chalicelib.webhooks import guard as net_guard

transport = lazy("chalicelib.webhooks.transport")  # only delivery needs httpcore; intake and dispatch do not

ORDER_EVENTS = ("validated", "terminated", "failed")
FLEET_EVENTS = ("device.warning", "device.warning_cleared", "edge.offline")
EventType = Literal["validated", "terminated", "failed", "device.warning", "device.warning_cleared", "edge.offline"]
# A subject's events in the order they are delivered: an order's ``validated``, then how it ended (printed or
# failed); a warning's ``device.warning``, then its ``device.warning_cleared``.
EVENT_SEQUENCE = {"validated": 1, "terminated": 2, "failed": 2,
                  "device.warning": 1, "device.warning_cleared": 2, "edge.offline": 1}
FOLLOWS = {"terminated": "validated", "failed": "validated", "device.warning_cleared": "device.warning"}
"""The event each later event of a subject waits for."""
MAX_REDIRECTS = 3


class WebhookConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Annotated[str, StringConstraints(min_length=8, max_length=2048)]
    events: Annotated[list[EventType], Field(min_length=1, max_length=len(EVENT_SEQUENCE))] | None = Field(
        default=None, description="The event types to deliver; without it the order events "
                                  "(validated, terminated, failed).")

    @field_validator("events")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("each event type is listed once")
        return value


def subscribed(profile: dict[str, Any]) -> frozenset[str]:
    """The event types the shop's webhook receives."""
    return frozenset(profile.get("webhook_events") or ORDER_EVENTS)


def subject(payload: dict[str, Any]) -> str:
    """What an event is about, which keeps its events in sequence: the order, or the fleet event's ``eventID``."""
    return str(payload.get("orderInternalID") or payload["eventID"])


class WebhookMessage(BaseModel):
    """One queued event: the body is fixed at enqueue time, the target read at send time."""

    model_config = ConfigDict(extra="forbid")
    shop_id: str
    webhook_id: str
    payload: dict[str, Any]
    retry: bool = False


@dataclass(frozen=True)
class SendOutcome:
    """What one delivery attempt got: a status code, or the error that stopped it."""

    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_target(url: str) -> None:
    net_guard.check_url(url, allow_loopback=settings().allows_loopback_webhooks)


def payload(order: dict[str, Any], event_type: str) -> dict[str, Any]:
    """The seed's webhook body for one order, money as two-decimal strings. Each item carries its ``discount``;
    a refund adds ``parentOrderID`` (the sale it reverses, named in the seed's style) and a ``failed`` event
    ``reason`` and ``message`` (why the edge gave up on the order's fiscal receipt); a sale's ``validated``
    and ``terminated`` carry exactly the seed's fields."""
    link = order.get("public_link")
    body = {
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
             "discount": money.format_minor(line.get("discount", 0)), "price": money.format_minor(line["amount"]),
             "VATrate": line["vat_rate"], "itemID": line.get("item_id")}
            for line in order["lines"]
        ],
        "VATs": [{"rate": vat["rate"], "amount": money.format_minor(vat["vat"]), "base": money.format_minor(vat["net"])}
                 for vat in order["vats"]],
        "VAT": money.format_minor(order["vat_total"]),
        "isRefund": order["is_refund"],
    }
    if order["is_refund"]:
        body["parentOrderID"] = order["parent_order_id"]
    if event_type == "failed":
        failure = order["failure"]
        body.update(reason=failure["reason"], message=failure["message"])
    return body


def webhook_id(order: dict[str, Any], event_type: str) -> str:
    return f"msg_{order['order_internal_id']}_{event_type}"


def _fifo_entry(message: WebhookMessage, deduplication_id: str) -> dict[str, str]:
    """An event on the FIFO queue, in its subject's group so a subject's events stay in sequence."""
    return {"MessageBody": message.model_dump_json(), "MessageGroupId": subject(message.payload),
            "MessageDeduplicationId": deduplication_id}


def publish_many(messages: list[tuple[WebhookMessage, str]]) -> set[int]:
    """Put events (each with its deduplication id) on the FIFO queue, ten per request; return the
    positions SQS did not take."""
    return send_message_batches(queue_url(settings().queue(names.WEBHOOKS_QUEUE)),
                                [_fifo_entry(m, deduplication_id) for m, deduplication_id in messages])


def order_message(order: dict[str, Any], event_type: str) -> WebhookMessage:
    return WebhookMessage(shop_id=order["shop_id"], webhook_id=webhook_id(order, event_type),
                          payload=payload(order, event_type))


def signing_secrets(profile: dict[str, Any], now: int) -> list[str]:
    """The shop's webhook secret, and the one it replaced while that one's grace period lasts."""
    previous = profile.get("webhook_secret_previous")
    in_grace = previous and int(profile.get("webhook_previous_until", 0)) > now
    return [profile["webhook_secret"], *([previous] if in_grace else [])]


def signed_headers(secrets: str | Sequence[str], msg_id: str, body: str, now: datetime) -> dict[str, str]:
    """Standard Webhooks headers; with several secrets (a rotation's grace period) the signature
    header lists one ``v1,<sig>`` per secret, space-separated, and a receiver accepts any match."""
    signing = [secrets] if isinstance(secrets, str) else list(secrets)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(Webhook(secret).sign(msg_id, now, body) for secret in signing),
    }


def _post(session: Any, url: str, text: str, headers: dict[str, str]) -> int:
    """POST to the URL, following up to MAX_REDIRECTS redirects, each target checked by the SSRF guard."""
    allow_loopback = settings().allows_loopback_webhooks
    body = text.encode()
    for _ in range(MAX_REDIRECTS + 1):
        target = net_guard.pin(url, allow_loopback=allow_loopback)
        status, location = session.post(target.url, body, {**headers, "host": target.host_header}, target.server_name)
        if not (status in transport.REDIRECT_STATUSES and location):
            return status
        url = urljoin(url, location)
    raise WebhookTargetRefused(f"more than {MAX_REDIRECTS} redirects")


def send(url: str, secrets: Sequence[str], msg_id: str, body: dict[str, Any], deadline: float | None = None) -> SendOutcome:
    """One delivery attempt signed with each secret, over by ``deadline`` (``webhook_deadline_seconds`` unless given)
    whatever the receiver does (redirects included); never raises for what the receiver or the network did."""
    import httpcore

    text = json.dumps(body, separators=(",", ":"))
    headers = signed_headers(secrets, msg_id, text, datetime.now(timezone.utc))
    cfg = settings()
    deadline = cfg.webhook_deadline_seconds if deadline is None else deadline
    started = time.monotonic()
    status_code, error = None, None
    session = transport.DeadlineSession(deadline, min(cfg.webhook_timeout_seconds, deadline))
    try:
        with session:
            status_code = _post(session, url, text, headers)
    except WebhookTargetRefused as exc:
        error = f"refused: {exc.message}"
    except httpcore.TimeoutException:
        error = (f"timeout: no answer within the {deadline:g}s deadline" if session.deadline_passed
                 else f"timeout after {min(cfg.webhook_timeout_seconds, deadline):g}s")
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol, OSError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    return SendOutcome(status_code, error, int((time.monotonic() - started) * 1000))
