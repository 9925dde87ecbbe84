"""The ISL driver, shared by the Datecs P, Datecs C and Daisy families over serial or TCP (and, with its own fields
and frame, by Datecs X: ``isl.datecs_x``).

A receipt is: finish whatever is left open, read the last document number, plan the
job's unique sale number (UNP) and payments durably (``isl.sales``), open with it (a refund
opens the family's storno receipt naming the original), one sale line per job line (a line
discount as the family's absolute discount), a text line ``SALE ID <job id>`` (and the buyer's
tax id), subtotal (checked against the job's total), one payment per job payment, close.
Values that differ per family come from its ``Dialect``; how a family proves after a crash
that a planned receipt was printed is its subclass's ``_completed`` (``isl.datecs``, ``isl.daisy``).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel

from chalicelib.contracts import FiscalJob, FiscalRecord, PaymentType
from edge.config import FiscalDeviceConfig, SerialConnection, TcpConnection
from edge.drivers.base import (
    ClockNotSet,
    CoverOpen,
    DeviceBusy,
    DeviceDocument,
    DeviceError,
    DeviceRefused,
    DeviceReport,
    DeviceSilent,
    DeviceStatus,
    DeviceUnreachable,
    FiscalDriver,
    FiscalMemoryError,
    FiscalMemoryFull,
    GarbledAnswer,
    InvalidJob,
    JournalFull,
    LinkLost,
    OperationRefused,
    PaperOut,
    PrinterFault,
    ReceiptInterrupted,
    UnsupportedDevice,
    WrongPassword,
)
from edge.drivers.isl.commands import (
    Command,
    FieldError,
    decode_text,
    encode_text,
    format_clock,
    line_amount,
    money,
    parse_amount,
    parse_clock,
    quantity,
)
from edge.drivers.isl.dialect import Dialect, StornoOf
from edge.drivers.isl.frame import MalformedFrame
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
from edge.drivers.isl.sales import Payment, SaleBook, SalePlan, open_book
from edge.drivers.isl.status import DeviceState, decode


class CashState(BaseModel):
    accepted: bool
    cash_in_drawer: int
    deposited: int
    withdrawn: int


class Answer(NamedTuple):
    text: str
    state: DeviceState


class LastDocument(NamedTuple):
    number: int
    state: DeviceState


class IslDriver(FiscalDriver):
    """One ISL printer. Every device exchange holds the link's lock."""

    def __init__(
        self, link: IslLink, book: SaleBook, dialect: Dialect, model: str, name: str, operator: int | None = None, password: str | None = None
    ) -> None:
        self.link = link
        self.book = book
        self.dialect = dialect
        self.manufacturer = dialect.manufacturer
        self.model = model
        self.name = name
        self._operator, self._password = dialect.credentials(operator, password)
        self._serial: str | None = None
        self._fiscal_memory: str | None = None
        self._rates: dict[Decimal, str] | None = None

    # -- what a family does its own way ------------------------------------------------------

    @abstractmethod
    def _completed(self, plan: SalePlan) -> datetime | bool:
        """Whether the planned receipt (not open, not being cancelled) was closed: its own date-time where the device
        keeps it, else True; False if the device proves it was not."""

    def _closed_before_next_plan(self, plan: SalePlan) -> bool | None:
        """For a plan that a later one followed: whether a document was completed between the two plans (the
        later plan read the last document number before opening its own receipt); None for the latest plan.

        Nothing but the planned receipt can complete between a plan and its open, all under the link's lock,
        and the next plan is only made once that receipt is closed or cancelled (marked before the cancel).
        """
        later = self.book.next_after(plan)
        return None if later is None else later.doc_before > plan.doc_before

    def _next_seq(self, serial: str) -> int:
        """The sequence part of the next UNP: after the highest this driver ever planned for the device."""
        return self.book.highest_seq(serial) + 1

    # -- FiscalDriver ------------------------------------------------------------------

    def print_receipt(self, job: FiscalJob) -> FiscalRecord:
        original = self._storno_of(job)
        payments = self._payments(job)
        with self.link.lock:
            serial = self._identity()
            sales = self._sale_lines(job)
            last = self._last_document()
            if last.state.fiscal_receipt_open or last.state.service_receipt_open:
                self._settle(last.state)
                last = self._last_document()
            doc_before = last.number
            seq = self._next_seq(serial)
            own = f"{serial}-{self._operator:04d}-{seq:07d}"
            if original is None:
                unp, (command, data) = own, (Command.OPEN_FISCAL_RECEIPT, self.dialect.open_receipt(self._operator, self._password, own))
            else:
                unp = own if self.dialect.storno_unp_is_own else original.unp or ""
                command, data = self.dialect.open_storno(self._operator, self._password, own, original)
            plan = self.book.plan(job.job_id, serial, seq, unp, doc_before, len(job.lines), job.total, storno=original is not None, payments=payments)
            try:
                self._ask(command, data)
            except DeviceError as exc:
                if not isinstance(exc, DeviceUnreachable | DeviceBusy):
                    self.book.discard(job.job_id)  # refused: nothing was opened, and no later document is this job's
                raise self._interrupted(exc, opened=False) from exc
            try:
                self._fill_and_pay(job, sales, payments)
                self._ask(Command.CLOSE_FISCAL_RECEIPT)
            except DeviceError as exc:
                raise self._interrupted(exc, opened=True) from exc
            try:
                return self._record(plan, True)
            except DeviceError as exc:  # the receipt is closed: whatever fails now, it was printed (reconcile finds it)
                raise ReceiptInterrupted(f"the receipt was closed, then its time could not be read: {exc}") from exc

    def find_receipt(self, sale_id: str) -> FiscalRecord | None:
        plan = self.book.for_job(sale_id)
        if plan is None:
            return None  # the plan is written before the open: without it nothing was sent
        if plan.printed_at is not None:
            return self._fiscal_record(plan, plan.printed_at)
        with self.link.lock:
            serial = self._identity()
            if plan.device != serial:
                raise DeviceRefused(f"job {sale_id} was sent to printer {plan.device}, this is {serial}")
            self._settle_open_receipt()
            refreshed = self.book.for_job(sale_id)
            assert refreshed is not None
            if refreshed.cancelling:
                return None
            if self._last_document().number <= refreshed.doc_before:
                return None
            completed = self._completed(refreshed)
            return self._record(refreshed, completed) if completed else None

    def last_receipt(self) -> FiscalRecord | None:
        with self.link.lock:
            plan = self.book.latest(self._identity())
        return None if plan is None else self.find_receipt(plan.job_id)

    def status(self) -> DeviceStatus:
        status = DeviceStatus(device=f"{self.manufacturer}:{self._serial or '?'}", manufacturer=self.manufacturer, model=self.model, online=True)
        try:
            with self.link.lock:
                serial = self._identity()
                state = self._exchange(Command.STATUS, "").state
                last_doc = self._last_document().number
                closure = self._last_closure()
                offset = self._clock_offset()
        except DeviceError as exc:
            return status.model_copy(update={"online": False, "busy": isinstance(exc, DeviceBusy), "error": str(exc)})
        return status.model_copy(
            update={
                "device": f"{self.manufacturer}:{serial}",
                "paper_out": state.paper_out,
                "busy": False,
                "last_fiscal_number": f"{last_doc:07d}",
                "z_counter": closure,
                "clock_offset_seconds": offset,
                "warnings": list(state.warnings),
            }
        )

    def _clock_offset(self) -> int | None:
        """3Eh (C doc p.16, P doc p.22, Daisy doc p.20): the printer's clock minus the edge's, in whole seconds;
        None when the printer cannot tell it."""
        try:
            device_now = self.read_clock()
        except DeviceError:
            return None
        return round((device_now - datetime.now(UTC)).total_seconds())

    def x_report(self) -> DeviceReport:
        return self._daily_report("X")

    def z_report(self) -> DeviceReport:
        return self._daily_report("Z")

    def close(self) -> None:
        self.link.close()
        self.book.close()

    def non_fiscal_receipt(self, lines: list[str]) -> DeviceDocument:
        number = self.print_text(lines)
        width = self.dialect.service_text_bytes
        return DeviceDocument(number=f"{number:07d}", full_text="\n".join(fit(line, width) for line in lines))

    def cash_in(self, amount: int) -> DeviceDocument:
        return self._cash_document(amount)

    def cash_out(self, amount: int) -> DeviceDocument:
        return self._cash_document(-amount)

    def _cash_document(self, amount: int) -> DeviceDocument:
        with self.link.lock:
            state = self.cash_in_out(amount)
            if not state.accepted:
                raise OperationRefused(f"the printer refused cash {'in' if amount > 0 else 'out'} of {money(abs(amount))} (drawer {money(state.cash_in_drawer)})")
            number = self._last_document().number
        title = "CASH IN" if amount > 0 else "CASH OUT"
        text = f"{title} {money(abs(amount))}\nCASH IN DRAWER {money(state.cash_in_drawer)}"
        return DeviceDocument(number=f"{number:07d}", amount_cents=abs(amount), full_text=text)

    # -- other device operations ---------------------------------------------------------

    def print_text(self, lines: list[str]) -> int:
        """A non-fiscal (service) receipt with the given lines; returns its document number."""
        with self.link.lock:
            self._ask(Command.OPEN_SERVICE_RECEIPT)
            for line in lines:
                self._ask(Command.SERVICE_TEXT, fit(line, self.dialect.service_text_bytes))  # C doc p.8: up to 40
            self._ask(Command.CLOSE_SERVICE_RECEIPT)
            return self._last_document().number

    def cash_in_out(self, amount: int) -> CashState:
        """Deposit (positive) or withdraw (negative) cash; 0 only reads the drawer (C doc p.19, P doc p.23, Daisy doc p.25)."""
        answer = self._ask(Command.CASH_IN_OUT, money(amount) if amount else "")
        parts = answer.split(",")
        if len(parts) != 4 or parts[0] not in ("P", "F"):
            raise GarbledAnswer(f"unexpected cash answer {answer!r}")
        drawer, deposited, withdrawn = (self._amount(p, "cash answer") for p in parts[1:])
        return CashState(accepted=parts[0] == "P", cash_in_drawer=drawer, deposited=deposited, withdrawn=withdrawn)

    def read_clock(self) -> datetime:
        try:
            return parse_clock(self._ask(Command.READ_CLOCK))
        except FieldError as exc:
            raise GarbledAnswer(str(exc)) from exc

    def set_clock(self, moment: datetime) -> None:
        self._ask(Command.SET_CLOCK, format_clock(moment))

    def receipt_total(self) -> int:
        """The open receipt's subtotal: the first field of the 33h answer, before its sums per tax group."""
        parts = self._ask(Command.SUBTOTAL, "00").split(",")
        if len(parts) != 1 + len(self.dialect.tax_groups):
            raise GarbledAnswer(f"unexpected subtotal answer {','.join(parts)!r}")
        return self._amount(parts[0], "subtotal")

    # -- receipt steps ---------------------------------------------------------------------

    def _storno_of(self, job: FiscalJob) -> StornoOf | None:
        """What the storno of a refund names, checked before anything is sent; None for a sale.

        Every family's storno names the original's document number (1-9999999, C doc p.10), its date-time and
        its fiscal memory number (8 digits, C doc p.10); P and Daisy also its whole UNP (P doc p.16 StUNP;
        Daisy doc p.13 UnicSaleNum), C where it had one (C doc p.10). A refund may not exceed the original's
        total (what is refundable, ``OriginalReceipt.total``).
        """
        if not job.is_refund:
            return None
        if job.original is None:
            raise InvalidJob("a refund needs a storno receipt that names the original receipt; the job does not carry it")
        fiscal = job.original.fiscal
        number = fiscal.fiscal_number.strip()
        if not number.isdigit() or not 1 <= int(number) <= 9_999_999:
            raise InvalidJob(f"a storno names the original's document number (1-9999999), not {fiscal.fiscal_number!r}")
        memory = fiscal.fiscal_memory_number or ""
        if not (memory.isdigit() and len(memory) == 8):
            raise InvalidJob(f"a storno names the original's 8-digit fiscal memory number, not {memory!r}")
        if fiscal.unique_sale_number is None and self.dialect.storno_needs_original_unp:
            raise InvalidJob(f"a {self.dialect.family} storno names the original's unique sale number; the original has none")
        if job.total > job.original.total:
            raise InvalidJob(f"the refund ({money(job.total)}) exceeds the original receipt ({money(job.original.total)})")
        return StornoOf(number=int(number), printed_at=datetime.fromtimestamp(fiscal.printed_at, UTC), fiscal_memory=memory,
                        unp=fiscal.unique_sale_number)

    def _payments(self, job: FiscalJob) -> tuple[Payment, ...]:
        """One 35h per payment, in the job's order (C doc p.13, P doc p.19, Daisy doc p.17).

        A printer prints change only when a payment exceeds what is still due (35h answers R with the change),
        so the cash handed over beyond the cash payments (tendered − amount) goes with the last cash payment that
        carries a tendered amount, sent last; every other payment is its amount. A Daisy storno is paid back in
        cash only (Daisy doc p.18, note 3).
        """
        tender = job.tender
        if job.is_refund and self.dialect.storno_cash_only and any(p.type is not PaymentType.CASH for p in tender):
            raise InvalidJob(f"a {self.dialect.family} storno is paid back in cash only; the refund names other payments")
        codes = self.dialect.payment_codes
        change = sum(p.tendered - p.amount for p in tender if p.tendered is not None)
        if not change:
            return tuple(Payment(codes[p.type], p.amount) for p in tender)
        giver = max(i for i, p in enumerate(tender) if p.tendered is not None)
        rest = [Payment(codes[p.type], p.amount) for i, p in enumerate(tender) if i != giver]
        return (*rest, Payment(codes[tender[giver].type], tender[giver].amount + change))

    def _sale_lines(self, job: FiscalJob) -> list[str]:
        """The sale commands' data, checked before anything is sent: line count, VAT groups, texts cut to the device's width."""
        limit = self.dialect.max_sales
        if limit is not None and len(job.lines) > limit:
            raise InvalidJob(f"{self.dialect.family} takes at most {limit} sales per receipt, the job has {len(job.lines)}")
        rates = self._tax_rates()
        lines = []
        for line in job.lines:
            group = rates.get(line.vat_rate)  # Decimals that are equal hash alike: 20, 20.0 and 20.00 find one key
            if group is None:
                raise InvalidJob(f"the printer has no tax group for VAT {line.vat_rate}%")
            text = fit(line.name.replace("\t", " ").replace("\n", " "), self.dialect.item_text_bytes)
            data = f"{text}\t{group}{money(line.unit_price)}*{quantity(line.quantity)}"
            adjustment = line.amount - line_amount(line.unit_price, line.quantity)
            if line.discount and adjustment != -line.discount:
                raise InvalidJob(f"line {line.name!r}: its amount is not quantity × unit price − discount")
            if adjustment:
                data += f"{self.dialect.absolute_adjustment}{money(adjustment)}"
            lines.append(data)
        return lines

    def _fill_and_pay(self, job: FiscalJob, sales: list[str], payments: tuple[Payment, ...]) -> None:
        for data in sales:
            self._ask(Command.SALE, data)
        self._fiscal_text(f"SALE ID {job.job_id}")
        if job.buyer_tax_id is not None:
            # 39h, the buyer's data, is for invoices only (P doc p.21, Daisy doc p.19; C doc p.15 runs it after the
            # payment of an invoice opened with "I", C doc p.10), and no invoice range is set: a fiscal text line instead.
            self._fiscal_text(f"BUYER TAX ID {job.buyer_tax_id}")
        total = self.receipt_total()
        if total != job.total:
            raise InvalidJob(f"the printer totals {money(total)}, the job {money(job.total)}")
        self._pay(payments)

    def _fiscal_text(self, text: str) -> None:
        """36h, cut into lines of the family's width (C doc p.15, P doc p.20, Daisy doc p.18)."""
        width = self.dialect.fiscal_text_bytes
        for start in range(0, len(text), width):
            self._ask(Command.FISCAL_TEXT, text[start : start + width])

    def _pay(self, payments: Sequence[Payment]) -> None:
        """The payments in order; the receipt is paid once the last one is, never before."""
        for index, payment in enumerate(payments):
            answer = self._ask(Command.TOTAL, f"\t{payment.code}{money(payment.amount)}")
            if (self._still_due(answer) == 0) != (index == len(payments) - 1):
                raise DeviceRefused(f"payment {index + 1} of {len(payments)} not taken as planned: {answer!r}")

    def _still_due(self, answer: str) -> int:
        """What a 35h answer leaves to pay: R (change) nothing, D what is due (C doc p.13, P doc p.20). Daisy
        answers D also for an exact payment (Daisy doc p.18: D when paid <= total), so D with 0 due is paid too.
        Any other answer refused the payment."""
        if answer[:1] == "R":
            return 0
        if answer[:1] != "D":
            raise DeviceRefused(f"payment not accepted: {answer!r}")
        return self._amount(answer[1:], "payment answer")

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
            settled = self._settle_open_receipt()
        except DeviceError as again:
            return ReceiptInterrupted(f"{exc}; then {again}")
        return ReceiptInterrupted(f"{exc}; the paid receipt was then closed") if settled == "closed" else exc

    def _settle_open_receipt(self) -> str | None:
        return self._settle(self._last_document().state)

    def _settle(self, state: DeviceState) -> str | None:
        """Finish whatever receipt is open: close it if fully paid, pay the rest as planned and close it if its
        payment had started, else cancel it ("closed", "cancelled" or None).

        4Ch tells what is due and paid on the open receipt (C doc p.20, P doc p.25, Daisy doc p.26). A Datecs
        receipt can only be cancelled before its first payment (C doc p.16, P doc p.22), so a receipt a crash
        left part paid is finished with the planned payments not yet made: the one receipt the job planned,
        printed once, with its own payments.
        """
        if not state.fiscal_receipt_open:
            if state.service_receipt_open:
                self._ask(Command.CLOSE_SERVICE_RECEIPT)
            return None
        total, paid = self._transaction()
        if paid >= total > 0:
            self._ask(Command.CLOSE_FISCAL_RECEIPT)
            return "closed"
        latest = self.book.latest(self._identity())
        ours = latest is not None and latest.printed_at is None  # the open receipt is the latest plan's
        if ours and paid > 0 and total == latest.total:
            remaining = _unpaid(latest.payments, paid)
            if remaining:
                self._pay(remaining)
                self._ask(Command.CLOSE_FISCAL_RECEIPT)
                return "closed"
        if ours:
            self.book.mark_cancelling(latest.device, latest.seq)
        self._ask(self.dialect.cancel_command)
        return "cancelled"

    def _transaction(self) -> tuple[int, int]:
        """4Ch T: the open receipt's total and what is paid on it. Datecs answers Open,Items,Amount[,Tender] with
        Tender the sum paid (C doc p.20, P doc p.25); Daisy Open,Items,Amount[,Tender,Remainder] with Tender the
        last payment and Remainder what is left (Daisy doc p.26)."""
        parts = self._ask(Command.TRANSACTION_STATUS, "T").split(",")
        if len(parts) < 3:
            raise GarbledAnswer(f"unexpected transaction status {','.join(parts)!r}")
        total = self._amount(parts[2], "transaction status")
        if self.dialect.remainder_in_transaction_status:
            paid = total - self._amount(parts[4], "transaction status") if len(parts) > 4 else 0
        else:
            paid = self._amount(parts[3], "transaction status") if len(parts) > 3 else 0
        return total, paid

    def _last_document(self) -> LastDocument:
        """71h: the last document's number (C doc p.27, P doc p.35, Daisy doc p.38), with the status every answer carries."""
        answer = self._exchange(Command.LAST_DOCUMENT_NUMBER, "")
        return LastDocument(self._int(answer.text, "last document number"), answer.state)

    def _record(self, plan: SalePlan, completed: datetime | bool) -> FiscalRecord:
        """The receipt's record, kept in the book: its date-time from the device (its own, else the clock now)."""
        moment = completed if isinstance(completed, datetime) else self.read_clock()
        self._identity()
        printed = self.book.printed(plan, int(moment.timestamp()), self._fiscal_memory or "")
        return self._fiscal_record(printed, int(moment.timestamp()))

    def _fiscal_record(self, plan: SalePlan, printed_at: int) -> FiscalRecord:
        return FiscalRecord(device=f"{self.manufacturer}:{plan.device}", fiscal_number=f"{plan.document_number:07d}",
                            printed_at=printed_at, fiscal_memory_number=plan.fiscal_memory or None, unique_sale_number=plan.unp or None)

    def _daily_report(self, kind: str) -> DeviceReport:
        """45h: '0' Z, '2' X (C doc p.18, P doc p.23, Daisy doc p.23).

        A Z is never reported failed once the printer may have made it: a retry would print a second one.
        If its answer cannot be read, or the link fails while the printer makes it, the last fiscal record
        (40h) says whether a new closure exists; its number is the report's.
        """
        with self.link.lock:
            before = self._last_closure() if kind == "Z" else None
            try:
                answer = self._ask(Command.DAILY_REPORT, self._report_data(kind))
            except (DeviceUnreachable, DeviceBusy) as exc:
                after = self._last_closure() if kind == "Z" else None
                if after is None or before is None or after <= before:
                    raise
                return self._unread_z(after, exc)
            try:
                closure, totals = self._report_fields(answer)
            except GarbledAnswer as exc:
                if kind != "Z":
                    raise
                return self._unread_z(self._last_closure(), exc)
        groups = self.dialect.tax_groups
        text = [f"{'Z REPORT' if kind == 'Z' else 'X REPORT'} {closure:04d}"]
        text += [f"{group} {money(total)}" for group, total in zip(groups, totals, strict=False) if total]
        text.append(f"TOTAL {money(sum(totals))}")
        return DeviceReport(kind="Z" if kind == "Z" else "X", number=closure if kind == "Z" else None, amount_cents=sum(totals), full_text="\n".join(text))

    @staticmethod
    def _report_data(kind: str) -> str:
        return "0" if kind == "Z" else "2"

    @staticmethod
    def _unread_z(number: int | None, why: Exception) -> DeviceReport:
        text = f"Z REPORT {number:04d}" if number else "Z REPORT"
        return DeviceReport(kind="Z", number=number, amount_cents=0, full_text=f"{text}\n(the printer's answer could not be read: {why})")

    def _report_fields(self, answer: str) -> tuple[int, list[int]]:
        """Closure and the sales per tax group. Datecs: Closure,FM_Total,TotA..TotH (C doc p.18, P doc p.23);
        Daisy: Closure,Tax1..Tax8,StTax1..StTax8 (Daisy doc pp.23-24)."""
        parts = answer.split(",")
        if len(parts) != 1 + self.dialect.report_totals:
            raise GarbledAnswer(f"unexpected daily report answer {answer!r}")
        groups = len(self.dialect.tax_groups)
        sales = parts[-groups:] if self.dialect.report_totals == groups + 1 else parts[1 : 1 + groups]
        return self._int(parts[0], "closure number"), [self._amount(p, "daily report") for p in sales]

    def _last_closure(self) -> int | None:
        """40h: the last fiscal record's number, the first field after an optional P/F code (C doc p.17, P doc p.22,
        Daisy doc p.21); None when the printer cannot say."""
        try:
            parts = self._ask(Command.LAST_FISCAL_RECORD).split(",")
        except DeviceError:
            return None
        if parts[0] in ("P", "F"):
            parts = parts[1:] if parts[0] == "P" else []
        return int(parts[0]) if parts and parts[0].strip().isdigit() else None

    # -- identity ----------------------------------------------------------------------------

    def _identity(self) -> str:
        """5Ah: the serial number is the second-to-last field and the fiscal memory number the last.

        The C document gives both orders (C doc p.22: the answer line says FM,Ser, the field list Ser,FM);
        the P (p.29) and Daisy (p.28) documents say Ser,FM, and so does ErpNet.FP for all three
        (BgDatecsCIslFiscalPrinterDriver.cs, BgDaisyIslFiscalPrinterDriver.cs: serial [4], FM [5]).
        """
        if self._serial is None:
            parts = self._ask(Command.DIAGNOSTIC_INFO, "1").split(",")
            if len(parts) < 5 or not parts[-2]:
                raise GarbledAnswer(f"unexpected diagnostic answer {','.join(parts)!r}")
            self._serial, self._fiscal_memory = parts[-2].strip(), parts[-1].strip()
        return self._serial

    def _tax_rates(self) -> dict[Decimal, str]:
        """61h: one rate per group in the family's letters (C doc p.23, P doc p.30, Daisy doc p.30); 'DT' or a
        negative rate marks a disabled group (C doc p.11, Daisy doc p.30)."""
        if self._rates is None:
            parts = self._ask(Command.TAX_RATES).split(",")
            rates: dict[Decimal, str] = {}
            for group, text in zip(self.dialect.tax_groups, parts, strict=False):
                text = text.strip().rstrip("%")
                if text == "DT":
                    continue
                try:
                    rate = Decimal(text).normalize()
                except ArithmeticError as exc:
                    raise GarbledAnswer(f"unexpected tax rate {text!r}") from exc
                if not rate.is_finite():  # "NaN" parses, and then cannot be compared
                    raise GarbledAnswer(f"unexpected tax rate {text!r}")
                if rate >= 0:
                    rates.setdefault(rate, group)
            self._rates = rates
        return self._rates

    # -- exchange ------------------------------------------------------------------------------

    def _ask(self, cmd: int, data: str = "") -> str:
        return self._exchange(cmd, data).text

    def _exchange(self, cmd: int, data: str) -> Answer:
        """One command; a refusal or link failure becomes a typed DeviceError."""
        answer = self._transfer(cmd, data)
        refused = refusal(cmd, data, answer.state, self._is_query(cmd, data))
        if refused is not None:
            raise refused
        return answer

    def _transfer(self, cmd: int, data: str) -> Answer:
        """One command and its answer with the status decoded; a link failure becomes a typed DeviceError."""
        try:
            response = self.link.request(cmd, encode_text(data))
        except NoAnswer as exc:
            raise DeviceSilent(str(exc)) from exc
        except BusyTooLong as exc:
            raise DeviceBusy(str(exc)) from exc
        except (CorruptAnswer, MalformedFrame) as exc:
            raise GarbledAnswer(str(exc)) from exc
        except LinkError as exc:
            raise DeviceUnreachable(str(exc)) from exc
        try:
            state = decode(response.status, self.dialect.status)
        except IndexError as exc:
            raise GarbledAnswer(f"status bytes {response.status.hex()} are not the documented six") from exc
        return Answer(decode_text(response.data), state)

    def _is_query(self, cmd: int, data: str) -> bool:
        """Whether the command only reads, so that paper out or the general-error bit in its answer is state, not refusal."""
        return _is_query(cmd, data)

    def _amount(self, text: str, what: str) -> int:
        try:
            return parse_amount(text)
        except FieldError as exc:
            raise GarbledAnswer(f"unexpected {what}: {exc}") from exc

    @staticmethod
    def _int(text: str, what: str) -> int:
        if not text.strip().isdigit():
            raise GarbledAnswer(f"unexpected {what} {text!r}")
        return int(text)


def _unpaid(payments: list[Payment], paid: int) -> list[Payment]:
    """The planned payments after those that make up ``paid``; none when ``paid`` is no sum of the first ones."""
    done = 0
    for index, payment in enumerate(payments):
        if done == paid:
            return payments[index:]
        done += payment.amount
    return []


def fit(text: str, limit: int) -> str:
    """Text cut to ``limit`` bytes of the printer's code page (one byte per letter, so no letter is split)."""
    return decode_text(encode_text(text)[:limit])


# Commands that print nothing and change nothing: their answers carry the printer's state, paper or not.
_QUERIES = frozenset(
    {
        Command.STATUS,
        Command.TRANSACTION_STATUS,
        Command.LAST_DOCUMENT_NUMBER,
        Command.LAST_FISCAL_RECORD,
        Command.READ_CLOCK,
        Command.DIAGNOSTIC_INFO,
        Command.TAX_RATES,
        Command.READ_DOCUMENT,
    }
)


def _is_query(cmd: int, data: str) -> bool:
    """30h without data (P doc p.17) and 46h without an amount (Daisy doc p.25) only read."""
    return cmd in _QUERIES or (not data and cmd in (Command.OPEN_FISCAL_RECEIPT, Command.CASH_IN_OUT))


def refusal(cmd: int, data: str, state: DeviceState, query: bool) -> DeviceError | None:
    """The typed error for an answer whose status says the command was refused, or None if it was carried out.

    The general-error bit is the OR of the '#' bits (C doc p.3, P doc p.4, Daisy doc p.4), paper out among
    them: on a command that reads it only reports the printer's state; on any other command, with or
    without data, paper out alone means the command was refused and changed nothing (C doc p.3 2.0).
    ErpNet.FP likewise fails a command on any error bit, the general error (E199) among them
    (BgDatecsCIslFiscalPrinter.Commands.cs and BgDaisyIslFiscalPrinter.Commands.cs status tables).
    """
    refused = (
        state.syntax_error
        or state.invalid_command
        or state.not_allowed
        or state.overflow
        or state.wrong_password
        or state.error_code != 0
        or (not query and (state.paper_out or state.general_error or state.printer_fault))
    )
    if not refused:
        return None
    what = f"command {cmd:02X}h"
    if state.syntax_error:
        return InvalidJob(f"the printer found a syntax error in {what} {data!r}")
    if state.invalid_command:
        return DeviceRefused(f"the printer does not know {what}")
    if state.paper_out and not query:
        return PaperOut(f"out of paper ({what} refused)")
    if state.wrong_password:
        return WrongPassword(f"the printer refused the operator password ({what})")
    for flag, error, reason in (
        (state.cover_open, CoverOpen, "the cover is open"),
        (state.printer_fault, PrinterFault, "the printing unit reports a fault"),
        (state.fiscal_memory_full, FiscalMemoryFull, "the fiscal memory is full"),
        (state.fiscal_memory_error, FiscalMemoryError, "the fiscal memory reports an error"),
        (state.journal_full, JournalFull, "the electronic journal is full"),
        (state.clock_not_set, ClockNotSet, "the clock is not set"),
    ):
        if flag:
            return error(f"the printer refused {what}: {reason}")
    if state.error_code:
        return DeviceRefused(f"the printer refused {what} with error code {state.error_code}")
    return DeviceRefused(f"the printer refused {what}: {'overflow' if state.overflow else 'not allowed now'}")


def transport_for(device: FiscalDeviceConfig, dialect: Dialect) -> Transport:
    connection = device.connection
    if connection is None or connection.type not in dialect.connections:
        raise UnsupportedDevice(f"{dialect.manufacturer} {device.model} needs a connection of type {' or '.join(dialect.connections)}")
    if isinstance(connection, SerialConnection):
        return SerialTransport(connection.port, connection.baud_rate)
    assert isinstance(connection, TcpConnection)
    return TcpTransport(connection.host, connection.port, device.timeouts.answer_seconds * 4)


def open_isl(device: FiscalDeviceConfig, state_dir: Path, dialect: Dialect, driver: type[IslDriver]) -> IslDriver:
    timeouts = device.timeouts
    operator, password = dialect.credentials(device.operator, device.operator_password)
    transport = transport_for(device, dialect)
    link = IslLink(transport, answer_timeout=timeouts.answer_seconds, busy_timeout=timeouts.busy_seconds, retries=timeouts.retries,
                   framing=dialect.framing)
    return driver(link, open_book(state_dir), dialect, device.model, device.name, operator, password)
