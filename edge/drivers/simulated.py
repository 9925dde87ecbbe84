"""Driver for the simulated cash register, run in-process."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from chalicelib.contracts import FiscalJob, FiscalRecord
from edge.drivers.base import (
    CoverOpen,
    DeviceBusy,
    DeviceDocument,
    DeviceError,
    DeviceReport,
    DeviceStatus,
    FiscalDriver,
    FiscalMemoryFull,
    InvalidJob,
    LinkLost,
    OperationRefused,
    PaperOut,
)
from edge.emulators.simulated.models import (
    MODEL,
    STATE_FILE,
    Payment,
    Receipt,
    ReceiptHeader,
    RefundOf,
    RegisterError,
    RegisterErrorCode,
    Report,
    SaleLine,
)
from edge.emulators.simulated.register import SimulatedRegister

MANUFACTURER = "Simulated"
MODELS = (MODEL,)

_T = TypeVar("_T")
_ERRORS: dict[RegisterErrorCode, type[DeviceError]] = {
    RegisterErrorCode.PAPER_OUT: PaperOut,
    RegisterErrorCode.LINK_DOWN: LinkLost,
    RegisterErrorCode.BUSY: DeviceBusy,
    RegisterErrorCode.REJECTED: InvalidJob,
    RegisterErrorCode.COVER_OPEN: CoverOpen,
    RegisterErrorCode.MEMORY_FULL: FiscalMemoryFull,
    RegisterErrorCode.REFUSED: OperationRefused,
}


@dataclass(frozen=True)
class Commands:
    """A job as the register's receipt steps: the header, one ``sell`` per line, one ``pay`` per payment."""

    header: ReceiptHeader
    lines: list[SaleLine]
    payments: list[Payment]


def to_commands(job: FiscalJob, groups: dict[str, Decimal]) -> Commands:
    """Translate a job into the register's commands: VAT rates become the programmed group letters, cash
    tendered is handed over (the register prints the change), a refund names its original."""
    letter_for = {rate: letter for letter, rate in sorted(groups.items(), reverse=True)}
    lines = []
    for line in job.lines:
        letter = letter_for.get(line.vat_rate)
        if letter is None:
            raise InvalidJob(f"the device has no VAT group for rate {line.vat_rate}%")
        lines.append(SaleLine(name=line.name, quantity=line.quantity, unit_price=line.unit_price, vat_group=letter, discount=line.discount))
    original = job.original
    refund_of = None if original is None else RefundOf(
        serial=original.fiscal.device.removeprefix(f"{MANUFACTURER}:"),
        fiscal_number=original.fiscal.fiscal_number,
        printed_at=original.fiscal.printed_at,
        total=original.total,
    )
    header = ReceiptHeader(sale_id=job.job_id, operator=job.operator, currency=job.currency, is_refund=job.is_refund,
                           refund_of=refund_of, buyer_tax_id=job.buyer_tax_id)
    return Commands(header, lines, _payments(job))


def _payments(job: FiscalJob) -> list[Payment]:
    """One ``pay`` per payment at its amount; the register gives change only on the payment that completes the
    receipt, so the cash payments with a tendered amount go last and the last of them hands over the change
    too. A refund pays back exactly, so it tenders nothing."""
    tender = job.tender
    if job.is_refund:
        return [Payment(type=p.type.value, amount=p.amount) for p in tender]
    ordered = [p for p in tender if p.tendered is None] + [p for p in tender if p.tendered is not None]
    change = sum(p.tendered - p.amount for p in tender if p.tendered is not None)
    payments = [Payment(type=p.type.value, amount=p.amount) for p in ordered]
    payments[-1] = payments[-1].model_copy(update={"amount": payments[-1].amount + change})
    return payments


class SimulatedDriver(FiscalDriver):
    manufacturer = MANUFACTURER
    model = MODEL

    def __init__(self, register: SimulatedRegister, name: str) -> None:
        self.register = register
        self.name = name
        self._last_printed: Receipt | None = None

    @classmethod
    def open(cls, state_dir: Path, name: str) -> SimulatedDriver:
        return cls(SimulatedRegister(state_dir / STATE_FILE), name)

    def print_receipt(self, job: FiscalJob) -> FiscalRecord:
        """Open, sell, pay, close. A receipt left open (an earlier attempt stopped half-way: nothing of it is in
        fiscal memory, which the poller proved before printing again) is voided first; a step the register
        refuses voids this one, so the register is never left with a receipt open."""
        commands = to_commands(job, self.register.vat_groups())
        receipt = self._call(lambda: self._steps(commands))
        self._last_printed = receipt
        return self._record(receipt)

    def _steps(self, commands: Commands) -> Receipt:
        register = self.register
        if register.current_receipt() is not None:
            register.cancel_receipt()
        register.open_receipt(commands.header)
        try:
            for line in commands.lines:
                register.sell(line)
            for payment in commands.payments:
                register.pay(payment)
            return register.close_receipt()
        except RegisterError as exc:
            if exc.code is RegisterErrorCode.REJECTED:
                register.cancel_receipt()
            raise

    def receipt_text(self, record: FiscalRecord) -> str | None:
        last = self._last_printed
        if last is not None and last.fiscal_number == record.fiscal_number:
            return last.text
        found = self.register.receipt_by_number(record.fiscal_number)
        return found.text if found else None

    def non_fiscal_receipt(self, lines: list[str]) -> DeviceDocument:
        document = self._call(lambda: self.register.non_fiscal(lines))
        return DeviceDocument(full_text=document.text)

    def cash_in(self, amount: int) -> DeviceDocument:
        return self._cash(amount)

    def cash_out(self, amount: int) -> DeviceDocument:
        return self._cash(-amount)

    def fiscal_memory_report(self, start: date, end: date) -> DeviceDocument:
        document = self._call(lambda: self.register.fiscal_memory_report(start, end))
        return DeviceDocument(number=str(document.number), amount_cents=document.amount, full_text=document.text)

    def find_receipt(self, sale_id: str) -> FiscalRecord | None:
        found = self._call(lambda: self.register.find_receipt(sale_id))
        return self._record(found) if found else None

    def last_receipt(self) -> FiscalRecord | None:
        found = self._call(self.register.last_receipt)
        return self._record(found) if found else None

    def status(self) -> DeviceStatus:
        status = DeviceStatus(device=self._device_id(), manufacturer=self.manufacturer, model=self.model, online=True)
        try:
            state = self.register.status()
        except RegisterError as exc:
            return status.model_copy(update={"online": False, "busy": exc.code is RegisterErrorCode.BUSY, "error": str(exc)})
        faults = state.faults
        warnings = [code for code, on in (
            ("W_PAPER_OUT", faults.paper_out),
            ("W_PAPER_NEAR_END", faults.paper_near_end),
            ("W_COVER_OPEN", faults.cover_open),
            ("W_FISCAL_MEMORY_NEAR_FULL", faults.fiscal_memory_near_full),
            ("W_FISCAL_MEMORY_FULL", faults.fiscal_memory_full),
        ) if on]
        return status.model_copy(
            update={
                "paper_out": faults.paper_out,
                "busy": False,
                "last_fiscal_number": state.last_fiscal_number,
                "receipts_since_z": state.receipts_since_z,
                "z_counter": state.z_counter,
                "clock_offset_seconds": state.clock - int(time.time()),
                "day_opened_at": state.day_opened_at,
                "warnings": warnings,
            }
        )

    def x_report(self) -> DeviceReport:
        return self._report(self._call(self.register.x_report))

    def z_report(self) -> DeviceReport:
        return self._report(self._call(self.register.z_report))

    def close(self) -> None:
        self.register.close()

    def _cash(self, amount: int) -> DeviceDocument:
        move = self._call(lambda: self.register.cash_move(amount))
        return DeviceDocument(number=f"{move.number:04d}", amount_cents=abs(move.amount), full_text=move.text)

    def _device_id(self) -> str:
        return f"{self.manufacturer}:{self.register.serial}"

    def _record(self, receipt: Receipt) -> FiscalRecord:
        return FiscalRecord(device=self._device_id(), fiscal_number=receipt.fiscal_number, printed_at=receipt.printed_at)

    @staticmethod
    def _report(report: Report) -> DeviceReport:
        return DeviceReport(kind=report.kind, number=report.z_number, amount_cents=report.net, full_text=report.text)

    @staticmethod
    def _call(command: Callable[[], _T]) -> _T:
        try:
            return command()
        except RegisterError as exc:
            raise _ERRORS[exc.code](str(exc)) from exc
