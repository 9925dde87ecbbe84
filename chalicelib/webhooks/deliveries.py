"""Webhook deliveries: one record per (subject, event) with its attempt log, retries, dead letters, replays.

A subject is an order or, for the fleet's events, one device warning or one edge outage. An order's events
get their record with their first attempt from the orders stream (``chalicelib.webhooks.first_attempts``); the
FIFO queue carries the fleet's events and every retry, grouped by subject; its consumer (``handle_message``)
creates a fleet event's delivery record already leased to itself and makes the first attempt. A failed attempt schedules the next one with exponential backoff and
jitter (``next_attempt_at``); once the retry window (≥ 24 h, settings) is
spent the record is dead-lettered. ``sweep`` (a scheduled handler) finds due
records through a sparse index and puts them back on the FIFO queue.

Order per subject is kept by state, not by the queue alone: a ``terminated`` (or
``failed``) delivery is never attempted while its order's ``validated`` one is
pending (a ``device.warning_cleared`` while its ``device.warning`` is); it waits
until that one is delivered or dead-lettered. A shop's webhook receives only the
event types it subscribed to; another type is consumed without a record. Time is always passed
in (``now``), so a test can move it by a day without sleeping.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import re
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from chalicelib.aws.clients import client
from chalicelib.aws.storage import cancellation_codes, from_item, key, to_item
from chalicelib.core import resource_names as names
from chalicelib.core.errors import (
    ConflictError,
    DeliveryNotFound,
    SchemaValidationError,
    ServiceUnavailable,
)
from chalicelib.core.logs import get_logger
from chalicelib.core.settings import settings
from chalicelib.webhooks import sending as webhooks
from chalicelib.webhooks.target import (
    WebhookTarget,
    cached_target,
    current_target,
    unchanged,
)

log = get_logger(__name__)

SHARDS = 8
SWEEP_LIMIT_PER_SHARD = 200
LOG_LIMIT = 100
MAX_PARALLEL_GROUPS = 10  # an SQS FIFO batch holds at most ten messages
KEEP_SECONDS = 30 * 86400
TARGET_READS = 3  # a webhook changing faster than a delivery can confirm it: the event goes back to its queue
PENDING, DELIVERED, DEAD_LETTERED = "pending", "delivered", "dead_lettered"
_rng = random.SystemRandom()
_DELIVERY_ID = re.compile(r"^msg_[0-9a-f-]{36}_(" + "|".join(map(re.escape, webhooks.EVENT_SEQUENCE)) + ")$")


class AttemptOut(BaseModel):
    at: int = Field(description="Epoch seconds when the attempt started.")
    round: int = Field(description="0 for the original delivery, n for the n-th replay.")
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    delivery_id: str = Field(description="Also the webhook-id header of every attempt.")
    order_id: str | None = Field(description="The order's; null for a fleet event (device.warning, edge.offline).")
    order_internal_id: str | None
    type: str
    status: Literal["pending", "delivered", "dead_lettered"]
    round: int
    attempt_count: int = Field(description="Attempts in the current round.")
    attempts: list[AttemptOut]
    next_attempt_at: int | None
    created_at: int
    delivered_at: int | None
    dead_lettered_at: int | None
    payload: dict[str, Any]


class DeliveryListOut(BaseModel):
    data: list[DeliveryOut]
    next_cursor: str | None


class DeliveryListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["pending", "delivered", "dead_lettered"] | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 50
    cursor: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None


def delivery_id_param(value: str) -> str:
    """A delivery id path parameter: the webhook-id, ``msg_<order_internal_id or eventID>_<type>``."""
    if not _DELIVERY_ID.match(value):
        raise SchemaValidationError("delivery_id must be a webhook-id such as msg_<order_internal_id>_validated")
    return value


def next_attempt_at(round_started_at: int, now: int, failures: int, rng: random.Random = _rng) -> int | None:
    """When to try again after ``failures`` failed attempts, or None once the retry window is spent.

    Exponential backoff (base · 2^(n-1), capped) with equal jitter; the last
    attempt lands exactly at the end of the window.
    """
    cfg = settings()
    deadline = round_started_at + cfg.webhook_retry_window_seconds
    if now >= deadline:
        return None
    delay = min(cfg.webhook_retry_cap_seconds, cfg.webhook_retry_base_seconds << min(failures - 1, 32))
    delay = delay // 2 + rng.randint(0, delay - delay // 2)
    return min(now + max(1, delay), deadline)


def table() -> str:
    return settings().table(names.WEBHOOK_DELIVERIES_TABLE)


def _key(shop_id: str, delivery_id: str) -> dict[str, Any]:
    return key(f"SHOP#{shop_id}", f"DLV#{delivery_id}")


def _shard(subject: str) -> str:
    """A subject's deliveries share a shard, so one sweep query returns them in sequence."""
    return f"DUE#{zlib.crc32(subject.encode()) % SHARDS}"


def _subject(record: dict[str, Any]) -> str:
    return str(record.get("subject") or record["order_internal_id"])


def due(epoch: int) -> str:
    return f"{epoch:012d}"


def _lease_seconds() -> int:
    return int(settings().webhook_deadline_seconds) + 30


def _predecessor(record: dict[str, Any]) -> str | None:
    earlier = webhooks.FOLLOWS.get(record["type"])
    return f"msg_{_subject(record)}_{earlier}" if earlier else None


def _successors(record: dict[str, Any]) -> list[str]:
    """The deliveries that may follow this one (``terminated`` or ``failed`` after ``validated``, of which an order
    has one; ``device.warning_cleared`` after ``device.warning``)."""
    return [f"msg_{_subject(record)}_{later}" for later, earlier in webhooks.FOLLOWS.items()
            if earlier == record["type"]]


def get(shop_id: str, delivery_id: str) -> dict[str, Any] | None:
    response = client("dynamodb").get_item(TableName=table(), Key=_key(shop_id, delivery_id), ConsistentRead=True)
    return from_item(response["Item"]) if "Item" in response else None


def _conditional_update(shop_id: str, delivery_id: str, **request: Any) -> dict[str, Any] | None:
    """An UpdateItem returning the new record, or None when its condition did not hold."""
    try:
        response = client("dynamodb").update_item(TableName=table(), Key=_key(shop_id, delivery_id),
                                                  ReturnValues="ALL_NEW", **request)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return None
    return from_item(response["Attributes"])


def new_record(message: webhooks.WebhookMessage, now: int, *, next_attempt: int) -> dict[str, Any]:
    """A pending delivery record of round 0 with no attempt yet, due at ``next_attempt``."""
    subject = webhooks.subject(message.payload)
    event_type = message.payload["type"]
    return {
        "pk": f"SHOP#{message.shop_id}", "sk": f"DLV#{message.webhook_id}", "delivery_id": message.webhook_id,
        "shop_id": message.shop_id, "order_id": message.payload.get("orderID"),
        "order_internal_id": message.payload.get("orderInternalID"), "subject": subject, "type": event_type,
        "seq": webhooks.EVENT_SEQUENCE[event_type], "payload": message.payload,
        "status": PENDING, "round": 0, "attempt_count": 0, "attempts": [], "created_at": now,
        "round_started_at": now, "next_attempt_at": next_attempt, "due_shard": _shard(subject),
        "due_at": due(next_attempt),
    }


def attempt_entry(record: dict[str, Any], outcome: webhooks.SendOutcome, now: int) -> dict[str, Any]:
    return {"at": now, "round": record["round"], "status_code": outcome.status_code, "error": outcome.error,
            "duration_ms": outcome.duration_ms}


def _create_leased(message: webhooks.WebhookMessage, now: int,
                   token: str) -> tuple[dict[str, Any] | None, WebhookTarget | None]:
    """The new delivery record, leased to this consumer and created only while the shop's webhook is the one it
    will go to: (record, target); (None, target) if the record exists already; (None, None) for no webhook, or
    one that does not take this event type (``events``; its secret changes with them, so the check covers them)."""
    event_type = message.payload["type"]
    record = {**new_record(message, now, next_attempt=now), "lease_token": token, "lease_until": now + _lease_seconds(),
              "due_at": due(now + _lease_seconds())}
    target = cached_target(message.shop_id, now)
    for _ in range(TARGET_READS):
        if target is None or event_type not in target.events:  # the cache may predate the webhook: ask the profile
            target = current_target(message.shop_id, now)
            if target is None or event_type not in target.events:
                return None, None
        try:
            client("dynamodb").transact_write_items(TransactItems=[
                {"Put": {"TableName": table(), "Item": to_item(record),
                         "ConditionExpression": "attribute_not_exists(pk)"}},
                {"ConditionCheck": unchanged(message.shop_id, target)}])
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            codes = cancellation_codes(exc)
            if codes[1:2] == ["ConditionalCheckFailed"]:  # the webhook changed since this container cached it
                target = current_target(message.shop_id, now)
                if target is None:
                    return None, None
                continue
            if codes[:1] == ["ConditionalCheckFailed"]:
                return None, target
            raise
        return from_item(to_item(record)), target
    raise ServiceUnavailable(f"the webhook of shop {message.shop_id} changed during every attempt to create "
                             f"delivery {message.webhook_id}; the event is retried")


def _lease(shop_id: str, delivery_id: str, now: int, token: str, due_by: int) -> dict[str, Any] | None:
    """Take a pending, due (``next_attempt_at <= due_by``), unleased record for one attempt."""
    until = now + _lease_seconds()
    return _conditional_update(
        shop_id, delivery_id,
        UpdateExpression="SET lease_token = :t, lease_until = :u, due_at = :d",
        ConditionExpression="#s = :pending AND next_attempt_at <= :due_by AND "
                            "(attribute_not_exists(lease_until) OR lease_until < :now)",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues=to_item({":t": token, ":u": until, ":d": due(until), ":pending": PENDING,
                                           ":due_by": due_by, ":now": now}),
    )


def _release(record: dict[str, Any], token: str, until: int) -> None:
    """Give the lease back without an attempt; the record becomes due again at ``until``."""
    _conditional_update(
        record["shop_id"], record["delivery_id"],
        UpdateExpression="SET next_attempt_at = :n, due_at = :d REMOVE lease_token, lease_until",
        ConditionExpression="lease_token = :t",
        ExpressionAttributeValues=to_item({":n": until, ":d": due(until), ":t": token}),
    )


def _record_attempt(record: dict[str, Any], token: str, outcome: webhooks.SendOutcome, now: int) -> dict[str, Any] | None:
    """Append the attempt to the log and move the record on: delivered, retry later, or dead-lettered."""
    attempt = attempt_entry(record, outcome, now)
    failures = record["attempt_count"] + 1
    values: dict[str, Any] = {":a": (record["attempts"] + [attempt])[-LOG_LIMIT:], ":c": failures, ":t": token}
    if outcome.delivered:
        values.update({":s": DELIVERED, ":at": now, ":x": now + KEEP_SECONDS})
        update = ("SET attempts = :a, attempt_count = :c, #s = :s, delivered_at = :at, expires_at = :x "
                  "REMOVE lease_token, lease_until, due_shard, due_at, next_attempt_at")
    else:
        retry_at = next_attempt_at(record["round_started_at"], now, failures)
        if retry_at is None:
            values.update({":s": DEAD_LETTERED, ":at": now, ":x": now + KEEP_SECONDS})
            update = ("SET attempts = :a, attempt_count = :c, #s = :s, dead_lettered_at = :at, expires_at = :x "
                      "REMOVE lease_token, lease_until, due_shard, due_at, next_attempt_at")
            log.warning("webhook_dead_lettered", webhook_id=record["delivery_id"], attempts=failures)
        else:
            values.update({":n": retry_at, ":d": due(retry_at)})
            update = ("SET attempts = :a, attempt_count = :c, next_attempt_at = :n, due_at = :d "
                      "REMOVE lease_token, lease_until")
    names_ = {"#s": "status"} if ":s" in values else {}
    return _conditional_update(record["shop_id"], record["delivery_id"], UpdateExpression=update,
                               ConditionExpression="lease_token = :t", ExpressionAttributeValues=to_item(values),
                               **({"ExpressionAttributeNames": names_} if names_ else {}))


def _attempt(record: dict[str, Any], token: str, now: int, target: WebhookTarget | None, *,
             earlier_settled: bool = False, deadline: float | None = None) -> str:
    """One attempt of a leased record at ``target`` (confirmed or read for this delivery), unless its order's
    earlier event is still pending (not read when the caller knows it is ``earlier_settled``); the record's status
    after it. ``deadline``: the attempt's own, if shorter than a retry's."""
    earlier_id = None if earlier_settled else _predecessor(record)
    earlier = get(record["shop_id"], earlier_id) if earlier_id else None
    if earlier is not None and earlier["status"] == PENDING:
        _release(record, token, max(earlier["next_attempt_at"], now) + 1)
        log.info("webhook_waits_for_earlier_event", webhook_id=record["delivery_id"], earlier=earlier_id)
        return PENDING
    if target is not None:
        outcome = webhooks.send(target.url, target.secrets, record["delivery_id"], record["payload"], deadline)
    else:
        outcome = webhooks.SendOutcome(None, "no webhook url configured", 0)
    log.info("webhook_attempt", webhook_id=record["delivery_id"], status=outcome.status_code, error=outcome.error,
             duration_ms=outcome.duration_ms)
    updated = _record_attempt(record, token, outcome, now)
    if updated is not None and updated["status"] != PENDING and updated["attempt_count"] > 1:
        _resume_successor(updated, now)
    return str(updated["status"]) if updated is not None else PENDING


def _resume_successor(record: dict[str, Any], now: int) -> None:
    """After an earlier event finished late, attempt the later one it held back right away."""
    for later_id in _successors(record):
        token = uuid.uuid4().hex
        later = _lease(record["shop_id"], later_id, now, token, due_by=now + settings().webhook_retry_window_seconds)
        if later is not None:
            _attempt(later, token, now, current_target(record["shop_id"], now))


def handle_message(message: webhooks.WebhookMessage, now: int) -> None:
    """Consume one FIFO event: create (or lease) its delivery record and attempt it."""
    token = uuid.uuid4().hex
    record, target = None, None
    if not message.retry:
        record, target = _create_leased(message, now, token)
        if target is None:
            log.info("webhook_skipped_no_target", webhook_id=message.webhook_id)
            return
    if record is None:
        record = _lease(message.shop_id, message.webhook_id, now, token, due_by=now)
        target = current_target(message.shop_id, now) if record is not None else None
    if record is not None:
        _attempt(record, token, now, target)


def first_attempt(message: webhooks.WebhookMessage, now: int, *, earlier_settled: bool, deadline: float) -> str | None:
    """An order event's first attempt, from the orders stream (``chalicelib.webhooks.first_attempts``): its record
    created leased once the shop's webhook is confirmed, then the attempt. The record's status; None when the shop
    has no webhook for it; the existing record's status when this is a repeat (nothing is sent again)."""
    token = uuid.uuid4().hex
    record, target = _create_leased(message, now, token)
    if target is None:
        log.info("webhook_skipped_no_target", webhook_id=message.webhook_id)
        return None
    if record is None:
        existing = get(message.shop_id, message.webhook_id)
        return str(existing["status"]) if existing is not None else PENDING
    return _attempt(record, token, now, target, earlier_settled=earlier_settled, deadline=deadline)


def handle_batch(messages: list[tuple[str, str | None, str]], now: int) -> dict[str, list[dict[str, str]]]:
    """Consume a FIFO batch of (message id, message group, body) as a partial batch response.

    Each message group (an order) is handled in sequence, and the groups side by side: one receiver slow
    up to its attempt's deadline delays no other order, whoever's shop it is. A message that fails is
    reported back, and so is every later message of its group, so no event overtakes an earlier one of the
    same order (the FIFO partial-batch rule). A body that is not a webhook message is logged and consumed:
    no retry could make it valid."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for message_id, group, body in messages:
        groups.setdefault(group if group is not None else f"message:{message_id}", []).append((message_id, body))
    workers = min(len(groups), MAX_PARALLEL_GROUPS) or 1
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook") as pool:
        failed = [message_id for group_failed in pool.map(lambda group: _handle_group(group, now), groups.values())
                  for message_id in group_failed]
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def _handle_group(group: list[tuple[str, str]], now: int) -> list[str]:
    """One order's messages in sequence; the ids of the one that failed and of every one after it."""
    for position, (message_id, body) in enumerate(group):
        try:
            message = webhooks.WebhookMessage.model_validate_json(body)
        except ValidationError as exc:
            log.error("webhook_message_invalid", message_id=message_id, errors=exc.error_count())
            continue
        try:
            handle_message(message, now)
        except Exception:
            log.exception("webhook_message_failed", message_id=message_id, webhook_id=message.webhook_id)
            return [later_id for later_id, _ in group[position:]]
    return []


def _retry_message(record: dict[str, Any]) -> tuple[webhooks.WebhookMessage, str]:
    message = webhooks.WebhookMessage(shop_id=record["shop_id"], webhook_id=record["delivery_id"],
                                      payload=record["payload"], retry=True)
    dedup = f"{record['delivery_id']}:{record['round']}:{record['attempt_count']}:{record.get('due_at', '')}"
    return message, dedup


def _publish(records: list[dict[str, Any]]) -> None:
    entries = [_retry_message(r) for r in records]
    failed = webhooks.publish_many(entries)
    for position in sorted(failed):
        log.error("webhook_retry_not_queued", webhook_id=entries[position][0].webhook_id)


def sweep(now: int) -> int:
    """Queue every delivery whose next attempt is due (and every lease that expired); return how many."""
    found: list[dict[str, Any]] = []
    for shard in range(SHARDS):
        response = client("dynamodb").query(
            TableName=table(), IndexName=names.WEBHOOK_DUE_INDEX, Limit=SWEEP_LIMIT_PER_SHARD,
            KeyConditionExpression="due_shard = :s AND due_at <= :now",
            ExpressionAttributeValues={":s": {"S": f"DUE#{shard}"}, ":now": {"S": due(now)}})
        found.extend(from_item(item) for item in response["Items"])
    found.sort(key=lambda r: (r["due_at"], _subject(r), r["seq"]))
    _publish(found)
    return len(found)


def _rearm(shop_id: str, delivery_id: str, now: int) -> dict[str, Any] | None:
    """Start a new round of a finished delivery (a replay); None unless it exists and is finished."""
    return _conditional_update(
        shop_id, delivery_id,
        UpdateExpression="SET #s = :pending, #r = #r + :one, attempt_count = :zero, round_started_at = :now, "
                         "next_attempt_at = :now, due_shard = :shard, due_at = :due "
                         "REMOVE delivered_at, dead_lettered_at, expires_at",
        ConditionExpression="attribute_exists(pk) AND #s IN (:delivered, :dead)",
        ExpressionAttributeNames={"#s": "status", "#r": "round"},
        ExpressionAttributeValues=to_item({":pending": PENDING, ":one": 1, ":zero": 0, ":now": now,
                                           ":shard": _shard(delivery_id.split("_")[1]), ":due": due(now),
                                           ":delivered": DELIVERED, ":dead": DEAD_LETTERED}),
    )


def replay(shop_id: str, delivery_id: str, now: int) -> dict[str, Any]:
    """Deliver a finished event again (same webhook-id); replaying ``validated`` replays ``terminated`` (or
    ``failed``) after it."""
    record = _rearm(shop_id, delivery_id, now)
    if record is None:
        if get(shop_id, delivery_id) is None:
            raise DeliveryNotFound(f"delivery {delivery_id} not found")
        raise ConflictError(f"delivery {delivery_id} is still pending; replay it once it is delivered or dead-lettered")
    replayed = [record]
    for later_id in _successors(record):
        later = _rearm(shop_id, later_id, now)
        if later is not None:
            replayed.append(later)
    _publish(replayed)
    return view(record)


def order_deliveries(shop_id: str, order_internal_id: str) -> list[dict[str, Any]]:
    """The order's deliveries that exist (``validated``, ``terminated``, ``failed``), each as ``view`` shows it."""
    found = [get(shop_id, f"msg_{order_internal_id}_{kind}") for kind in ("validated", "terminated", "failed")]
    return [view(record) for record in found if record is not None]


def view(record: dict[str, Any]) -> dict[str, Any]:
    return DeliveryOut(
        delivery_id=record["delivery_id"], order_id=record.get("order_id"),
        order_internal_id=record.get("order_internal_id"),
        type=record["type"], status=record["status"], round=record["round"], attempt_count=record["attempt_count"],
        attempts=record["attempts"], next_attempt_at=record.get("next_attempt_at"), created_at=record["created_at"],
        delivered_at=record.get("delivered_at"), dead_lettered_at=record.get("dead_lettered_at"),
        payload=record["payload"],
    ).model_dump(mode="json")


def _cursor(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        sort_key = json.loads(base64.urlsafe_b64decode(value.encode() + b"=" * (-len(value) % 4)))["sk"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise SchemaValidationError("cursor is not one this API issued") from exc
    if not isinstance(sort_key, str) or not sort_key.startswith("DLV#") or len(sort_key) > 200:
        raise SchemaValidationError("cursor is not one this API issued")
    return {"sort_key": sort_key}


def list_deliveries(shop_id: str, query: DeliveryListQuery) -> dict[str, Any]:
    """The shop's delivery log, each delivery with every attempt; paged by an opaque cursor."""
    request: dict[str, Any] = {
        "TableName": table(), "Limit": query.limit,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": {":pk": {"S": f"SHOP#{shop_id}"}, ":prefix": {"S": "DLV#"}},
    }
    if query.status is not None:
        request["FilterExpression"] = "#s = :status"
        request["ExpressionAttributeNames"] = {"#s": "status"}
        request["ExpressionAttributeValues"][":status"] = {"S": query.status}
    start = _cursor(query.cursor)
    if start is not None:
        request["ExclusiveStartKey"] = _key(shop_id, start["sort_key"].removeprefix("DLV#"))
    response = client("dynamodb").query(**request)
    last = response.get("LastEvaluatedKey")
    next_cursor = (base64.urlsafe_b64encode(json.dumps({"sk": last["sk"]["S"]}).encode()).decode().rstrip("=")
                   if last else None)
    return DeliveryListOut(data=[view(from_item(item)) for item in response["Items"]],
                           next_cursor=next_cursor).model_dump(mode="json")
