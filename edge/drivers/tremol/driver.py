"""The Tremol ZFP driver (Tremol doc "protocol_description_BG_1910211454", pages cited per rule) over serial or TCP.

A receipt is: 71h the last receipt number, a durable plan (``isl.sales.SaleBook``: the job's unique sale
number, the number before, its payments), 30h open (a refund opens a storno naming the original; refused because
a receipt is open, 20h and that receipt finished or cancelled first), one 31h per
line (a line discount as a value discount), 37h ``SALE ID <job id>`` (and the buyer's tax id), 33h subtotal
checked against the job, one 35h per payment, 38h close, 72h 'B' for the receipt's own date-time.

After a crash the plan says which receipt number the job's receipt would have had (the one after the number
before); 72h 'b' gives that receipt's amount and date-time (p.74), so a receipt is proven printed when the
device's last number reached it and its amount is the job's, and proven not printed otherwise.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from chalicelib.contracts import FiscalJob, FiscalRecord, PaymentType
from edge.config import FiscalDeviceConfig, SerialConnection, TcpConnection
from edge.drivers.base import (
    DeviceBusy,
    DeviceDocument,
    DeviceError,
    DeviceReport,
    DeviceSilent,
    DeviceStatus,
    DeviceUnreachable,
    FiscalDriver,
    GarbledAnswer,
    InvalidJob,
    LinkLost,
    ReceiptInterrupted,
    UnsupportedDevice,
)
from edge.drivers.isl.link import LinkError as TransportError
from edge.drivers.isl.link import SerialTransport, Transport
from edge.drivers.isl.sales import Payment, SaleBook, SalePlan
from edge.drivers.tremol.commands import (
    QUERIES,
    SEPARATOR,
    VAT_CLASSES,
    Command,
    FieldError,
    decode_text,
    encode_text,
    fit,
    line_amount,
    money,
    parse_amount,
    parse_clock,
    quantity,
    storno_moment,
)
from edge.drivers.tremol.frame import Acknowledgement, MalformedFrame
from edge.drivers.tremol.link import (
    Busy,
    CorruptAnswer,
    LinkError,
    NoAnswer,
    TremolLink,
    TremolTcpTransport,
)
from edge.drivers.tremol.status import (
    DeviceRefused,
    DeviceState,
    ReceiptOpen,
    fiscal_memory_refusal,
    refusal,
)

MANUFACTURER = "Tremol"
MODELS = ("A19 Plus", "M20", "M23", "S21", "S25", "Tremol S")  # seed 000's supported Tremol devices
CONNECTIONS = ("serial", "tcp")
DEFAULT_PORT = 8000  # p.6: "Port: Always 8000"
BOOK_FILE = "tremol_sales.sqlite"

# p.53: payment 0 is cash; 1-11 are programmable. ErpNet.FP (BgZfpFiscalPrinter.cs GetPaymentTypeMappings) maps
# cards to 7 and cheques to 1; "other" goes to 1 here.
PAYMENT_CODES = {PaymentType.CASH: "0", PaymentType.CARD: "7", PaymentType.OTHER: "1"}
DEFAULT_OPERATOR, DEFAULT_PASSWORD = 1, "0000"  # ErpNet.FP BgTremolZfpFiscalPrinter.cs defaults (operator 1, "0000")
OPERATORS = range(1, 21)  # p.38-39: operator numbers 1-20
NAME_SYMBOLS = 36  # p.47: NamePLU, 36 symbols ('|' starts a new line)
TEXT_SYMBOLS = 30  # p.54: 37h prints TextLength-2 symbols; 32-symbol lines on the narrowest (57 mm) models
_RATE = re.compile(r"\d{1,3}\.\d{2}%")  # p.25: ##.##%
_NRA_UNP = re.compile(r"[A-Za-z0-9]{8}-[A-Za-z0-9]{4}-[0-9]{7}")  # p.39-40: XXXXXXXX-ZZZZ-YYYYYYY
MAX_RECEIPT_NUMBER = 999_999  # p.40: RelatedToRcpNum up to 6 symbols; p.72: 71h answers ######
# p.74: FM Number*Receipt Number*Receipt Date*Receipt Hour*Receipt Amount, as ErpNet.FP reads it.
_QR = re.compile(r"([^*]+)\*(\d{1,6})\*(\d{4})-(\d\d)-(\d\d)\*(\d\d):(\d\d):(\d\d)\*([^*]+)")


class Original(NamedTuple):
    """What a storno names (p.40)."""

    number: int
    printed_at: datetime
    fiscal_memory: str
    unp: str | None


class ReceiptProof(NamedTuple):
    """72h 'b'/'B' (p.74): FM number*receipt number*date*time*amount."""

    fiscal_memory: str
    number: int
    printed_at: datetime
    amount: int


class TremolDriver(FiscalDriver):
    """One ZFP device; every exchange holds the link's lock."""

    manufacturer = MANUFACTURER

    def __init__(self, link: TremolLink, book: SaleBook, model: str, name: str, operator: int | None = None,
                 password: str | None = None) -> None:
        self.link = link
        self.book = book
        self.model = model
        self.name = name
        self._operator, self._password = credentials(operator, password)
        self._serial: str | None = None
        self._fiscal_memory: str | None = None
        self._rates: dict[Decimal, str] | None = None

    # -- FiscalDriver -------------------------------------------------------------------------------------

    def print_receipt(self, job: FiscalJob) -> FiscalRecord:
        original = self._original_of(job)
        payments = self._payments(job)
        with self.link.lock:
            serial = self._identity()
            sales = self._sale_lines(job)
            plan = self._open(job, serial, original, payments)
            try:
                for line in sales:
                    self._ask(Command.SELL, line)
                self._text(f"SALE ID {job.job_id}")
                if job.buyer_tax_id is not None:
                    # An invoice (p.41) needs an invoice range programmed (p.24); the tax id goes on a text line instead.
                    self._text(f"BUYER TAX ID {job.buyer_tax_id}")
                total = self._amount(self._ask(Command.SUBTOTAL, "0;0"), "subtotal")  # p.50: no print, no display
                if total != job.total:
                    raise InvalidJob(f"the device totals {money(total)}, the job {money(job.total)}")
                self._pay(payments)
                self._ask(Command.CLOSE_RECEIPT)
            except DeviceError as exc:
                raise self._interrupted(exc) from exc
            try:
                proof = self._proof(None)
                return self._record(plan, proof.printed_at if proof is not None else self._clock())
            except DeviceError as exc:  # the receipt is closed: only a reconcile may say what it was
                raise ReceiptInterrupted(f"the receipt was closed, its date-time not read: {exc}") from exc

    def find_receipt(self, sale_id: str) -> FiscalRecord | None:
        plan = self.book.for_job(sale_id)
        if plan is None:
            return None  # the plan is written before the open: without it nothing was sent
        if plan.printed_at is not None:
            return self._fiscal_record(plan, plan.printed_at)
        with self.link.lock:
            serial = self._identity()
            if plan.device != serial:
                raise DeviceRefused(f"job {sale_id} was sent to device {plan.device}, this is {serial}")
            state = self._state()
            if state.fiscal_receipt_open or state.service_receipt_open:
                self._settle(state)
            refreshed = self.book.for_job(sale_id)
            assert refreshed is not None
            if refreshed.cancelling or self._last_number() <= refreshed.doc_before:
                return None
            proof = self._proof(refreshed.document_number)
            if proof is None or proof.number != refreshed.document_number or proof.amount != refreshed.total:
                return None  # the receipt after the plan's number is another one (a cancelled, voided receipt)
            return self._record(refreshed, proof.printed_at)

    def last_receipt(self) -> FiscalRecord | None:
        with self.link.lock:
            plan = self.book.latest(self._identity())
        return None if plan is None else self.find_receipt(plan.job_id)

    def status(self) -> DeviceStatus:
        status = DeviceStatus(device=f"{MANUFACTURER}:{self._serial or '?'}", manufacturer=MANUFACTURER, model=self.model, online=True)
        try:
            with self.link.lock:
                serial = self._identity()
                state = self._state()
                last = self._last_number()
        except DeviceError as exc:
            return status.model_copy(update={"online": False, "busy": isinstance(exc, DeviceBusy), "error": str(exc)})
        return status.model_copy(update={"device": f"{MANUFACTURER}:{serial}", "paper_out": state.paper_out, "busy": False,
                                         "last_fiscal_number": f"{last:06d}", "warnings": state.warnings})

    def x_report(self) -> DeviceReport:
        return self._daily_report("X")

    def z_report(self) -> DeviceReport:
        return self._daily_report("Z")

    def close(self) -> None:
        self.link.close()
        self.book.close()

    def non_fiscal_receipt(self, lines: list[str]) -> DeviceDocument:
        """2Eh, 37h per line, 2Fh (p.38, p.54)."""
        with self.link.lock:
            self._ask(Command.OPEN_SERVICE_RECEIPT, f"{self._operator};{self._password};0;0")
            for line in lines:
                self._ask(Command.PRINT_TEXT, fit(line, TEXT_SYMBOLS))
            self._ask(Command.CLOSE_SERVICE_RECEIPT)
            number = self._last_number()
        return DeviceDocument(number=f"{number:06d}", full_text="\n".join(fit(line, TEXT_SYMBOLS) for line in lines))

    def cash_in(self, amount: int) -> DeviceDocument:
        return self._cash(amount)

    def cash_out(self, amount: int) -> DeviceDocument:
        return self._cash(-amount)

    # -- receipt steps ---------------------------------------------------------------------------------------

    def _open(self, job: FiscalJob, serial: str, original: Original | None, payments: tuple[Payment, ...]) -> SalePlan:
        """Plan and open the receipt. The device's state is not read first: an open refused because a receipt is
        open (p.7 device errors 4-7) reads 20h, finishes or cancels what is open, and plans and opens again, once."""
        try:
            return self._open_once(job, serial, original, payments)
        except ReceiptOpen:
            state = self._state()
            if state.fiscal_receipt_open or state.service_receipt_open:
                self._settle(state)
            return self._open_once(job, serial, original, payments)

    def _open_once(self, job: FiscalJob, serial: str, original: Original | None, payments: tuple[Payment, ...]) -> SalePlan:
        """The last receipt number before it (71h, p.72), the durable plan, then 30h (p.39, or p.40 for a storno).
        A refused open opened nothing: its plan is discarded."""
        doc_before = self._last_number()
        seq = self.book.highest_seq(serial) + 1
        own = f"{serial}-{self._operator:04d}-{seq:07d}"
        if original is None:
            unp, data = own, f"{self._operator};{self._password};1;1;0${own}"  # p.39: detailed, with VAT, step by step
        else:
            # p.40: no own unique number; the original's number, date-time "DD-MM-YY HH:MM:SS", FM and URN.
            unp = original.unp or ""
            data = (f"{self._operator};{self._password};1;1;@;1;{original.number};{storno_moment(original.printed_at)};"
                    f"{original.fiscal_memory}" + (f";{original.unp}" if original.unp else ""))
        plan = self.book.plan(job.job_id, serial, seq, unp, doc_before, len(job.lines), job.total, storno=original is not None,
                              payments=payments)
        try:
            self._ask(Command.OPEN_RECEIPT, data)
        except DeviceError as exc:
            if isinstance(exc, DeviceUnreachable | DeviceBusy):
                raise ReceiptInterrupted(f"the open may have been carried out: {exc}") from exc
            self.book.discard(job.job_id)
            if isinstance(exc, ReceiptOpen):
                raise
            raise self._explained(exc) from exc
        return plan

    def _original_of(self, job: FiscalJob) -> Original | None:
        """What the storno names (p.40), checked before anything is sent: the original's receipt number (up to 6
        digits), date-time, 8-symbol FM number and, where it had one, its unique number; and no refund above it."""
        if not job.is_refund:
            return None
        if job.original is None:
            raise InvalidJob("a refund needs a storno receipt that names the original receipt; the job does not carry it")
        fiscal = job.original.fiscal
        number = fiscal.fiscal_number.strip()
        if not (number.isascii() and number.isdigit()) or not 1 <= int(number) <= MAX_RECEIPT_NUMBER:
            raise InvalidJob(f"a storno names the original's receipt number (1-999999, p.40), not {fiscal.fiscal_number!r}")
        memory = (fiscal.fiscal_memory_number or "").strip()
        if len(memory) != 8 or not memory.isalnum():
            raise InvalidJob(f"a storno names the original's 8-symbol fiscal memory number (p.40), not {memory!r}")
        urn = fiscal.unique_sale_number
        if urn is not None and not _NRA_UNP.fullmatch(urn):
            raise InvalidJob(f"a storno names the original's unique number in the NRA format (p.40), not {urn!r}")
        if job.total > job.original.total:
            raise InvalidJob(f"the refund ({money(job.total)}) exceeds the original receipt ({money(job.original.total)})")
        return Original(int(number), datetime.fromtimestamp(fiscal.printed_at, UTC), memory, urn)

    def _payments(self, job: FiscalJob) -> tuple[Payment, ...]:
        """One 35h per payment, in the job's order (p.53). The device gives change only on the payment that covers
        what is still due, so the cash handed over beyond the cash payments goes with the last payment that carries
        a tendered amount, sent last."""
        tender = job.tender
        change = sum(p.tendered - p.amount for p in tender if p.tendered is not None)
        if not change:
            return tuple(Payment(PAYMENT_CODES[p.type], p.amount) for p in tender)
        giver = max(i for i, p in enumerate(tender) if p.tendered is not None)
        rest = [Payment(PAYMENT_CODES[p.type], p.amount) for i, p in enumerate(tender) if i != giver]
        return (*rest, Payment(PAYMENT_CODES[tender[giver].type], tender[giver].amount + change))

    def _sale_lines(self, job: FiscalJob) -> list[str]:
        """31h data (p.47): <NamePLU>;<VAT class>;<Price>*<Quantity>[:<value discount>], checked before anything is sent."""
        rates = self._vat_classes()
        lines = []
        for line in job.lines:
            group = rates.get(line.vat_rate)
            if group is None:
                raise InvalidJob(f"the device has no VAT class for VAT {line.vat_rate}%")
            name = fit(line.name.replace("|", "/").replace("\n", " ").replace("\t", " "), NAME_SYMBOLS)
            data = f"{name};{group};{money(line.unit_price)}*{quantity(line.quantity)}"
            adjustment = line.amount - line_amount(line.unit_price, line.quantity)
            if line.discount and adjustment != -line.discount:
                raise InvalidJob(f"line {line.name!r}: its amount is not quantity × unit price − discount")
            if adjustment:
                text = money(adjustment)
                if len(text) > 8:  # p.47: DiscAddV up to 8 symbols
                    raise InvalidJob(f"line {line.name!r}: a discount of {text} does not fit the device's 8 symbols")
                data += f":{text}"
            lines.append(data)
        return lines

    def _text(self, text: str) -> None:
        """37h, cut into lines of the device's width (p.54)."""
        for start in range(0, len(text), TEXT_SYMBOLS):
            self._ask(Command.PRINT_TEXT, fit(text[start : start + TEXT_SYMBOLS], TEXT_SYMBOLS))

    def _pay(self, payments: Sequence[Payment]) -> None:
        """35h <type>;0;<amount>: with change (p.53)."""
        for payment in payments:
            self._ask(Command.PAYMENT, f"{payment.code};0;{money(payment.amount)}")

    def _interrupted(self, exc: DeviceError) -> DeviceError:
        """A failed link leaves the receipt's fate unknown (reconcile); a refusal is undone by finishing or
        cancelling the receipt, so nothing of it was printed unless it was already paid."""
        if isinstance(exc, LinkLost):
            return exc
        if isinstance(exc, DeviceUnreachable | DeviceBusy):
            return ReceiptInterrupted(f"receipt may be open or complete: {exc}")
        try:
            settled = self._settle(self._state())
        except DeviceError as again:
            return ReceiptInterrupted(f"{exc}; then {again}")
        return ReceiptInterrupted(f"{exc}; the paid receipt was then closed") if settled == "closed" else exc

    def _settle(self, state: DeviceState) -> str | None:
        """Finish whatever is open: a non-fiscal receipt is closed; a fiscal receipt fully paid is closed, one part
        paid is paid as planned and closed, any other is cancelled (39h voids its sales, p.55) after the plan is
        marked as cancelling. Returns "closed", "cancelled" or None."""
        if not state.fiscal_receipt_open:
            if state.service_receipt_open:
                self._ask(Command.CLOSE_SERVICE_RECEIPT)
            return None
        total, started, finished = self._receipt_info()
        if finished:
            self._ask(Command.CLOSE_RECEIPT)
            return "closed"
        latest = self.book.latest(self._identity())
        ours = latest is not None and latest.printed_at is None and not latest.cancelling
        if ours and started and total == latest.total:
            remaining = _unpaid(latest.payments, self._paid())
            if remaining:
                self._pay(remaining)
                self._ask(Command.CLOSE_RECEIPT)
                return "closed"
        if latest is not None and latest.printed_at is None:
            self.book.mark_cancelling(latest.device, latest.seq)
        self._ask(Command.CANCEL_RECEIPT)
        return "cancelled"

    def _receipt_info(self) -> tuple[int, bool, bool]:
        """72h (pp.72-73): the open receipt's total (its subtotals per VAT class: fields 3-5 and 15-19), whether
        payment was initiated (field 9) and finalized (field 10)."""
        parts = self._ask(Command.RECEIPT_INFO).split(SEPARATOR)
        if len(parts) != 20:
            raise GarbledAnswer(f"72h answers 20 fields (p.72), not {len(parts)}")
        total = sum(self._amount(p, "receipt subtotal") for p in parts[2:5] + parts[14:19])
        return total, parts[8] == "1", parts[9] == "1"

    def _paid(self) -> int:
        """72h 'P' (p.73): what each payment type has taken on the current receipt."""
        parts = self._ask(Command.RECEIPT_INFO, "P").split(SEPARATOR)
        if len(parts) != 14 or parts[0] != "P":
            raise GarbledAnswer(f"72h P answers 14 fields (p.73), not {';'.join(parts)!r}")
        return sum(self._amount(p, "payment amount") for p in parts[2:])

    def _proof(self, number: int | None) -> ReceiptProof | None:
        """72h 'b' for receipt ``number`` or 'B' for the last one (p.74); ErpNet.FP (BgZfpFiscalPrinter.cs
        GetLastReceiptInfo) reads it as 50163145*000002*2020-01-28*15:29:00*30.00. None when the device has no
        such receipt (a non-fiscal one, or none)."""
        try:
            answer = self._ask(Command.RECEIPT_INFO, "B" if number is None else f"b;{number:06d}")
        except DeviceRefused:
            return None
        match = _QR.fullmatch(answer.strip())
        if match is None:
            raise GarbledAnswer(f"unexpected receipt QR data {answer!r}")
        memory, number, amount = match.group(1, 2, 9)
        try:
            moment = datetime(*(int(match.group(i)) for i in range(3, 9)), tzinfo=UTC)  # type: ignore[misc]
        except ValueError as exc:
            raise GarbledAnswer(f"unexpected receipt date-time in {answer!r}") from exc
        return ReceiptProof(memory, int(number), moment, self._amount(amount, "receipt amount"))

    def _record(self, plan: SalePlan, moment: datetime) -> FiscalRecord:
        self._identity()
        printed = self.book.printed(plan, int(moment.timestamp()), self._fiscal_memory or "")
        return self._fiscal_record(printed, int(moment.timestamp()))

    def _fiscal_record(self, plan: SalePlan, printed_at: int) -> FiscalRecord:
        return FiscalRecord(device=f"{MANUFACTURER}:{plan.device}", fiscal_number=f"{plan.document_number:06d}", printed_at=printed_at,
                            fiscal_memory_number=plan.fiscal_memory or None, unique_sale_number=plan.unp or None)

    # -- other operations ------------------------------------------------------------------------------------------

    def _cash(self, amount: int) -> DeviceDocument:
        """3Bh <OperNum>;<OperPass>;0;<Amount>, negative to pay out (p.55); a payout above the cash on hand is
        refused with command error 8 (p.7)."""
        with self.link.lock:
            self._ask(Command.CASH_IN_OUT, f"{self._operator};{self._password};0;{money(amount)}")
            number = self._last_number()
        title = "CASH IN" if amount > 0 else "CASH OUT"
        return DeviceDocument(number=f"{number:06d}", amount_cents=abs(amount), full_text=f"{title} {money(abs(amount))}")

    def _daily_report(self, kind: str) -> DeviceReport:
        """7Ch 'X' or 'Z' (p.80). The day's sales per VAT class come from 6Dh before it (p.59), the Z's number from
        73h after it (p.76). A Z is never reported failed once the device may have made it: if its answer is lost,
        73h says whether a new daily report exists."""
        with self.link.lock:
            sales = self._daily_sales()
            before = self._last_z() if kind == "Z" else None
            try:
                self._ask(Command.DAILY_REPORT, kind)
            except (DeviceUnreachable, DeviceBusy):
                if kind != "Z" or before is None:
                    raise
                after = self._last_z()
                if after is None or after <= before:
                    raise
            number = self._last_z() if kind == "Z" else None
        text = [f"{'Z' if kind == 'Z' else 'X'} REPORT" + (f" {number:04d}" if number is not None else "")]
        text += [f"{group} {money(amount)}" for group, amount in zip(VAT_CLASSES, sales, strict=False) if amount]
        text.append(f"TOTAL {money(sum(sales))}")
        return DeviceReport(kind="Z" if kind == "Z" else "X", number=number, amount_cents=sum(sales), full_text="\n".join(text))

    def _daily_sales(self) -> list[int]:
        """6Dh (p.59): eight sale amounts per VAT class, their sum, eight storno amounts, their sum."""
        parts = self._ask(Command.DAILY_AMOUNTS).split(SEPARATOR)
        if len(parts) != 18:
            raise GarbledAnswer(f"6Dh answers 18 fields (p.59), not {len(parts)}")
        return [self._amount(p, "daily amount") for p in parts[:8]]

    def _last_z(self) -> int | None:
        """73h (p.76): the second field is the last daily report's number; None when the device cannot say."""
        try:
            parts = self._ask(Command.LAST_DAILY_REPORT).split(SEPARATOR)
        except DeviceError:
            return None
        number = parts[1].strip() if len(parts) > 1 else ""
        return int(number) if number.isascii() and number.isdigit() else None

    # -- identity and setup ----------------------------------------------------------------------------------------

    def _identity(self) -> str:
        """60h (p.25): <SerialNumber[8]>;<FMNumber[8]>."""
        if self._serial is None:
            parts = self._ask(Command.READ_NUMBERS).split(SEPARATOR)
            if len(parts) != 2 or len(parts[0].strip()) != 8 or len(parts[1].strip()) != 8:
                raise GarbledAnswer(f"60h answers SerialNumber[8];FMNumber[8] (p.25), not {';'.join(parts)!r}")
            self._serial, self._fiscal_memory = parts[0].strip(), parts[1].strip()
        return self._serial

    def _vat_classes(self) -> dict[Decimal, str]:
        """62h (p.25): eight rates "##.##%", one per class А..З; a rate several classes share goes to the first."""
        if self._rates is None:
            parts = self._ask(Command.READ_VAT_RATES).split(SEPARATOR)
            if len(parts) != 8:
                raise GarbledAnswer(f"62h answers eight VAT rates (p.25), not {len(parts)}")
            rates: dict[Decimal, str] = {}
            for group, text in zip(VAT_CLASSES, parts, strict=True):
                if not _RATE.fullmatch(text.strip()):
                    raise GarbledAnswer(f"unexpected VAT rate {text!r}")
                rates.setdefault(Decimal(text.strip().rstrip("%")).normalize(), group)
            self._rates = rates
        return self._rates

    def _state(self) -> DeviceState:
        answer = self._ask_raw(Command.STATUS, "")
        try:
            return DeviceState.decode(answer)
        except ValueError as exc:
            raise GarbledAnswer(str(exc)) from exc

    def _last_number(self) -> int:
        """71h (p.72): the last issued receipt's number, six digits."""
        text = self._ask(Command.LAST_RECEIPT_NUMBER).strip()
        if not (text.isascii() and text.isdigit()):
            raise GarbledAnswer(f"unexpected last receipt number {text!r}")
        return int(text)

    def _clock(self) -> datetime:
        try:
            return parse_clock(self._ask(Command.READ_CLOCK))
        except FieldError as exc:
            raise GarbledAnswer(str(exc)) from exc

    def _explained(self, exc: DeviceError) -> DeviceError:
        """A refused open: 20h tells a full or failed fiscal memory (ST3) apart from other refusals."""
        try:
            return fiscal_memory_refusal(self._state()) or exc
        except DeviceError:
            return exc

    # -- exchange --------------------------------------------------------------------------------------------------

    def _ask(self, cmd: int, data: str = "") -> str:
        return decode_text(self._ask_raw(cmd, data))

    def _ask_raw(self, cmd: int, data: str, *, again: bool = True) -> bytes:
        """One command; its answer's data (b"" for an acknowledgement), or a typed DeviceError. A command refused
        only because power failed in a receipt (p.7 3d, "one time until status is read") is sent again after 20h."""
        try:
            answer = self.link.request(cmd, encode_text(data), query=cmd in QUERIES)
        except Busy as exc:
            raise DeviceBusy(str(exc)) from exc
        except (NoAnswer, CorruptAnswer, MalformedFrame) as exc:
            if cmd not in QUERIES and getattr(exc, "sent", True):  # an acting command's answer is lost: it may have run
                raise LinkLost(f"command {cmd:02X}h may have been carried out: {exc}") from exc
            raise (DeviceSilent if isinstance(exc, NoAnswer) else GarbledAnswer)(str(exc)) from exc
        except (LinkError, TransportError) as exc:
            raise (LinkLost if exc.sent and cmd not in QUERIES else DeviceUnreachable)(str(exc)) from exc
        if isinstance(answer, Acknowledgement):
            if answer.device_error == "=" and answer.command_error == "0" and cmd != Command.STATUS and again:
                self._state()
                return self._ask_raw(cmd, data, again=False)
            error = refusal(cmd, answer.device_error, answer.command_error)
            if error is not None:
                raise error
            return b""
        if answer.cmd != cmd:
            raise GarbledAnswer(f"an answer to {answer.cmd:02X}h came for {cmd:02X}h")
        return answer.data

    def _amount(self, text: str, what: str) -> int:
        try:
            return parse_amount(text)
        except FieldError as exc:
            raise GarbledAnswer(f"unexpected {what}: {exc}") from exc


def _unpaid(payments: list[Payment], paid: int) -> list[Payment]:
    """The planned payments after those that make up ``paid``; none when ``paid`` is no sum of the first ones."""
    done = 0
    for index, payment in enumerate(payments):
        if done == paid:
            return payments[index:]
        done += payment.amount
    return []


def credentials(operator: int | None, password: str | None) -> tuple[int, str]:
    """The configured operator and password, or the defaults; p.38: operators 1-20, passwords of up to 6 symbols."""
    number = operator if operator is not None else DEFAULT_OPERATOR
    if number not in OPERATORS:
        raise UnsupportedDevice(f"Tremol operators are numbered 1-20 (p.38), not {number}")
    secret = password if password is not None else DEFAULT_PASSWORD
    if len(secret) > 6:
        raise UnsupportedDevice("a Tremol operator password has at most 6 symbols (p.38)")
    return number, secret


def transport_for(device: FiscalDeviceConfig) -> Transport:
    connection = device.connection
    if isinstance(connection, SerialConnection):
        return SerialTransport(connection.port, connection.baud_rate)
    if isinstance(connection, TcpConnection):
        return TremolTcpTransport(connection.host, connection.port, device.timeouts.answer_seconds * 4)
    raise UnsupportedDevice(f"Tremol {device.model} needs a connection of type serial or tcp")


def open_tremol(device: FiscalDeviceConfig, state_dir: Path) -> TremolDriver:
    operator, password = credentials(device.operator, device.operator_password)  # refused before anything is opened
    timeouts = device.timeouts
    link = TremolLink(transport_for(device), answer_timeout=timeouts.answer_seconds, busy_timeout=timeouts.busy_seconds,
                      retries=timeouts.retries)
    try:
        book = SaleBook(state_dir / BOOK_FILE)
    except sqlite3.Error as exc:
        raise OSError(f"cannot open {state_dir / BOOK_FILE}: {exc}") from exc
    return TremolDriver(link, book, device.model, device.name, operator, password)
