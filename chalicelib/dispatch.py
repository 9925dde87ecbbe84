"""The intake outbox: an accepted order's `validated` webhook and fiscal job leave through here.

Intake commits the order carrying a pending-dispatch mark (``dispatch_shard``/``dispatch_due``, a
sparse index) and sends one message to the dispatch queue, so accepting an order costs two
synchronous AWS requests. The dispatch handler queues the webhook, then the job on the shop's
queue, then clears the mark. If intake stopped between its commit and that message, or a dispatch
failed half way, the scheduled sweep finds the still-marked order once ``GRACE_SECONDS`` have passed
and dispatches it again. Repeats are harmless: the webhook is keyed by its webhook-id and the edge
journals jobs by job_id. The webhook goes first so `validated` exists before the job can print.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

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


def send(order: dict[str, Any]) -> None:
    """Queue the order's `validated` webhook and its job, then take it out of the outbox."""
    webhooks.enqueue(order, "validated")
    client("sqs").send_message(QueueUrl=order["jobs_queue_url"], MessageBody=json.dumps(order["job"]))
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
    """Dispatch every order still marked after its grace period; return how many."""
    swept = 0
    for shard in range(SHARDS):
        response = client("dynamodb").query(
            TableName=settings().table(names.ORDERS_TABLE), IndexName=names.ORDERS_BY_DISPATCH_INDEX,
            KeyConditionExpression="dispatch_shard = :s AND dispatch_due <= :now", Limit=SWEEP_LIMIT_PER_SHARD,
            ExpressionAttributeValues={":s": {"S": f"DISPATCH#{shard}"}, ":now": {"S": _due(now)}},
        )
        for item in response["Items"]:
            order = from_item(item)
            log.warning("order_dispatched_by_sweep", order_id=order["order_id"], shop_id=order["shop_id"])
            send(order)
            swept += 1
    return swept
