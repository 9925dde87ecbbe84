"""Driver for Caspos Mobile cash registers over their HTTP JSON integration API (port 5544).

The ``CasposDriver`` (over ``caspos.client``) prints jobs as ``sale`` documents. Each job's ``documentUUID`` is derived
from its job id, so sending a job again can never create a second document: the register
answers a repeated documentUUID with code 1 and the earlier document. That is also how a
job whose outcome is unknown is reconciled: the register cannot be searched by
documentUUID, so ``find_receipt`` answers None and printing again returns the earlier
document if there is one.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime
from datetime import time as day_time
from decimal import Decimal
from pathlib import Path
from typing import Any

from chalicelib.contracts import FiscalJob, FiscalRecord, PaymentType
from edge.config import FiscalDeviceConfig, HttpConnection
from edge.drivers.base import (
    DeviceDocument,
    DeviceError,
    DeviceReport,
    DeviceStatus,
    FiscalDriver,
    InvalidJob,
    UnsupportedDevice,
)
from edge.drivers.caspos.api import (
    DATE_FORMAT,
    Code,
    VatType,
    amount,
    dumps,
    minor,
)
from edge.drivers.caspos.client import (
    CasposClient,
    CasposGarbled,
    CasposRejected,
    Item,
    Payments,
    ShiftClosed,
)

MANUFACTURER = "Caspos"
MODELS = ("Caspos Mobile",)
_UUID_NAMESPACE = uuid.UUID("5f0c4f55-6a53-4c1e-9f7b-2f6b0c7a9e11")
DEFAULT_VAT_TYPES: dict[Decimal, VatType] = {Decimal(18): VatType.VAT18, Decimal(0): VatType.VAT0, Decimal(2): VatType.SIMPLIFIED_2, Decimal(8): VatType.SIMPLIFIED_8}


def document_uuid(job_id: str) -> str:
    """The documentUUID of a job: the same job always gets the same one."""
    return str(uuid.uuid5(_UUID_NAMESPACE, job_id))


class CasposDriver(FiscalDriver):
    manufacturer = MANUFACTURER

    def __init__(self, client: CasposClient, model: str, name: str, vat_types: dict[Decimal, VatType]) -> None:
        self.client = client
        self.model = model
        self.name = name
        self._vat_types = vat_types
        self._factory_number: str | None = None

    def print_receipt(self, job: FiscalJob) -> FiscalRecord:
        if job.is_refund:
            raise InvalidJob("a Caspos money back needs the parent document id; the job does not carry it")
        items = [self._item(i, line) for i, line in enumerate(job.lines, start=1)]
        payments = self._payments(job)
        sale = {"currency": job.currency, "note": f"SALE ID {job.job_id}"}
        try:
            document = self.client.sale(document_uuid(job.job_id), items, payments, job.operator, **sale)
        except ShiftClosed:
            self.client.open_shift(job.operator)
            document = self.client.sale(document_uuid(job.job_id), items, payments, job.operator, **sale)
        if document.total != job.total:
            raise CasposRejected(Code.INVALID_TOTAL_SUM, f"register totals {document.total}, job {job.total}")
        return self._record(document.short_document_id)

    def find_receipt(self, sale_id: str) -> FiscalRecord | None:
        """Always None: the register cannot be searched by documentUUID, and printing again is idempotent."""
        self._device()
        return None

    def last_receipt(self) -> FiscalRecord | None:
        tape = self.client.control_tape().get("tape") or []
        if not tape:
            return None
        last = tape[-1]
        return self._record(str(last.get("short_document_id", "")), str(last.get("createdAtUtc", "")))

    def status(self) -> DeviceStatus:
        status = DeviceStatus(device=f"{MANUFACTURER}:{self._factory_number or '?'}", manufacturer=MANUFACTURER, model=self.model, online=True)
        try:
            info = self.client.get_info()
            self._factory_number = info.cashregister_factory_number
            printer = self.client.is_connected_printer()
        except DeviceError as exc:
            return status.model_copy(update={"online": False, "error": str(exc)})
        return status.model_copy(
            update={"device": self._device(), "busy": False, "paper_out": None if printer else True, "last_fiscal_number": str(info.last_doc_number)}
        )

    def x_report(self) -> DeviceReport:
        return self._report("X", self.client.x_report("edge"))

    def z_report(self) -> DeviceReport:
        return self._report("Z", self.client.close_shift(str(uuid.uuid4()), "edge"))

    def close(self) -> None:
        self.client.close()

    def cash_in(self, amount: int) -> DeviceDocument:
        document = self.client.deposit(str(uuid.uuid4()), amount, "edge")
        return DeviceDocument(number=document.short_document_id, amount_cents=amount, full_text=f"deposit {document.document_id} {minor_text(amount)}")

    def cash_out(self, amount: int) -> DeviceDocument:
        document = self.client.withdraw(str(uuid.uuid4()), amount, "edge")
        return DeviceDocument(number=document.short_document_id, amount_cents=amount, full_text=f"withDraw {document.document_id} {minor_text(amount)}")

    def fiscal_memory_report(self, start: date, end: date) -> DeviceDocument:
        report = self.client.periodic_z_report(datetime.combine(start, day_time.min, UTC), datetime.combine(end, day_time.max, UTC))
        try:
            period = minor(report.get("periodSum", 0))
        except ValueError as exc:
            raise CasposGarbled(f"unexpected periodic report sum: {exc}") from exc
        return DeviceDocument(amount_cents=period, full_text=dumps(report).decode("utf-8"))

    def _device(self) -> str:
        if self._factory_number is None:
            self._factory_number = self.client.get_info().cashregister_factory_number
        return f"{MANUFACTURER}:{self._factory_number}"

    def _record(self, fiscal_id: str, created: str = "") -> FiscalRecord:
        printed_at = int(time.time())
        if created:
            try:
                printed_at = int(datetime.strptime(created, DATE_FORMAT).timestamp())
            except ValueError:
                printed_at = int(time.time())
        return FiscalRecord(device=self._device(), fiscal_number=fiscal_id or "?", printed_at=printed_at)

    def _item(self, index: int, line: Any) -> Item:
        vat_type = self._vat_types.get(line.vat_rate.normalize())
        if vat_type is None:
            raise InvalidJob(f"Caspos has no VAT type for {line.vat_rate}%")
        exact = (Decimal(line.unit_price) * line.quantity) == line.amount
        return Item(name=line.name, code=str(index), quantity=line.quantity, sale_price=line.unit_price, vat_type=vat_type, line_sum=None if exact else line.amount)

    @staticmethod
    def _payments(job: FiscalJob) -> Payments:
        if job.payment.type is PaymentType.CASH:
            return Payments(cash=job.payment.amount)
        if job.payment.type is PaymentType.CARD:
            return Payments(card=job.payment.amount)
        raise InvalidJob("Caspos takes cash or card for a sale; payment type 'other' has no Caspos field")

    @staticmethod
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


def minor_text(value: int) -> str:
    return str(amount(value))


def open_caspos(device: FiscalDeviceConfig, state_dir: Path) -> CasposDriver:
    connection = device.connection
    if not isinstance(connection, HttpConnection):
        raise UnsupportedDevice(f"{MANUFACTURER} {device.model} needs a connection of type http")
    vat_types = dict(DEFAULT_VAT_TYPES)
    for rate, code in device.vat_codes.items():
        if code not in VatType._value2member_map_:
            raise UnsupportedDevice(f"vat_codes: {code} is not a Caspos vatType ({', '.join(str(int(t)) for t in VatType)})")
        vat_types[rate.normalize()] = VatType(code)
    timeout = device.timeouts.answer_seconds * 20
    client = CasposClient(str(connection.url).rstrip("/"), connection.username, connection.password, timeout)
    return CasposDriver(client, device.model, device.name, vat_types)

