"""Driver for Caspos Mobile cash registers over their HTTP JSON integration API (seed 002, port 5544).

Each job is a ``sale`` whose documentUUID is derived from the job id. §Close Shift l.250: "if this UUID has
not been used before, the operation will be executed. If the UUID is already present, the system will return
the result of the previous operation" — so sending a job again is how a job of unknown outcome is recovered:
it never depends on the control tape, on the shift still being open or on its age, and it cannot print twice.

A refund is the same with the document that reverses its original (``job.original``): a ``rollBack`` of the whole
receipt while it is in the open shift (§RollBack l.1402: "only within the current shift; for receipts from previous
shifts, only the Money Back request is available"), else a ``moneyBack`` naming ``parentDocumentId`` and
``parentDocumentSum`` (§Money Back l.1087, §Parameter Descriptions l.78-79). Whichever goes out, it carries the job's
documentUUID, so a retry that chooses the other one is still answered with the document the register has.

The buyer's tax id (``job.buyer_tax_id``) is not sent: the documents' client fields are a name and a bonus card
(§Parameter Descriptions l.63-66, §Sales l.550-553), and the document has no field for the buyer's VÖEN.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as day_time
from decimal import Decimal
from pathlib import Path
from typing import Any

import structlog

from chalicelib.contracts import FiscalJob, FiscalRecord, OriginalReceipt
from edge.config import FiscalDeviceConfig, HttpConnection
from edge.drivers.base import (
    DeviceDocument,
    DeviceError,
    DeviceReport,
    DeviceStatus,
    DeviceUnreachable,
    FiscalDriver,
    InvalidJob,
    LinkLost,
    OperationRefused,
    UnsupportedDevice,
)
from edge.drivers.caspos import lines
from edge.drivers.caspos.api import CURRENCY, DATE_FORMAT, VatType, amount, dumps, minor
from edge.drivers.caspos.client import (
    CasposClient,
    CasposError,
    CasposGarbled,
    RepeatedWithoutDocument,
    ShiftClosed,
    ShiftTooLong,
)
from edge.drivers.caspos.memory import DriverMemory
from edge.drivers.caspos.models import Document, Item, Payments
from edge.drivers.caspos.shift import ShiftKeeper

log = structlog.get_logger("edge.drivers.caspos")

MANUFACTURER = "Caspos"
MODELS = ("Caspos Mobile",)
CASHIER = "Receipt Bridge"
_UUID_NAMESPACE = uuid.UUID("5f0c4f55-6a53-4c1e-9f7b-2f6b0c7a9e11")
# A device that runs the card payment itself answers a card sale only after the customer paid: wait at least as
# long as a card terminal is given (PosTerminalConfig's default, 90 s), or the device's busy_seconds if longer.
CARD_PAYMENT_SECONDS = 90.0


def document_uuid(job_id: str) -> str:
    """The documentUUID of a job: the same job always gets the same one."""
    return str(uuid.uuid5(_UUID_NAMESPACE, job_id))


@dataclass(frozen=True)
class Parent:
    """The document a refund reverses, as the register names it."""

    document_id: str
    in_shift: bool  # on the open shift's control tape: a rollBack may cancel it
    elsewhere: bool  # printed by another Caspos register: only a Money Back Manual can refer to it


class CasposDriver(FiscalDriver):
    manufacturer = MANUFACTURER

    def __init__(self, client: CasposClient, model: str, name: str, vat_types: dict[Decimal, VatType], memory: DriverMemory) -> None:
        self.client = client
        self.model = model
        self.name = name
        self._vat_types = vat_types
        self._memory = memory
        self._number: str | None = None
        self.shift = ShiftKeeper(client, memory, self._device)

    def print_receipt(self, job: FiscalJob) -> FiscalRecord:
        if job.currency != CURRENCY:
            # §Parameter Descriptions l.73: the register records AZN only; another currency's amounts would be misrecorded.
            raise InvalidJob(f"a Caspos register records {CURRENCY} only (seed 002 l.73); this job is in {job.currency}")
        if job.is_refund and job.original is None:
            raise InvalidJob("a Caspos money back names its parent document (seed 002 l.1087); this refund job does not carry its original")
        if job.original is not None and not job.original.fiscal.device.startswith(f"{MANUFACTURER}:"):
            raise InvalidJob(f"the original receipt was printed by {job.original.fiscal.device}; a Caspos register refunds Caspos receipts only")
        items = [lines.item(i, line, self._vat_types) for i, line in enumerate(job.lines, start=1)]
        payments = lines.payments(job)
        key = document_uuid(job.job_id)
        uncertain = self._memory.unanswered(key)
        try:
            return self._print(job, key, items, payments)
        except DeviceUnreachable as exc:
            if uncertain and not exc.may_have_printed:
                # An earlier try of this job went out unanswered: until the register answers, it may have the sale,
                # so the job stays uncertain and is never given up as unprinted.
                raise LinkLost(f"{exc} (an earlier try of this job is still unanswered)") from exc
            raise

    def _print(self, job: FiscalJob, key: str, items: list[Item], payments: Payments) -> FiscalRecord:
        device = self._device()  # before the sale: nothing after it may fail a sale the register recorded
        self.shift.ensure_open(job.operator)
        self._memory.sending(key)
        try:
            document = self._send(key, items, payments, job)
        except RepeatedWithoutDocument as exc:
            # The register has recorded this job before and kept no document to show: it is printed, under its documentUUID.
            log.warning("caspos_repeated_without_document", job_id=job.job_id, document_uuid=key, error=str(exc))
            return self._remember(key, FiscalRecord(device=device, fiscal_number=key, printed_at=int(time.time())))
        except CasposError:
            self._memory.answered(key)  # any other code: the register does not have this documentUUID (else code 1)
            raise
        if document.total != job.total:
            # Recorded is recorded (issue 26, Caspos 2): the receipt stands with the register's total, and the gap is logged.
            log.warning("caspos_total_differs", job_id=job.job_id, device_total=document.total, job_total=job.total,
                        fiscal_number=document.short_document_id)
        # §Deposit response table l.438: short_document_id is the fiscal id.
        record = FiscalRecord(device=device, fiscal_number=document.short_document_id, printed_at=int(time.time()))
        return self._remember(key, record, document.document_id)

    def _send(self, key: str, items: list[Item], payments: Payments, job: FiscalJob) -> Document:
        """The document, once more after opening a shift the register found closed (503) or closing one too old (504)."""
        try:
            return self._document(key, items, payments, job)
        except ShiftClosed:
            self.shift.forget()
        except ShiftTooLong:
            self.shift.close(job.operator)
        self.shift.ensure_open(job.operator)
        return self._document(key, items, payments, job)

    def _document(self, key: str, items: list[Item], payments: Payments, job: FiscalJob) -> Document:
        if job.original is None:
            # The job carries no RRN: "" as the §Sales example (l.534).
            return self.client.sale(key, items, payments, job.operator, note=f"SALE ID {job.job_id}", rrn="")
        parent = self._parent(job.original)
        note = f"REFUND ID {job.job_id}"
        if parent.in_shift and job.total == job.original.total:
            vat = lines.vat_amounts(job, self._vat_types)
            return self.client.rollback(key, parent.document_id, payments, vat, job.operator, note=note)
        return self.client.money_back(key, parent.document_id, items, payments, job.operator, parent_sum=job.original.total,
                                      manual=parent.elsewhere, note=note)

    def _parent(self, original: OriginalReceipt) -> Parent:
        """The original's document id: from the open shift's control tape (§Control Tape l.1751-1761 lists each
        document's ``document_id`` beside its ``short_document_id``), else from this driver's memory of what it
        printed, else the fiscal number the job carries. A receipt of another Caspos register is refunded with Money
        Back Manual, meant for "the return operation [...] performed on another device" (§Money Back Manual l.1210).
        A tape the register refuses (e.g. 503, the shift closed) only rules out a rollBack: a moneyBack goes out and
        meets the register's own answer, so a refused tape never decides the refund."""
        fiscal = original.fiscal
        if fiscal.device != self._device():
            return Parent(document_id=fiscal.fiscal_number, in_shift=False, elsewhere=True)
        try:
            tape = self.client.control_tape().get("tape") or []
        except CasposError as exc:
            log.info("caspos_tape_refused", error=str(exc))
            tape = []
        for entry in tape:
            if isinstance(entry, dict) and entry.get("type") == "sale" and fiscal.fiscal_number in (entry.get("short_document_id"), entry.get("document_id")):
                return Parent(document_id=str(entry.get("document_id")), in_shift=True, elsewhere=False)
        return Parent(document_id=self._memory.document_id(fiscal.fiscal_number) or fiscal.fiscal_number, in_shift=False, elsewhere=False)

    def _remember(self, key: str, record: FiscalRecord, document_id: str | None = None) -> FiscalRecord:
        self._memory.remember(key, record, document_id)
        return record

    def find_receipt(self, sale_id: str) -> FiscalRecord | None:
        """The receipt the register gave back for this job, if its answer arrived; else None, which is safe here:
        the job goes out again with the same documentUUID and the register answers with the earlier document if it
        has one (module docstring). The register itself cannot be searched by documentUUID (§Control Tape l.1752-1762)."""
        return self._memory.recall(document_uuid(sale_id))

    def last_receipt(self) -> FiscalRecord | None:
        """The last document of the open shift's control tape; None when no shift is open or it is too old to read."""
        try:
            tape = self.client.control_tape().get("tape") or []
        except (ShiftClosed, ShiftTooLong):
            return None
        if not tape or not isinstance(tape[-1], dict):
            return None
        last = tape[-1]
        printed_at = int(time.time())
        try:
            printed_at = int(datetime.strptime(str(last.get("createdAtUtc")), DATE_FORMAT).replace(tzinfo=UTC).timestamp())
        except ValueError:
            log.warning("caspos_tape_time_unreadable", value=last.get("createdAtUtc"))
        return FiscalRecord(device=self._device(), fiscal_number=str(last.get("short_document_id") or last.get("number") or "?"),
                            printed_at=printed_at)

    def status(self) -> DeviceStatus:
        status = DeviceStatus(device=f"{MANUFACTURER}:{self._number or '?'}", manufacturer=MANUFACTURER, model=self.model, online=True)
        try:
            info = self.client.get_info()
            self._number = self._number or info.device_number()
            printer = self.client.is_connected_printer()
            opened = self.shift.opened_at()
        except DeviceError as exc:
            return status.model_copy(update={"online": False, "error": str(exc)})
        last = str(info.last_doc_number) if info.last_doc_number is not None else None
        # §GetInfo l.147/l.171: the token's state ("ACTIVE" in the example); §Printer Connection l.1809.
        warnings = [code for code, on in (
            ("W_PRINTER_NOT_CONNECTED", not printer),
            ("W_TOKEN_NOT_ACTIVE", info.state is not None and info.state != "ACTIVE"),
        ) if on]
        return status.model_copy(update={
            "device": self._device(), "busy": False, "paper_out": None if printer else True, "last_fiscal_number": last,
            # §Common Errors l.1955-1960: a shift refuses documents 24 h after it opened; no open shift, nothing to close.
            "day_opened_at": None if opened is None else int(opened), "receipts_since_z": None if opened is not None else 0,
            "warnings": warnings,
        })

    def x_report(self) -> DeviceReport:
        return _report("X", self.client.x_report(CASHIER))

    def z_report(self) -> DeviceReport:
        """Z with the shift's own documentUUID (see ``shift``): a retry after a lost answer cannot close twice."""
        report = self.shift.close(CASHIER)
        if report is None:
            raise OperationRefused("no shift is open on the Caspos register: there is nothing to close")
        if not report:
            return DeviceReport(kind="Z", number=None, amount_cents=0, full_text="Z report made earlier; the register gave no report back")
        return _report("Z", report)

    def close(self) -> None:
        self.client.close()
        self._memory.close()

    def cash_in(self, amount: int) -> DeviceDocument:
        return self._cash_move("deposit", amount)

    def cash_out(self, amount: int) -> DeviceDocument:
        return self._cash_move("withDraw", amount)

    def _cash_move(self, operation: str, value: int) -> DeviceDocument:
        """§Deposit l.391, §Withdraw l.442. A try without a clear answer leaves its documentUUID pending: the next request
        for the same amount reuses it, and the register answers code 1 with the earlier document instead of a second one."""
        key = self._memory.pending(operation, value) or str(uuid.uuid4())
        self._memory.set_pending(operation, key, value)
        self.shift.ensure_open(CASHIER)
        send = self.client.deposit if operation == "deposit" else self.client.withdraw
        try:
            document = send(key, value, CASHIER)
        except RepeatedWithoutDocument:
            self._memory.settle(operation)
            return DeviceDocument(number=None, amount_cents=value, full_text=f"{operation} {key} {amount(value)} (recorded earlier)")
        except CasposError as exc:
            if not exc.may_have_printed:
                self._memory.settle(operation)  # refused: nothing was recorded
            raise
        self._memory.settle(operation)
        return DeviceDocument(number=document.short_document_id, amount_cents=value, full_text=f"{operation} {document.document_id} {amount(value)}")

    def fiscal_memory_report(self, start: date, end: date) -> DeviceDocument:
        report = self.client.periodic_z_report(datetime.combine(start, day_time.min, UTC), datetime.combine(end, day_time.max, UTC))
        try:
            period = minor(report.get("periodSum", 0))
        except ValueError as exc:
            raise CasposGarbled(f"unexpected periodic report sum: {exc}") from exc
        return DeviceDocument(amount_cents=period, full_text=dumps(report).decode("utf-8"))

    def _device(self) -> str:
        """``Caspos:<factory number>``, read once; a getInfo with missing fields falls back to the configured name."""
        if self._number is None:
            self._number = self.client.get_info().device_number() or self.name
        return f"{MANUFACTURER}:{self._number}"[:64]


def _report(kind: str, data: dict[str, Any]) -> DeviceReport:
    total = 0
    for currency in data.get("currencies") or []:
        try:
            total += minor(currency.get("saleSum", 0)) - minor(currency.get("moneyBackSum", 0)) - minor(currency.get("rollbackSum", 0))
        except ValueError as exc:
            raise CasposGarbled(f"unexpected report sums: {exc}") from exc
    number = data.get("reportNumber")
    return DeviceReport(
        kind="Z" if kind == "Z" else "X",
        number=int(number) if kind == "Z" and str(number or "").isdigit() else None,
        amount_cents=total,
        full_text=dumps(data).decode("utf-8"),
    )


def open_caspos(device: FiscalDeviceConfig, state_dir: Path) -> CasposDriver:
    connection = device.connection
    if not isinstance(connection, HttpConnection):
        raise UnsupportedDevice(f"{MANUFACTURER} {device.model} needs a connection of type http")
    url = str(connection.url).rstrip("/")
    timeout = device.timeouts.answer_seconds * 20
    card_timeout = max(device.timeouts.busy_seconds, CARD_PAYMENT_SECONDS, timeout)
    client = CasposClient(url, connection.username, connection.password, timeout, card_timeout)
    memory = DriverMemory(state_dir / f"caspos-{hashlib.sha256(url.encode()).hexdigest()[:12]}.sqlite")
    return CasposDriver(client, device.model, device.name, lines.vat_types(device.vat_codes), memory)
