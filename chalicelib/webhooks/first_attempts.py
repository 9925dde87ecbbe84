"""An order event's first delivery attempt, made where the order's change arrives: the orders table's stream.

The stream handler (``chalicelib.orders.outbox``) hands over each order's events in sequence (``validated``, then
``terminated`` or ``failed``; a till sale brings both at once). Each is attempted as a retry would be
(``deliveries.first_attempt``): its delivery record created, leased, in the transaction that confirms the shop still
sends to the target (issue 27 point 11: never to a URL or with a secret the merchant already replaced), then the
attempt, then its outcome. There is no queue between the order and its webhook (no send, receive and delete per
event). What fails goes on as before: the sweep finds the record due and the FIFO queue's consumer retries it, up
to the retry window.

Order per subject: a later event is attempted only once its earlier one is not pending. A group's own earlier
event is known from this batch; else from this container's memory of what it delivered (an order's events usually
reach the same container, its shard's); else the earlier record is read.

A first attempt has ``webhook_first_attempt_seconds`` (shorter than a retry's deadline): groups run side by
side, but the next batch of this one's lane (``infra.definitions.StreamConsumer.parallelization``: the shops whose
partition keys share it) waits for its slowest receiver. A receiver slower than that gets the event from the retry
path, with the full deadline, within a sweep.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from chalicelib.core.logs import get_logger
from chalicelib.core.settings import settings
from chalicelib.webhooks import deliveries
from chalicelib.webhooks import sending as webhooks

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
    """One event's first attempt, unless this container delivered it already (a batch retried after a later record
    failed)."""
    message = webhooks.order_message(event.order, event.type)
    if message.webhook_id in delivered_here:
        statuses[message.webhook_id] = deliveries.DELIVERED
        return
    earlier_type = webhooks.FOLLOWS.get(event.type)
    earlier_id = f"msg_{webhooks.subject(message.payload)}_{earlier_type}" if earlier_type else None
    settled = earlier_id is None or earlier_id in delivered_here or \
        statuses.get(earlier_id, deliveries.PENDING) != deliveries.PENDING
    cfg = settings()
    status = deliveries.first_attempt(message, now, earlier_settled=settled,
                                      deadline=min(cfg.webhook_first_attempt_seconds, cfg.webhook_deadline_seconds))
    statuses[message.webhook_id] = status or "skipped"  # skipped (no webhook for it): nothing for a later one to wait on
    if status == deliveries.DELIVERED:
        delivered_here.add(message.webhook_id)
