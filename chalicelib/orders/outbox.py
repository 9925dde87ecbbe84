"""What follows an order's change, driven by the orders table's change stream (its transactional outbox).

Accepting an order is one synchronous AWS request: the intake transaction. DynamoDB Streams carries each change
of an order item (``NEW_AND_OLD_IMAGES``) to the ``dispatch_orders`` handler (on AWS Lambda's event source mapping,
locally ``devstack.pump``):
- the insert of a web order (``validated``): its job on the shop's queue, ten messages per request, then the
  first attempt of its ``validated`` webhook;
- its move from ``validated`` to ``terminated`` or ``failed`` (the edge's result): that webhook;
- the insert of a till sale (already ``terminated``): its ``validated`` and ``terminated`` webhooks, in that order.
Webhooks go out from here directly (``chalicelib.webhooks.first_attempts``); only their retries use the queue.

Nothing is stranded: a change is in the stream as soon as its write commits, and a shard does not move past a
record until its handler succeeded (or, after ``infra.definitions.StreamConsumer.max_retries``, the record is
reported to the dispatch DLQ). The job goes first: a slow webhook receiver never holds a print back, and the
order's result, a later record of the same item, is handled only after this batch. A record handled twice (a
retried batch, a restarted pump) queues its job again, which the edge journals by job_id, and sends its webhook
again under the same webhook-id. A job goes on the queue through ``FiscalJob.wire_json``: in version 1's shape
unless it uses something of version 2.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from chalicelib.aws.clients import send_message_batches
from chalicelib.aws.storage import from_item
from chalicelib.contracts import FiscalJob
from chalicelib.core import clock
from chalicelib.core.logs import get_logger
from chalicelib.webhooks.first_attempts import OrderEvent
from chalicelib.webhooks.first_attempts import deliver as deliver_webhooks

log = get_logger(__name__)
FINISHED = {"terminated": "terminated", "failed": "failed"}
"""An order's end status and the webhook event that announces it."""


@dataclass(frozen=True)
class OrderChange:
    """What one stream record asks for: the order, whether its job is to be queued, and its webhook events."""

    order: dict[str, Any]
    dispatch: bool
    events: tuple[str, ...]


def send_jobs(orders: list[dict[str, Any]]) -> set[int]:
    """Queue each order's job, ten to a request per shop queue; return the positions SQS did not take."""
    by_queue: dict[str, list[int]] = defaultdict(list)
    for position, order in enumerate(orders):
        by_queue[order["jobs_queue_url"]].append(position)
    failed: set[int] = set()
    for url, positions in by_queue.items():
        unsent = send_message_batches(url, [{"MessageBody": _wire(orders[p]["job"])} for p in positions])
        failed |= {positions[i] for i in unsent}
    return failed


def _wire(job: dict[str, Any]) -> str:
    """The stored job as it goes on the shop's queue: version 1's exact shape when it needs nothing of
    version 2, so an edge not yet upgraded keeps printing plain sales."""
    return FiscalJob.model_validate(job).wire_json()


def order_change(record: dict[str, Any]) -> OrderChange | None:
    """What a stream record asks for, or None: the changes of order items listed in the module's docstring; every
    other change (a refund's mark on its sale, a deletion) and the table's other items (jobs, day index) ask nothing."""
    change = record.get("dynamodb") or {}
    image = change.get("NewImage")
    if not isinstance(image, dict) or not str((image.get("sk") or {}).get("S", "")).startswith("ORDER#"):
        return None
    status = (image.get("status") or {}).get("S")
    if record.get("eventName") == "INSERT":
        if status == "validated" and "job" in image and "jobs_queue_url" in image:
            return OrderChange(from_item(image), True, ("validated",))
        if status == "terminated":  # a till sale, printed before the cloud heard of it
            return OrderChange(from_item(image), False, ("validated", "terminated"))
        return None
    old = change.get("OldImage")
    if record.get("eventName") == "MODIFY" and isinstance(old, dict) and status in FINISHED \
            and (old.get("status") or {}).get("S") == "validated":
        return OrderChange(from_item(image), False, (FINISHED[status],))
    return None


def dispatch_records(records: list[dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    """The stream handler: DynamoDB stream records in, a partial batch response out.

    Jobs first, then the webhooks. On a failure the response names every record from the first unfinished one on
    (Lambda resumes the shard from the lowest sequence number named), so the shard keeps its order and the records
    before it are not handled again. A record that asks for nothing is skipped."""
    sequence: list[str] = []
    changes: list[OrderChange] = []
    for record in records:
        try:
            change = order_change(record)
        except (TypeError, ValueError, KeyError) as exc:  # our own table's image: only a bug gets here
            log.error("stream_record_unreadable", event_id=record.get("eventID"), error=type(exc).__name__)
            continue
        if change is not None:
            changes.append(change)
            sequence.append(str(record["dynamodb"]["SequenceNumber"]))
    dispatching = [position for position, change in enumerate(changes) if change.dispatch]
    unsent = send_jobs([changes[p].order for p in dispatching])
    first = min((dispatching[i] for i in unsent), default=len(changes))
    events = [(position, OrderEvent(change.order, kind)) for position, change in enumerate(changes[:first])
              for kind in change.events]
    unfinished = deliver_webhooks([event for _, event in events], clock.now())
    first = min([first, *(events[i][0] for i in unfinished)])
    if first == len(changes):
        return {"batchItemFailures": []}
    log.warning("dispatch_incomplete", order_ids=[change.order["order_id"] for change in changes[first:]])
    return {"batchItemFailures": [{"itemIdentifier": number} for number in sequence[first:]]}
