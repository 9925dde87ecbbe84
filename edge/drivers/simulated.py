"""Driver for the simulated cash register, run in-process."""

from __future__ import annotations

from collections.abc import Callable
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
    Receipt,
    RegisterError,
    RegisterErrorCode,
    Report,
    Sale,
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


def to_sale(job: FiscalJob, groups: dict[str, Decimal]) -> Sale:
    """Translate a job into the register's command: VAT rates become the programmed group letters."""
    letter_for = {rate: letter for letter, rate in sorted(groups.items(), reverse=True)}
    lines = []
    for line in job.lines:
        letter = letter_for.get(line.vat_rate)
        if letter is None:
            raise InvalidJob(f"the device has no VAT group for rate {line.vat_rate}%")
        lines.append(SaleLine(name=line.name, quantity=line.quantity, unit_price=line.unit_price, vat_group=letter, amount=line.amount))
    return Sale(
        sale_id=job.job_id,
        operator=job.operator,
        currency=job.currency,
        is_refund=job.is_refund,
        lines=lines,
        payment_type=job.payment.type.value,
        payment_amount=job.payment.amount,
    )


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
        sale = to_sale(job, self.register.vat_groups())
        receipt = self._call(lambda: self.register.print_receipt(sale))
        self._last_printed = receipt
        return self._record(receipt)

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
        return status.model_copy(
            update={
                "paper_out": state.faults.paper_out,
                "busy": False,
                "last_fiscal_number": state.last_fiscal_number,
                "receipts_since_z": state.receipts_since_z,
                "z_counter": state.z_counter,
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
