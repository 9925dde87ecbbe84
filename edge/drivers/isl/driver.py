"""The ISL driver: Datecs (``isl.datecs``) and Daisy (``isl.daisy``) fiscal printers over serial or TCP.

A receipt is: open (with a unique sale number), one sale line per job line, a text line
``SALE ID <job id>``, subtotal (checked against the job's total), payment, close. Before
the open, the sale number planned for the job is made durable (``isl.sales``), so
``find_receipt`` can tell after a crash whether the printer opened, closed or cancelled
that receipt; a receipt left open is closed if fully paid, else cancelled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel

from chalicelib.contracts import FiscalJob, FiscalRecord, PaymentType
from edge.config import FiscalDeviceConfig, SerialConnection, TcpConnection
from edge.drivers.base import (
    DeviceBusy,
    DeviceDocument,
    DeviceError,
    DeviceReport,
    DeviceStatus,
    DeviceUnreachable,
    FiscalDriver,
    InvalidJob,
    LinkLost,
    OperationRefused,
    PaperOut,
    UnsupportedDevice,
)
from edge.drivers.isl.commands import (
    TAX_GROUPS,
    Command,
    FieldError,
    decode_text,
    encode_text,
    format_clock,
    line_amount,
    money,
    parse_clock,
    parse_money,
    quantity,
)
from edge.drivers.isl.frame import DeviceState, MalformedFrame, decode_status
from edge.drivers.isl.link import (
    BusyTooLong,
    CorruptAnswer,
    IslLink,
    LinkError,
    NoAnswer,
    SerialTransport,
    TcpTransport,
    Transport,
)
from edge.drivers.isl.sales import SaleBook, SalePlan, open_book

TEXT_WIDTH = 42


class DeviceSilent(DeviceUnreachable):
    """The printer did not answer at all."""

    code = "E_DEVICE_SILENT"


class GarbledAnswer(DeviceUnreachable):
    """The printer answered with bytes that never made a valid frame (checksum, truncation, garbage)."""

    code = "E_DEVICE_GARBLED"


class DeviceRefused(DeviceError):
    """The printer refused a command (cover open, fiscal memory full, not allowed now…)."""

    code = "E_DEVICE_REFUSED"


class ReceiptInterrupted(LinkLost):
    """The link failed after the receipt was opened: it may have been completed."""

    code = "E_RECEIPT_INTERRUPTED"


@dataclass(frozen=True)
class Dialect:
    """What differs between vendors sharing the ISL framing."""

    manufacturer: str
    models: tuple[str, ...]
    connections: tuple[str, ...]
    cancel_command: int
    payment_codes: dict[PaymentType, str]
    open_receipt: Callable[[int, str, str], str]  # (operator, password, unp) -> data


class CashState(BaseModel):
    accepted: bool
    cash_in_drawer: int
    deposited: int
    withdrawn: int


class IslDriver(FiscalDriver):
    """One Datecs/Daisy printer. Every device exchange holds the link's lock."""

    def __init__(self, link: IslLink, book: SaleBook, dialect: Dialect, model: str, name: str, operator: int = 1, password: str = "0000") -> None:
        self.link = link
        self.book = book
        self.dialect = dialect
        self.manufacturer = dialect.manufacturer
        self.model = model
        self.name = name
        self._operator = operator
        self._password = password
        self._serial: str | None = None
        self._rates: dict[Decimal, str] | None = None

    # -- FiscalDriver ------------------------------------------------------------------

    def print_receipt(self, job: FiscalJob) -> FiscalRecord:
        if job.is_refund:
            raise InvalidJob("a refund needs a storno receipt that names the original receipt; the job does not carry it")
        with self.link.lock:
            serial = self._identity()
            sales = self._sale_lines(job)
            last_seq, _ = self._settle_open_receipt()
            doc_before = self._int(self._ask(Command.LAST_DOCUMENT_NUMBER), "last document number")
            seq = max(last_seq, self.book.highest_seq(serial)) + 1
            plan = self.book.plan(job.job_id, serial, seq, f"{serial}-{self._operator:04d}-{seq:07d}", doc_before)
            try:
                self._ask(Command.OPEN_FISCAL_RECEIPT, self.dialect.open_receipt(self._operator, self._password, plan.unp))
            except DeviceError as exc:
                raise self._interrupted(exc, opened=False) from exc
            try:
                self._fill_and_pay(job, sales)
                self._ask(Command.CLOSE_FISCAL_RECEIPT)
            except DeviceError as exc:
                raise self._interrupted(exc, opened=True) from exc
            return self._record(plan)

    def find_receipt(self, sale_id: str) -> FiscalRecord | None:
        plan = self.book.for_job(sale_id)
        if plan is None:
            return None  # the plan is written before the open: without it nothing was sent
        with self.link.lock:
            serial = self._identity()
            if plan.device != serial:
                raise DeviceRefused(f"job {sale_id} was sent to printer {plan.device}, this is {serial}")
            last_seq, _ = self._settle_open_receipt()
            refreshed = self.book.for_job(sale_id)
            assert refreshed is not None
            if last_seq < refreshed.seq or refreshed.cancelling:
                return None
            return self._record(refreshed)

    def last_receipt(self) -> FiscalRecord | None:
        with self.link.lock:
            serial = self._identity()
            last_seq, _ = self._last_sale()
            plan = self.book.for_seq(serial, last_seq)
            if plan is None or plan.cancelling:
                return None
            return self._record(plan)

    def status(self) -> DeviceStatus:
        status = DeviceStatus(device=f"{self.manufacturer}:{self._serial or '?'}", manufacturer=self.manufacturer, model=self.model, online=True)
        try:
            with self.link.lock:
                serial = self._identity()
                state = self._state(Command.STATUS)
                last_doc = self._int(self._ask(Command.LAST_DOCUMENT_NUMBER), "last document number")
        except DeviceError as exc:
            return status.model_copy(update={"online": False, "busy": isinstance(exc, DeviceBusy), "error": str(exc)})
        return status.model_copy(
            update={"device": f"{self.manufacturer}:{serial}", "paper_out": state.paper_out, "busy": False, "last_fiscal_number": f"{last_doc:07d}"}
        )

    def x_report(self) -> DeviceReport:
        return self._daily_report("X")

    def z_report(self) -> DeviceReport:
        return self._daily_report("Z")

    def close(self) -> None:
        self.link.close()
        self.book.close()

    def non_fiscal_receipt(self, lines: list[str]) -> DeviceDocument:
        number = self.print_text(lines)
        return DeviceDocument(number=f"{number:07d}", full_text="\n".join(line[:TEXT_WIDTH] for line in lines))

    def cash_in(self, amount: int) -> DeviceDocument:
        return self._cash_document(amount)

    def cash_out(self, amount: int) -> DeviceDocument:
        return self._cash_document(-amount)

    def _cash_document(self, amount: int) -> DeviceDocument:
        with self.link.lock:
            state = self.cash_in_out(amount)
            if not state.accepted:
                raise OperationRefused(f"the printer refused cash {'in' if amount > 0 else 'out'} of {money(abs(amount))} (drawer {money(state.cash_in_drawer)})")
            number = self._int(self._ask(Command.LAST_DOCUMENT_NUMBER), "last document number")
        title = "CASH IN" if amount > 0 else "CASH OUT"
        text = f"{title} {money(abs(amount))}\nCASH IN DRAWER {money(state.cash_in_drawer)}"
        return DeviceDocument(number=f"{number:07d}", amount_cents=abs(amount), full_text=text)

    # -- other device operations ---------------------------------------------------------

    def print_text(self, lines: list[str]) -> int:
        """A non-fiscal (service) receipt with the given lines; returns its document number."""
        with self.link.lock:
            self._ask(Command.OPEN_SERVICE_RECEIPT)
            for line in lines:
                self._ask(Command.SERVICE_TEXT, line[:TEXT_WIDTH])
            self._ask(Command.CLOSE_SERVICE_RECEIPT)
            return self._int(self._ask(Command.LAST_DOCUMENT_NUMBER), "last document number")

    def cash_in_out(self, amount: int) -> CashState:
        """Deposit (positive) or withdraw (negative) cash; 0 only reads the drawer."""
        answer = self._ask(Command.CASH_IN_OUT, money(amount) if amount else "")
        parts = answer.split(",")
        if len(parts) != 4 or parts[0] not in ("P", "F"):
            raise GarbledAnswer(f"unexpected cash answer {answer!r}")
        try:
            drawer, deposited, withdrawn = (parse_money(p) for p in parts[1:])
        except FieldError as exc:
            raise GarbledAnswer(str(exc)) from exc
        return CashState(accepted=parts[0] == "P", cash_in_drawer=drawer, deposited=deposited, withdrawn=withdrawn)

    def read_clock(self) -> datetime:
        try:
            return parse_clock(self._ask(Command.READ_CLOCK))
        except FieldError as exc:
            raise GarbledAnswer(str(exc)) from exc

    def set_clock(self, moment: datetime) -> None:
        self._ask(Command.SET_CLOCK, format_clock(moment))

    def receipt_total(self) -> int:
        """The open receipt's subtotal: the first field of the answer, before its sums per tax group."""
        parts = self._ask(Command.SUBTOTAL, "00").split(",")
        if len(parts) != 1 + len(TAX_GROUPS):
            raise GarbledAnswer(f"unexpected subtotal answer {','.join(parts)!r}")
        try:
            return parse_money(parts[0])
        except FieldError as exc:
            raise GarbledAnswer(str(exc)) from exc

    # -- receipt steps ---------------------------------------------------------------------

    def _sale_lines(self, job: FiscalJob) -> list[str]:
        """The sale commands' data, checked before anything is sent: VAT rates must map to groups."""
        rates = self._tax_rates()
        lines = []
        for line in job.lines:
            group = rates.get(line.vat_rate)  # Decimals that are equal hash alike: 20, 20.0 and 20.00 find one key
            if group is None:
                raise InvalidJob(f"the printer has no tax group for VAT {line.vat_rate}%")
            text = line.name[:TEXT_WIDTH].replace("\t", " ")
            data = f"{text}\t{group}{money(line.unit_price)}*{quantity(line.quantity)}"
            adjustment = line.amount - line_amount(line.unit_price, line.quantity)
            if adjustment:
                data += f";{money(adjustment)}"
            lines.append(data)
        return lines

    def _fill_and_pay(self, job: FiscalJob, sales: list[str]) -> None:
        for data in sales:
            self._ask(Command.SALE, data)
        label = f"SALE ID {job.job_id}"
        for start in range(0, len(label), TEXT_WIDTH):
            self._ask(Command.FISCAL_TEXT, label[start : start + TEXT_WIDTH])
        total = self.receipt_total()
        if total != job.total:
            raise InvalidJob(f"the printer totals {money(total)}, the job {money(job.total)}")
        code = self.dialect.payment_codes[job.payment.type]
        answer = self._ask(Command.TOTAL, f"\t{code}{money(job.payment.amount)}")
        if not answer or answer[0] != "R":
            raise ReceiptInterrupted(f"payment not accepted: {answer!r}")

    def _interrupted(self, exc: DeviceError, *, opened: bool) -> DeviceError:
        """What a failure after the open command was sent means for the job.

        A failed link leaves the receipt's fate unknown (``ReceiptInterrupted``: reconcile).
        A refusal of the open itself opened nothing; a refusal later is undone here by
        cancelling the unpaid receipt, so nothing was printed, unless it was already paid.
        """
        if isinstance(exc, LinkLost):
            return exc
        if isinstance(exc, DeviceUnreachable | DeviceBusy):
            return ReceiptInterrupted(f"receipt may be open or complete: {exc}")
        if not opened:
            return exc
        try:
            _, settled = self._settle_open_receipt()
        except DeviceError as again:
            return ReceiptInterrupted(f"{exc}; then {again}")
        return ReceiptInterrupted(f"{exc}; the paid receipt was then closed") if settled == "closed" else exc

    def _last_sale(self) -> tuple[int, DeviceState]:
        """The printer's last unique sale number, and its status from the same answer.

        Every answer carries the printer's status, so this one already says whether a
        receipt is open: no separate status exchange.
        """
        text, state = self._exchange(Command.OPEN_FISCAL_RECEIPT, "")
        return self._int(text, "last sale number"), state

    def _settle_open_receipt(self) -> tuple[int, str | None]:
        """Finish whatever receipt is open: close it if fully paid, else cancel it.

        Returns the printer's last unique sale number and what was done ("closed",
        "cancelled" or None). Closing or cancelling does not change that number: it was
        taken when the receipt was opened.
        """
        last_seq, state = self._last_sale()
        if not state.fiscal_receipt_open:
            if state.service_receipt_open:
                self._ask(Command.CLOSE_SERVICE_RECEIPT)
            return last_seq, None
        parts = self._ask(Command.TRANSACTION_STATUS, "T").split(",")
        try:
            total, tendered = int(parts[2]), int(parts[3])
        except (IndexError, ValueError) as exc:
            raise GarbledAnswer(f"unexpected transaction status {','.join(parts)!r}") from exc
        if tendered >= total > 0:
            self._ask(Command.CLOSE_FISCAL_RECEIPT)
            return last_seq, "closed"
        self.book.mark_cancelling(self._identity(), last_seq)
        self._ask(self.dialect.cancel_command)
        return last_seq, "cancelled"

    def _record(self, plan: SalePlan) -> FiscalRecord:
        printed_at = int(self.read_clock().timestamp())
        return FiscalRecord(device=f"{self.manufacturer}:{plan.device}", fiscal_number=f"{plan.document_number:07d}", printed_at=printed_at)

    def _daily_report(self, kind: str) -> DeviceReport:
        answer = self._ask(Command.DAILY_REPORT, "0" if kind == "Z" else "2")
        parts = answer.split(",")
        if len(parts) != 2 + len(TAX_GROUPS):
            raise GarbledAnswer(f"unexpected daily report answer {answer!r}")
        try:
            closure = int(parts[0])
            totals = [parse_money(p) for p in parts[2:]]
        except (ValueError, FieldError) as exc:
            raise GarbledAnswer(f"unexpected daily report answer {answer!r}") from exc
        text = [f"{'Z REPORT' if kind == 'Z' else 'X REPORT'} {closure:04d}"]
        text += [f"{group} {money(total)}" for group, total in zip(TAX_GROUPS, totals, strict=True) if total]
        text.append(f"TOTAL {money(sum(totals))}")
        return DeviceReport(kind="Z" if kind == "Z" else "X", number=closure if kind == "Z" else None, amount_cents=sum(totals), full_text="\n".join(text))

    # -- identity ----------------------------------------------------------------------------

    def _identity(self) -> str:
        if self._serial is None:
            parts = self._ask(Command.DIAGNOSTIC_INFO, "1").split(",")
            if len(parts) < 5 or not parts[-2]:
                raise GarbledAnswer(f"unexpected diagnostic answer {','.join(parts)!r}")
            self._serial = parts[-2]
        return self._serial

    def _tax_rates(self) -> dict[Decimal, str]:
        if self._rates is None:
            parts = self._ask(Command.TAX_RATES).split(",")
            rates: dict[Decimal, str] = {}
            for group, text in zip(TAX_GROUPS, parts, strict=False):
                text = text.strip().rstrip("%")
                if text == "DT":
                    continue
                try:
                    rate = Decimal(text).normalize()
                except ArithmeticError as exc:
                    raise GarbledAnswer(f"unexpected tax rate {text!r}") from exc
                rates.setdefault(rate, group)
            self._rates = rates
        return self._rates

    # -- exchange ------------------------------------------------------------------------------

    def _state(self, cmd: Command, data: str = "") -> DeviceState:
        return self._exchange(cmd, data)[1]

    def _ask(self, cmd: int, data: str = "") -> str:
        return self._exchange(cmd, data)[0]

    def _exchange(self, cmd: int, data: str) -> tuple[str, DeviceState]:
        """One command; a refusal or link failure becomes a typed DeviceError."""
        try:
            response = self.link.request(cmd, encode_text(data))
            state = decode_status(response.status)
        except NoAnswer as exc:
            raise DeviceSilent(str(exc)) from exc
        except BusyTooLong as exc:
            raise DeviceBusy(str(exc)) from exc
        except (CorruptAnswer, MalformedFrame) as exc:
            raise GarbledAnswer(str(exc)) from exc
        except LinkError as exc:
            raise DeviceUnreachable(str(exc)) from exc
        if state.paper_out and (state.not_allowed or (cmd not in _QUERIES and data)):
            raise PaperOut(f"out of paper (command {cmd:02X}h refused)")
        if state.syntax_error:
            raise InvalidJob(f"the printer found a syntax error in command {cmd:02X}h {data!r}")
        if state.invalid_command:
            raise DeviceRefused(f"the printer does not know command {cmd:02X}h")
        if state.not_allowed or state.overflow:
            reason = "cover open" if state.cover_open else "not allowed now"
            raise DeviceRefused(f"the printer refused command {cmd:02X}h: {reason}")
        return decode_text(response.data), state

    @staticmethod
    def _int(text: str, what: str) -> int:
        if not text.strip().isdigit():
            raise GarbledAnswer(f"unexpected {what} {text!r}")
        return int(text)


_QUERIES = frozenset(
    {Command.STATUS, Command.TRANSACTION_STATUS, Command.LAST_DOCUMENT_NUMBER, Command.READ_CLOCK, Command.DIAGNOSTIC_INFO, Command.TAX_RATES}
)


def transport_for(device: FiscalDeviceConfig, dialect: Dialect) -> Transport:
    connection = device.connection
    if connection is None or connection.type not in dialect.connections:
        raise UnsupportedDevice(f"{dialect.manufacturer} {device.model} needs a connection of type {' or '.join(dialect.connections)}")
    if isinstance(connection, SerialConnection):
        return SerialTransport(connection.port, connection.baud_rate)
    assert isinstance(connection, TcpConnection)
    return TcpTransport(connection.host, connection.port, device.timeouts.answer_seconds * 4)


def open_isl(device: FiscalDeviceConfig, state_dir: Path, dialect: Dialect) -> IslDriver:
    transport = transport_for(device, dialect)
    timeouts = device.timeouts
    link = IslLink(transport, answer_timeout=timeouts.answer_seconds, busy_timeout=timeouts.busy_seconds, retries=timeouts.retries)
    return IslDriver(link, open_book(state_dir), dialect, device.model, device.name, device.operator, device.operator_password)
