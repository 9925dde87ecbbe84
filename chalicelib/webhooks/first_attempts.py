"""An order event's first delivery attempt, made where the order's change arrives: the orders table's stream.

The stream handler (``chalicelib.orders.outbox``) hands over each order's events in sequence (``validated``, then
``terminated`` or ``failed``; a till sale brings both at once). Each is sent, then its delivery record is written
once, with the attempt in it and, for a failure, when to try again: one write per event, and no queue between the
order and its webhook (no send, receive and delete per event). What fails goes on as before: the sweep finds the
record due and the FIFO queue's consumer (``deliveries.handle_message``) retries it, up to the retry window.

Sending before the record exists makes the first attempt at-least-once, as webhooks are: a batch retried after a
crash between the send and the write sends again, under the same webhook-id, and the receiver drops the repeat.
The record itself is written once (``attribute_not_exists``), in a transaction that also confirms the shop still
sends to the target used (``target.unchanged``). If the webhook changed meanwhile, the record is written pending
and due now, so the next attempt goes to the new target.

Order per subject: a later event is sent only once its earlier one is not pending. A group's own earlier event is
known from this batch; else from this container's memory of what it delivered (an order's events usually reach
the same container, its shard's), else from the earlier record (one GetItem). While the earlier one is pending,
the later record is written pending behind it, without an attempt, and the earlier one's retry resumes it.

A first attempt has ``webhook_first_attempt_seconds`` (shorter than a retry's deadline): groups run side by
side, but the shard's next batch, other shops' orders among them, waits for the slowest receiver of this one.
A receiver slower than that gets the event from the retry path, with the full deadline, within a sweep.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.aws.clients import client
from chalicelib.aws.storage import cancellation_codes, to_item
from chalicelib.core.logs import get_logger
from chalicelib.core.settings import settings
from chalicelib.webhooks import deliveries
from chalicelib.webhooks import sending as webhooks
from chalicelib.webhooks.target import WebhookTarget, cached_target, current_target, unchanged

log = get_logger(__name__)

MAX_PARALLEL_GROUPS = 25
REMEMBERED = 10_000  # delivered webhook-ids this container keeps, newest last
REMEMBER_SECONDS = 900


@dataclass(frozen=True)
class OrderEvent:
    order: dict[str, Any]
    type: str  # validated, terminated or failed


class _Delivered:
    """The webhook-ids this container delivered lately: a later event of the same order needs no read to know its
    earlier one is not pending. Bounded in size and age; shared by the handler's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: OrderedDict[str, float] = OrderedDict()

    def add(self, webhook_id: str) -> None:
        with self._lock:
            self._ids[webhook_id] = time.monotonic()
            self._ids.move_to_end(webhook_id)
            while len(self._ids) > REMEMBERED:
                self._ids.popitem(last=False)

    def __contains__(self, webhook_id: object) -> bool:
        with self._lock:
            seen = self._ids.get(str(webhook_id))
        return seen is not None and time.monotonic() - seen < REMEMBER_SECONDS


delivered_here = _Delivered()


def deliver(events: list[OrderEvent], now: int) -> set[int]:
    """Attempt each event once, an order's events in sequence and the orders side by side; return the positions of
    the events not finished (an AWS error), each with every later event of its order."""
    groups: dict[str, list[int]] = {}
    for position, event in enumerate(events):
        groups.setdefault(str(event.order["order_internal_id"]), []).append(position)
    if not groups:
        return set()

    def run(positions: list[int]) -> list[int]:
        statuses: dict[str, str] = {}
        for index, position in enumerate(positions):
            try:
                _deliver_one(events[position], now, statuses)
            except Exception:
                log.exception("webhook_first_attempt_failed", order_id=events[position].order.get("order_id"),
                              type=events[position].type)
                return positions[index:]
        return []

    with ThreadPoolExecutor(max_workers=min(len(groups), MAX_PARALLEL_GROUPS), thread_name_prefix="webhook") as pool:
        return {position for failed in pool.map(run, groups.values()) for position in failed}


def _deliver_one(event: OrderEvent, now: int, statuses: dict[str, str]) -> None:
    """One event: skipped (no webhook, or not subscribed), held behind its pending earlier event, or attempted."""
    message = webhooks.order_message(event.order, event.type)
    if message.webhook_id in delivered_here:  # a batch retried after a later record failed: this one was delivered
        statuses[message.webhook_id] = deliveries.DELIVERED
        return
    target = _target(message.shop_id, event.type, now)
    if target is None:
        log.info("webhook_skipped_no_target", webhook_id=message.webhook_id)
        return
    earlier = _pending_earlier(message, statuses)
    if earlier is not None:
        waiting = deliveries.new_record(message, now, next_attempt=max(int(earlier["next_attempt_at"]), now) + 1)
        if _put(waiting):
            log.info("webhook_waits_for_earlier_event", webhook_id=message.webhook_id, earlier=earlier["delivery_id"])
        statuses[message.webhook_id] = deliveries.PENDING
        return
    outcome = webhooks.send(target.url, target.secrets, message.webhook_id, message.payload,
                            deadline=min(settings().webhook_first_attempt_seconds, settings().webhook_deadline_seconds))
    log.info("webhook_attempt", webhook_id=message.webhook_id, status=outcome.status_code, error=outcome.error,
             duration_ms=outcome.duration_ms)
    statuses[message.webhook_id] = _record(message, target, outcome, now)
    if statuses[message.webhook_id] == deliveries.DELIVERED:
        delivered_here.add(message.webhook_id)


def _target(shop_id: str, event_type: str, now: int) -> WebhookTarget | None:
    """The shop's webhook if it takes this event type: from the container's snapshot, read again when that says no
    (it may predate the webhook)."""
    target = cached_target(shop_id, now)
    if target is None or event_type not in target.events:
        target = current_target(shop_id, now)
    return target if target is not None and event_type in target.events else None


def _pending_earlier(message: webhooks.WebhookMessage, statuses: dict[str, str]) -> dict[str, Any] | None:
    """The earlier event's record while it is pending; None when there is none to wait for."""
    earlier_type = webhooks.FOLLOWS.get(message.payload["type"])
    if earlier_type is None:
        return None
    earlier_id = f"msg_{webhooks.subject(message.payload)}_{earlier_type}"
    if statuses.get(earlier_id, deliveries.PENDING) != deliveries.PENDING or earlier_id in delivered_here:
        return None
    record = deliveries.get(message.shop_id, earlier_id)
    return record if record is not None and record["status"] == deliveries.PENDING else None


def _record(message: webhooks.WebhookMessage, target: WebhookTarget, outcome: webhooks.SendOutcome, now: int) -> str:
    """Write the delivery record with its first attempt; its status (the existing record's if there was one)."""
    record = deliveries.new_record(message, now, next_attempt=now)
    record.update(attempts=[deliveries.attempt_entry(record, outcome, now)], attempt_count=1)
    if outcome.delivered:
        for due in ("due_shard", "due_at", "next_attempt_at"):
            del record[due]
        record.update(status=deliveries.DELIVERED, delivered_at=now, expires_at=now + deliveries.KEEP_SECONDS)
    else:
        retry_at = deliveries.next_attempt_at(now, now, 1)
        assert retry_at is not None  # a round that starts now has its whole retry window ahead
        record.update(next_attempt_at=retry_at, due_at=deliveries.due(retry_at))
    try:
        client("dynamodb").transact_write_items(TransactItems=[
            {"Put": {"TableName": deliveries.table(), "Item": to_item(record),
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"ConditionCheck": unchanged(message.shop_id, target)}])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        codes = cancellation_codes(exc)
        if codes[:1] == ["ConditionalCheckFailed"]:  # a repeat of the stream batch: the record exists
            existing = deliveries.get(message.shop_id, message.webhook_id)
            return str(existing["status"]) if existing is not None else deliveries.PENDING
        if codes[1:2] != ["ConditionalCheckFailed"]:
            raise
        # The webhook changed while this attempt was under way: the new target gets the event from the retry path.
        retry = {**deliveries.new_record(message, now, next_attempt=now), "attempts": record["attempts"], "attempt_count": 1}
        _put(retry)
        return deliveries.PENDING
    return str(record["status"])


def _put(record: dict[str, Any]) -> bool:
    """Create a record unless it exists; whether it was created."""
    try:
        client("dynamodb").put_item(TableName=deliveries.table(), Item=to_item(record),
                                    ConditionExpression="attribute_not_exists(pk)")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return False
    return True

