"""The sales uploader: a thread that sends every printed till sale to the cloud exactly once, when it can.

Oldest first, through the edge session (``edge/session.py``: the edge JWT, renewed on a 401, and the backoff gate
the poller shares), so while the cloud is out of reach the backlog waits and the loop sleeps until the gate opens.
A sale is marked ``uploaded`` only after the cloud's ack; a crash between the two uploads it again, and the cloud
answers that repeat as a duplicate (idempotent by ``order_id``). A sale the cloud refuses for good (409: another
body under its order_id) is ``rejected`` and kept in the journal, never dropped. Each cycle first settles the
sales a crash left unsettled (``TillSales.settle_unfinished``), so a receipt printed just before a crash is
uploaded too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial

import structlog

from chalicelib.contracts import TillCustomer, TillSale
from edge.backoff import RetryGate
from edge.cloud import CloudRejected, CloudUnavailable, EdgeSession
from edge.faults import crashpoint
from edge.journal import Journal, SaleRow
from edge.session import CloudLink
from edge.tillsales.service import TillSales

log = structlog.get_logger("edge.tillsales")


def upload_body(row: SaleRow, session: EdgeSession) -> TillSale:
    """The sale as the cloud takes it: the journaled receipt (for the session's shop) and its fiscal record."""
    record = row.record()
    assert record is not None
    extras = row.extras()
    customer = extras.get("customer")
    return TillSale(receipt=row.job().model_copy(update={"shop_id": session.shop_id}), fiscal=record,
                    sold_at=extras["sold_at"], delivery_method_id=extras.get("delivery_method_id"),
                    client_id=extras.get("client_id"), customer=TillCustomer(**customer) if customer else None)


class SalesUploader:
    def __init__(self, journal: Journal, sales: TillSales, link: CloudLink, stop: threading.Event,
                 wake: threading.Event, retry_initial: float, retry_max: float, idle_seconds: float = 30.0,
                 mono: Callable[[], float] = time.monotonic) -> None:
        self._journal = journal
        self._sales = sales
        self._link = link
        self._stop = stop
        self._idle = idle_seconds
        self._mono = mono
        self._device_gate = RetryGate(retry_initial, retry_max)
        self._wake = wake  # set when a sale is printed (and on stop)
        self._thread = threading.Thread(target=self.run, name="sales-uploader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._wake.set()
        self._thread.join(timeout=10)

    def run(self) -> None:
        while not self._stop.is_set():
            self.cycle()
            self._wake.wait(self._next_wait())
            self._wake.clear()

    def cycle(self) -> None:
        if self._journal.unsettled_sales() and self._device_gate.is_open(self._mono()):
            if self._sales.settle_unfinished():
                self._device_gate.succeed()
            else:
                self._device_gate.fail(self._mono())
        self.upload()

    def upload(self) -> int:
        """Upload the printed sales in order; stop at the first the cloud cannot take now. Returns how many went."""
        sent = 0
        for row in self._journal.sales_to_upload():
            if self._stop.is_set():
                break
            try:
                ack = self._link.post_sale(partial(upload_body, row))
            except CloudUnavailable as exc:
                log.info("till_sales_deferred", pending=self._journal.pending_sales(), error=str(exc))
                break
            except CloudRejected as exc:
                self._journal.record_sale_rejected(row.order_id, exc.code, str(exc))
                log.error("till_sale_rejected", order_id=row.order_id, status=exc.status, code=exc.code, error=str(exc))
                continue
            crashpoint("till_after_upload")
            self._journal.record_sale_uploaded(row.order_id)
            log.info("till_sale_uploaded", order_id=row.order_id, duplicate=ack.duplicate)
            crashpoint("till_after_journal_uploaded")
            sent += 1
        return sent

    def _next_wait(self) -> float:
        if self._stop.is_set():
            return 0.0
        waits = [self._idle]
        if self._journal.sales_to_upload():
            waits.append(max(0.05, self._link.seconds_until_available()))
        if self._journal.unsettled_sales():
            waits.append(max(0.05, self._device_gate.seconds_until_open(self._mono())))
        return min(waits)
