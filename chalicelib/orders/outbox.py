"""The intake outbox: an accepted order's `validated` webhook and fiscal job leave through here.

Intake commits the order together with its outbox entry (a small item, ``OUTBOX#<order_id>``, in
the sparse ``dispatch_shard``/``dispatch_due`` index) and sends one message to the dispatch queue, so
accepting an order costs two synchronous AWS requests. The dispatch handler queues the webhooks of
its batch, then their jobs on the shop queues (ten messages per request), then deletes their outbox
entries (25 per request). If intake stopped between its commit and that message, or a dispatch
failed half way, the scheduled sweep finds the entry once ``GRACE_SECONDS`` have passed and
dispatches the order again. Repeats are harmless: the webhook is keyed by its webhook-id and the edge
journals jobs by job_id. The webhook goes first so `validated` exists before the job can print. A job goes
on the queue through ``FiscalJob.wire_json``: in version 1's shape unless it uses something of version 2.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from chalicelib.aws.clients import client, queue_url, send_message_batches
from chalicelib.aws.storage import batch_get, batch_write, from_item, key
from chalicelib.contracts import FiscalJob
from chalicelib.core import resource_names as names
from chalicelib.core.logs import get_logger
from chalicelib.core.settings import settings
from chalicelib.webhooks import sending as webhooks

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


def outbox_key(shop_id: str, order_id: str) -> dict[str, Any]:
    return key(f"SHOP#{shop_id}", f"OUTBOX#{order_id}")


def outbox_entry(order: dict[str, Any], now: int) -> dict[str, Any]:
    """The order's outbox entry, written in the intake transaction: a small item of its own (in the
    sparse index) until the order is dispatched, so leaving the outbox is a batched delete."""
    shard = zlib.crc32(order["order_internal_id"].encode()) % SHARDS
    return {"pk": f"SHOP#{order['shop_id']}", "sk": f"OUTBOX#{order['order_id']}", "shop_id": order["shop_id"],
            "order_id": order["order_id"], "dispatch_shard": f"DISPATCH#{shard}", "dispatch_due": _due(now + GRACE_SECONDS)}


def overdue(entry: dict[str, Any] | None, now: int) -> bool:
    """Still in the outbox after its grace period: its first dispatch did not happen."""
    return entry is not None and entry["dispatch_due"] <= _due(now)


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
        unsent = send_message_batches(url, [{"MessageBody": _wire(orders[p]["job"])} for p in positions])
        failed |= {positions[i] for i in unsent}
    _leave_outbox([order for position, order in enumerate(orders) if position not in failed])
    if failed:
        log.warning("dispatch_incomplete", order_ids=[orders[p]["order_id"] for p in sorted(failed)])
    return failed


def _wire(job: dict[str, Any]) -> str:
    """The stored job as it goes on the shop's queue: version 1's exact shape when it needs nothing of
    version 2, so an edge not yet upgraded keeps printing plain sales."""
    return FiscalJob.model_validate(job).wire_json()


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


def _leave_outbox(orders: list[dict[str, Any]]) -> None:
    batch_write(settings().table(names.ORDERS_TABLE),
                [{"DeleteRequest": {"Key": outbox_key(o["shop_id"], o["order_id"])}} for o in orders])


def sweep(now: int) -> int:
    """Dispatch every order still in the outbox after its grace period; return how many went out."""
    swept = 0
    for shard in range(SHARDS):
        response = client("dynamodb").query(
            TableName=settings().table(names.ORDERS_TABLE), IndexName=names.ORDERS_BY_DISPATCH_INDEX,
            KeyConditionExpression="dispatch_shard = :s AND dispatch_due <= :now", Limit=SWEEP_LIMIT_PER_SHARD,
            ExpressionAttributeValues={":s": {"S": f"DISPATCH#{shard}"}, ":now": {"S": _due(now)}},
        )
        entries = [from_item(item) for item in response["Items"]]
        if not entries:
            continue
        orders = _orders_of(entries)
        for order in orders:
            log.warning("order_dispatched_by_sweep", order_id=order["order_id"], shop_id=order["shop_id"])
        swept += len(orders) - len(send_many(orders))
    return swept


def _orders_of(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The orders behind outbox entries; an entry without its order is dropped."""
    orders = batch_get(settings().table(names.ORDERS_TABLE),
                       [key(f"SHOP#{e['shop_id']}", f"ORDER#{e['order_id']}") for e in entries])
    found = {(o["shop_id"], o["order_id"]) for o in orders}
    orphans = [e for e in entries if (e["shop_id"], e["order_id"]) not in found]
    if orphans:
        log.error("outbox_entry_without_order", order_ids=[e["order_id"] for e in orphans])
        _leave_outbox(orphans)
    return orders
