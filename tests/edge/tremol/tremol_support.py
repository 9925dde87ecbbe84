"""The Tremol tests' shared pieces: jobs, the emulated device behind an in-process port that a test can cut at
any step, and a driver on it. The port hands the driver's bytes to the emulator's own byte endpoint, so every
test runs the real framing both ways without a pseudo-terminal's latency."""

from __future__ import annotations

import time
from collections import deque
from decimal import Decimal
from pathlib import Path

from chalicelib.contracts import (
    FiscalJob,
    FiscalRecord,
    JobLine,
    JobPayment,
    OriginalReceipt,
    PaymentType,
)
from edge.drivers.isl.sales import SaleBook
from edge.drivers.tremol.driver import BOOK_FILE, TremolDriver
from edge.drivers.tremol.link import TremolLink
from edge.emulators.tremol.device import TremolDevice
from edge.emulators.tremol.endpoint import LinkFaults, TremolEndpoint

COFFEE = JobLine(name="Coffee", quantity=Decimal(2), unit_price=350, vat_rate=Decimal(20), amount=700)
TEA = JobLine(name="Tea", quantity=Decimal(1), unit_price=280, vat_rate=Decimal(20), amount=280)


def cash(amount: int, tendered: int | None = None) -> JobPayment:
    return JobPayment(type=PaymentType.CASH, method_id="cash", amount=amount, tendered=tendered)


def card(amount: int) -> JobPayment:
    return JobPayment(type=PaymentType.CARD, method_id="card", amount=amount)


def sale(job_id: str, lines: list[JobLine] | None = None, payments: list[JobPayment] | None = None, **extra: object) -> FiscalJob:
    lines = lines or [COFFEE, TEA]
    total = sum(line.amount for line in lines)
    return FiscalJob(v=2, job_id=job_id, shop_id="shop-1", order_id=f"o-{job_id}", order_internal_id=f"i-{job_id}",
                     created_at=1_700_000_000, operator="cashier", lines=lines, payments=payments or [cash(total)], total=total, **extra)


def refund(job_id: str, record: FiscalRecord, lines: list[JobLine] | None = None, payments: list[JobPayment] | None = None,
           original_total: int = 980) -> FiscalJob:
    lines = lines or [COFFEE, TEA]
    total = sum(line.amount for line in lines)
    return sale(job_id, lines, payments or [cash(total)], is_refund=True,
                original=OriginalReceipt(order_id="o-original", fiscal=record, total=original_total))


class EmulatedPort:
    """A transport to the emulated device. ``cut_at``: the frame number (1-based) at which the host dies, before
    the device gets it (``before=True``) or after it ran it, its answer lost; from then on the line is dead."""

    def __init__(self, device: TremolDevice, faults: LinkFaults | None = None) -> None:
        self.endpoint = TremolEndpoint(device, faults)
        self.frames = 0
        self.cut_at: int | None = None
        self.before = False
        self.dead = False
        self.written: list[bytes] = []
        self._inbox: deque[bytes] = deque()

    @property
    def faults(self) -> LinkFaults:
        return self.endpoint.faults

    def write(self, data: bytes) -> None:
        self.written.append(data)
        if self.dead:
            return
        if data[:1] == b"\x02":
            self.frames += 1
            if self.frames == self.cut_at:
                self.dead = True
                if self.before:
                    return
                self.endpoint.receive(data, lambda _answer: None)
                return
        self.endpoint.receive(data, self._inbox.append)

    def transmit_seconds(self, size: int) -> float:
        return 0.0

    def read(self, timeout: float) -> bytes:
        if self._inbox:
            return self._inbox.popleft()
        time.sleep(min(timeout, 0.002))
        return b""

    def discard_input(self) -> None:
        self._inbox.clear()

    def close(self) -> None:
        return None


def driver_on(port: EmulatedPort, state: Path, operator: int | None = None, password: str | None = None,
              first_nbl: int = 0x21) -> TremolDriver:
    link = TremolLink(port, answer_timeout=0.01, busy_timeout=0.3, retries=2, first_nbl=first_nbl)
    return TremolDriver(link, SaleBook(state / BOOK_FILE), "M23", "Front", operator, password)
