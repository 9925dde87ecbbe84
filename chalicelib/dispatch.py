"""The intake outbox: an accepted order's `validated` webhook and fiscal job leave through here.

Intake commits the order carrying a pending-dispatch mark (``dispatch_shard``/``dispatch_due``, a
sparse index) and sends one message to the dispatch queue, so accepting an order costs two
synchronous AWS requests. The dispatch handler queues the webhooks of its batch, then their jobs on
the shop queues (ten messages per request), then clears the marks. If intake stopped between its commit and that message, or a dispatch
failed half way, the scheduled sweep finds the still-marked order once ``GRACE_SECONDS`` have passed
and dispatches it again. Repeats are harmless: the webhook is keyed by its webhook-id and the edge
journals jobs by job_id. The webhook goes first so `validated` exists before the job can print.
"""

from __future__ import annotations

import json
import zlib
from collections import defaultdict
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, ValidationError

from chalicelib import resource_names as names
from chalicelib import webhooks
from chalicelib.aws import client, queue_url
from chalicelib.logs import get_logger
from chalicelib.settings import settings
from chalicelib.storage import from_item, to_item

log = get_logger(__name__)
SHARDS = 4
GRACE_SECONDS = 60
SWEEP_LIMIT_PER_SHARD = 100


class DispatchWork(BaseModel):
    """Message on the dispatch queue: the stored order, so dispatching needs no read."""

    model_config = ConfigDict(extra="forbid")
    order: dict[str, Any]


def _due(epoch: int) -> str:
    return f"{epoch:012d}"


def pending_mark(order_internal_id: str, now: int) -> dict[str, str]:
    """Attributes that put a new order in the outbox index until it is dispatched."""
    return {"dispatch_shard": f"DISPATCH#{zlib.crc32(order_internal_id.encode()) % SHARDS}",
            "dispatch_due": _due(now + GRACE_SECONDS)}


def overdue(order: dict[str, Any], now: int) -> bool:
    """Still in the outbox after its grace period: its first dispatch did not happen."""
    return "dispatch_due" in order and order["dispatch_due"] <= _due(now)


def request(order: dict[str, Any]) -> None:
    client("sqs").send_message(QueueUrl=queue_url(settings().queue(names.DISPATCH_QUEUE)),
                               MessageBody=DispatchWork(order=order).model_dump_json())


def send_many(orders: list[dict[str, Any]]) -> set[int]:
    """Queue each order's `validated` webhook, then its job, then take it out of the outbox; return the
    positions of the orders that did not get that far (they stay marked, so a retry or the sweep
    finishes them). Messages go ten to a request: webhooks together, jobs per shop queue."""
    failed = webhooks.enqueue_many(orders, "validated")
    by_queue: dict[str, list[int]] = defaultdict(list)
    for position, order in enumerate(orders):
        if position not in failed:
            by_queue[order["jobs_queue_url"]].append(position)
    for url, positions in by_queue.items():
        unsent = webhooks.send_batches(url, [{"MessageBody": json.dumps(orders[p]["job"])} for p in positions])
        failed |= {positions[i] for i in unsent}
    for position, order in enumerate(orders):
        if position not in failed:
            _clear_mark(order)
    if failed:
        log.warning("dispatch_incomplete", order_ids=[orders[p]["order_id"] for p in sorted(failed)])
    return failed


def dispatch_batch(messages: list[tuple[str, str]]) -> dict[str, list[dict[str, str]]]:
    """The dispatch handler: (message id, body) pairs in, a partial batch response out. A body that is
    not dispatch work is logged and consumed (no retry could make it valid)."""
    ids: list[str] = []
    orders: list[dict[str, Any]] = []
    for message_id, body in messages:
        try:
            orders.append(DispatchWork.model_validate_json(body).order)
            ids.append(message_id)
        except ValidationError as exc:
            log.error("dispatch_message_invalid", message_id=message_id, errors=exc.error_count())
    failed = send_many(orders) if orders else set()
    return {"batchItemFailures": [{"itemIdentifier": ids[p]} for p in sorted(failed)]}


def _clear_mark(order: dict[str, Any]) -> None:
    try:
        client("dynamodb").update_item(
            TableName=settings().table(names.ORDERS_TABLE),
            Key=to_item({"pk": f"SHOP#{order['shop_id']}", "sk": f"ORDER#{order['order_id']}"}),
            UpdateExpression="REMOVE dispatch_shard, dispatch_due",
            ConditionExpression="attribute_exists(dispatch_due)",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise  # already cleared by a concurrent dispatch: nothing left to do


def sweep(now: int) -> int:
    """Dispatch every order still marked after its grace period; return how many went out."""
    swept = 0
    for shard in range(SHARDS):
        response = client("dynamodb").query(
            TableName=settings().table(names.ORDERS_TABLE), IndexName=names.ORDERS_BY_DISPATCH_INDEX,
            KeyConditionExpression="dispatch_shard = :s AND dispatch_due <= :now", Limit=SWEEP_LIMIT_PER_SHARD,
            ExpressionAttributeValues={":s": {"S": f"DISPATCH#{shard}"}, ":now": {"S": _due(now)}},
        )
        orders = [from_item(item) for item in response["Items"]]
        for order in orders:
            log.warning("order_dispatched_by_sweep", order_id=order["order_id"], shop_id=order["shop_id"])
        swept += len(orders) - len(send_many(orders))
    return swept
