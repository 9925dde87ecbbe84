"""Device operations outside the job flow (seed 000/001 action types), each journaled before and after.

Fiscal operations go to a fiscal driver, Sale and Settlement to the POS terminal. A Z
report is emailed afterwards when the notification settings ask for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Annotated

import structlog
from pydantic import BaseModel, ConfigDict, Field, model_validator

from edge.config import SmtpConfig
from edge.devices import DeviceId
from edge.drivers.base import (
    DeviceDocument,
    DeviceError,
    FiscalDriver,
    UnsupportedOperation,
)
from edge.hub import DeviceHub
from edge.journal import ActionType, Journal, JournalEntry
from edge.notify import MailFailed, send, z_report_message
from edge.terminals.base import PosTerminal

log = structlog.get_logger("edge.operations")

Amount = Annotated[int, Field(ge=1, le=10**10, strict=True)]
FISCAL_ACTIONS = (
    ActionType.NON_FISCAL_RECEIPT,
    ActionType.X_REPORT,
    ActionType.Z_REPORT,
    ActionType.DEPOSIT,
    ActionType.WITHDRAW,
    ActionType.FISCAL_MEMORY_REPORT,
)
POS_ACTIONS = (ActionType.SALE, ActionType.SETTLEMENT)
_NEEDS_AMOUNT = (ActionType.DEPOSIT, ActionType.WITHDRAW, ActionType.SALE)


class OperationRequest(BaseModel):
    """``POST /manage/device_operation``: one operation on a device (the printing one unless ``device_id``)."""

    model_config = ConfigDict(extra="forbid")

    action_type: ActionType
    device_id: DeviceId | None = None
    amount_cents: Amount | None = None
    lines: Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=100)] = Field(default_factory=list)
    start_date: date | None = None
    end_date: date | None = None
    reference: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")] | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"

    @model_validator(mode="after")
    def _fields_for_action(self) -> OperationRequest:
        if self.action_type in _NEEDS_AMOUNT and self.amount_cents is None:
            raise ValueError(f"{self.action_type.value} needs amount_cents")
        if self.action_type is ActionType.NON_FISCAL_RECEIPT and not self.lines:
            raise ValueError("NonFiscalReceipt needs lines")
        if self.action_type is ActionType.FISCAL_MEMORY_REPORT:
            if self.start_date is None or self.end_date is None:
                raise ValueError("FiscalMemoryReport needs start_date and end_date")
            if self.end_date < self.start_date:
                raise ValueError("end_date must not be before start_date")
        return self


class OperationOutcome(BaseModel):
    success: bool
    message: str
    entry: JournalEntry
    email_sent_to: list[str] | None = None
    email_error: str | None = None


class OperationFailed(Exception):
    """The device could not carry out the operation; it is journaled as failed."""

    def __init__(self, error: DeviceError, entry: JournalEntry | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.entry = entry


class Operations:
    def __init__(self, journal: Journal, hub: DeviceHub, smtp: SmtpConfig | None) -> None:
        self._journal = journal
        self._hub = hub
        self._smtp = smtp

    def run(self, request: OperationRequest, description: str | None = None) -> OperationOutcome:
        """Carry out one operation, journaled before and after; ``description`` names who asked (default: the action)."""
        if request.action_type in FISCAL_ACTIONS:
            with self._hub.fiscal(request.device_id) as (entry, driver):
                outcome = self._journaled(request, driver.name, entry.device.id, lambda: _fiscal_call(driver, request), description)
        elif request.action_type in POS_ACTIONS:
            with self._hub.terminal(request.device_id) as (pos, terminal):
                outcome = self._journaled(request, terminal.name, pos.device.id, lambda: _pos_call(terminal, request), description)
        else:
            raise OperationFailed(UnsupportedOperation(f"{request.action_type.value} is not run on request (PrintReceipt prints the shop's jobs)"), None)
        if request.action_type is ActionType.Z_REPORT:
            outcome = self._email_z_report(outcome)
        return outcome

    def _journaled(self, request: OperationRequest, device_name: str, device_id: str | None, call: Callable[[], DeviceDocument],
                   description: str | None) -> OperationOutcome:
        action = request.action_type
        description = description or f"{action.value} on {device_name}"
        op = self._journal.begin_operation(action, device_name, device_id, request.amount_cents, request.model_dump(mode="json"), description)
        try:
            document = call()
        except DeviceError as exc:
            entry = self._journal.finish_operation(op, success=False, error_code=exc.code, error_message=str(exc))
            log.warning("operation_failed", action=action.value, device=device_name, code=exc.code, error=str(exc))
            raise OperationFailed(exc, entry) from exc
        entry = self._journal.finish_operation(op, success=True, amount=document.amount_cents, full_text=document.full_text, number=document.number)
        log.info("operation_done", action=action.value, device=device_name, amount=document.amount_cents)
        return OperationOutcome(success=True, message=f"{action.value} done", entry=entry)

    def _email_z_report(self, outcome: OperationOutcome) -> OperationOutcome:
        notification = self._hub.store.get().notification
        if not notification.send_z_report_email or not notification.email_list:
            return outcome
        if self._smtp is None:
            return outcome.model_copy(update={"email_error": "no [smtp] server in the edge config"})
        entry = outcome.entry
        message = z_report_message(self._smtp, notification.email_list, entry.device_name, entry.fiscal_number, entry.amount_cents or 0, entry.full_text or "")
        try:
            send(self._smtp, message)
        except MailFailed as exc:
            log.warning("z_report_email_failed", error=str(exc))
            return outcome.model_copy(update={"email_error": str(exc)})
        log.info("z_report_emailed", recipients=len(notification.email_list))
        return outcome.model_copy(update={"email_sent_to": notification.email_list})


def _fiscal_call(driver: FiscalDriver, request: OperationRequest) -> DeviceDocument:
    action = request.action_type
    if action in (ActionType.X_REPORT, ActionType.Z_REPORT):
        report = driver.x_report() if action is ActionType.X_REPORT else driver.z_report()
        number = f"{report.number:04d}" if report.number is not None else None
        return DeviceDocument(number=number, amount_cents=report.amount_cents, full_text=report.full_text)
    if action is ActionType.NON_FISCAL_RECEIPT:
        return driver.non_fiscal_receipt(request.lines)
    if action is ActionType.DEPOSIT:
        return driver.cash_in(_amount(request))
    if action is ActionType.WITHDRAW:
        return driver.cash_out(_amount(request))
    assert request.start_date is not None and request.end_date is not None
    return driver.fiscal_memory_report(request.start_date, request.end_date)


def _pos_call(terminal: PosTerminal, request: OperationRequest) -> DeviceDocument:
    if request.action_type is ActionType.SALE:
        reference = request.reference or f"manual-{uuid.uuid4().hex[:16]}"
        sale = terminal.sale(reference, _amount(request), request.currency)
        text = f"SALE {reference} APPROVED {sale.approval_code} RRN {sale.rrn}"
        return DeviceDocument(number=sale.rrn, amount_cents=sale.amount, full_text=text)
    batch = terminal.settlement()
    text = f"SETTLEMENT batch {batch.batch}: {batch.sales} sales {batch.sales_amount}, {batch.refunds} refunds {batch.refunds_amount}"
    return DeviceDocument(number=str(batch.batch), amount_cents=batch.sales_amount - batch.refunds_amount, full_text=text)


def _amount(request: OperationRequest) -> int:
    assert request.amount_cents is not None
    return request.amount_cents

