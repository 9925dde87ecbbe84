"""Dispatch of accepted orders from the orders table's change stream (its transactional outbox).

Accepting an order is one synchronous AWS request: the intake transaction. DynamoDB Streams carries
that transaction's insert of the order item (``NEW_IMAGE``) to the ``dispatch_orders`` handler (on
AWS Lambda's event source mapping, locally ``devstack.pump``), which queues the orders' `validated`
webhooks, then their jobs on the shop queues, ten messages per request. An accepted order is never
stranded: the record is in the stream as soon as the write commits, and a shard does not move past a
record until its handler succeeded (or, after ``infra.definitions.StreamConsumer.max_retries``, the
record is reported to the dispatch DLQ).

A record may be handled more than once (a retried batch, a restarted pump): the webhook is keyed by
its webhook-id and the edge journals jobs by job_id, so a repeat queues nothing new in effect. The
webhook goes first so `validated` exists before the job can print. A job goes on the queue through
``FiscalJob.wire_json``: in version 1's shape unless it uses something of version 2.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from chalicelib.aws.clients import send_message_batches
from chalicelib.aws.storage import from_item
from chalicelib.contracts import FiscalJob
from chalicelib.core.logs import get_logger
from chalicelib.webhooks import sending as webhooks

log = get_logger(__name__)


def send_many(orders: list[dict[str, Any]]) -> set[int]:
    """Queue each order's `validated` webhook, then its job; return the positions of the orders that
    did not get that far. Messages go ten to a request: webhooks together, jobs per shop queue."""
    failed = webhooks.enqueue_many(orders, "validated")
    by_queue: dict[str, list[int]] = defaultdict(list)
    for position, order in enumerate(orders):
        if position not in failed:
            by_queue[order["jobs_queue_url"]].append(position)
    for url, positions in by_queue.items():
        unsent = send_message_batches(url, [{"MessageBody": _wire(orders[p]["job"])} for p in positions])
        failed |= {positions[i] for i in unsent}
    if failed:
        log.warning("dispatch_incomplete", order_ids=[orders[p]["order_id"] for p in sorted(failed)])
    return failed


def _wire(job: dict[str, Any]) -> str:
    """The stored job as it goes on the shop's queue: version 1's exact shape when it needs nothing of
    version 2, so an edge not yet upgraded keeps printing plain sales."""
    return FiscalJob.model_validate(job).wire_json()


def accepted_order(record: dict[str, Any]) -> dict[str, Any] | None:
    """The order a stream record announces, or None: only the insert of an order item still
    ``validated`` (a web order just accepted) is dispatched; a till sale is inserted printed, and
    updates, deletes and the other items of the table (jobs, day index) are not orders to send."""
    change = record.get("dynamodb") or {}
    image = change.get("NewImage")
    if record.get("eventName") != "INSERT" or not isinstance(image, dict):
        return None
    if not str((image.get("sk") or {}).get("S", "")).startswith("ORDER#"):
        return None
    order = from_item(image)
    if order.get("status") != "validated" or "job" not in order or "jobs_queue_url" not in order:
        return None
    return order


def dispatch_records(records: list[dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    """The stream handler: DynamoDB stream records in, a partial batch response out.

    On a failure the response names every record from the first unfinished order on (Lambda resumes
    the shard from the lowest sequence number named), so the shard keeps its order and the orders
    before it are not sent again. A record that is not an accepted order is skipped."""
    sequence: list[str] = []
    orders: list[dict[str, Any]] = []
    for record in records:
        try:
            order = accepted_order(record)
        except (TypeError, ValueError, KeyError) as exc:  # our own table's image: only a bug gets here
            log.error("stream_record_unreadable", event_id=record.get("eventID"), error=type(exc).__name__)
            continue
        if order is not None:
            orders.append(order)
            sequence.append(str(record["dynamodb"]["SequenceNumber"]))
    failed = send_many(orders) if orders else set()
    if not failed:
        return {"batchItemFailures": []}
    first = min(failed)
    return {"batchItemFailures": [{"itemIdentifier": number} for number in sequence[first:]]}
