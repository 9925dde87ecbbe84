"""Datecs fiscal printers on the X protocol (FP-700X, FMP-350X, FMP-55X, WP-500X, WP-50X, DP-25X, DP-150X):
the X dialect and driver.

X doc = bg.isl.dt.x.protocol-v2.02-en. The frame is ISL's with four-byte LEN and CMD and eight status bytes
(``frame_x``); every parameter ends with a TAB (p.5), and every answer starts with an error code: 0 when the
command passed, a negative number when it failed (p.5, p.26). Many commands share their code with the C and P
families (30h, 31h, 35h, 38h, 3Ch, 45h, 46h, 4Ah, 4Ch...) but not their fields; the storno is 2Bh (p.7), the
VAT rates 32h (p.10), and there is no 71h: the number of the last document is the device variable ``nBon``
(FFh, p.44). ErpNet.FP's BgDatecsXIslFiscalPrinter*.cs is the second reading, cited where it decides something.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from enum import IntEnum
from pathlib import Path

from chalicelib.contracts import FiscalJob, PaymentType
from edge.config import FiscalDeviceConfig
from edge.drivers.base import DeviceError, InvalidJob
from edge.drivers.isl.commands import (
    Command,
    FieldError,
    format_clock,
    line_amount,
    money,
    parse_clock,
)
from edge.drivers.isl.dialect import Dialect, StornoOf
from edge.drivers.isl.driver import (
    Answer,
    CashState,
    DeviceRefused,
    GarbledAnswer,
    IslDriver,
    LastDocument,
    fit,
    open_isl,
    refusal,
)
from edge.drivers.isl.frame_x import X_FRAMING
from edge.drivers.isl.sales import Payment, SalePlan
from edge.drivers.isl.status import DATECS_X_STATUS

SEP = "\t"  # X doc p.5: <SEP> after every parameter


class XCommand(IntEnum):
    """The X codes the C/P command table lacks or uses for something else."""

    OPEN_STORNO = 0x2B  # X doc p.7
    VAT_RATES = 0x32  # X doc p.10
    PROGRAMMING = 0xFF  # X doc p.39: read or write a device variable


def _open(operator: int, password: str, unp: str) -> str:
    """X doc p.9, 30h syntax 2: {OpCode}{OpPwd}{NSale}{TillNmb}{Invoice}; Invoice empty opens a fiscal receipt."""
    return f"{operator}\t{password}\t{unp}\t1\t\t"


def _storno(operator: int, password: str, unp: str, original: StornoOf) -> tuple[int, str]:
    """X doc p.7, 2Bh: {OpCode}{OpPwd}{TillNmb}{Storno}{DocNum}{DateTime}{FMNumber}{Invoice}{ToInvoice}{Reason}{NSale}:
    Storno 1 a refund, DocNum the original's global number, DateTime "DD-MM-YY hh:mm:ss", NSale the original's UNP
    (required unless the cashier, not a PC program, printed it, p.8); Invoice, ToInvoice and Reason empty (no invoice).
    ErpNet.FP (BgDatecsXIslFiscalPrinter.Commands.cs OpenReversalReceipt) sends the same eleven fields."""
    return XCommand.OPEN_STORNO, (
        f"{operator}\t{password}\t1\t1\t{original.number}\t{original.printed_at:%d-%m-%y %H:%M:%S}\t{original.fiscal_memory}"
        f"\t\t\t\t{original.unp or ''}\t"
    )


DATECS_X = Dialect(
    family="Datecs X",
    manufacturer="DATECS",
    # X doc p.1; "DP25 MX" and "FP700" as seed 000 names them (the MX/X generation of DP-25 and FP-700).
    models=("DP25 MX", "FP700", "FP700X", "FMP350X", "FMP55X", "WP500X", "WP50X", "DP25X", "DP150X"),
    connections=("serial", "tcp"),  # X doc p.3: RS232, USB or LAN
    default_port=3999,
    tax_groups="12345678",  # X doc p.9: TaxCd '1'..'8' for groups A..H
    # X doc p.11: 0 cash, 1 credit card, 2 debit card (a pinpad payment when one is connected), 3-5 other. ErpNet.FP
    # (BgDatecsXIslFiscalPrinter.Commands.cs) sends card as 1 unless a pinpad is in use, and a check as 3.
    payment_codes={PaymentType.CASH: "0", PaymentType.CARD: "1", PaymentType.OTHER: "3"},
    cancel_command=Command.CANCEL_FISCAL_RECEIPT,  # X doc p.15: 3Ch
    open_receipt=_open,
    open_storno=_storno,
    storno_unp_is_own=False,  # X doc p.8: NSale names the original's UNP
    storno_needs_original_unp=True,  # X doc p.8: the bridge is a PC program, so the original carries one
    storno_cash_only=False,  # X doc p.11: 35h names no payment a storno refuses
    remainder_in_transaction_status=False,  # X doc p.21: 4Ch answers Amount and Payed
    absolute_adjustment=SEP,  # X doc p.10: DiscountType and DiscountValue are fields of their own
    operators=range(1, 31),  # X doc p.9
    password_digits=(1, 8),  # X doc p.9
    # The X doc does not give factory passwords; ErpNet.FP (BgDatecsXIslFiscalPrinter.cs GetDefaultOptions): "0000".
    default_password=lambda operator: "0000",
    item_text_bytes=72,  # X doc p.9: PluName up to 72 characters
    # X doc p.7 and p.12: PrintColumns-2; the narrowest X model, FMP-55X, prints 32 columns (ErpNet.FP
    # BgDatecsXIslFiscalPrinterDriver.cs GetPrintColumnsOfModel), so every X model takes 30.
    fiscal_text_bytes=30,
    service_text_bytes=30,
    max_sales=None,  # the X doc sets no limit per receipt
    report_totals=16,  # X doc p.19: nRep, TotA..TotH, StorA..StorH
    status=DATECS_X_STATUS,
    framing=X_FRAMING,
)

_ERROR_CODE = re.compile(r"-?\d{1,9}")
_X_CLOCK = re.compile(r"(\d\d-\d\d-\d\d \d\d:\d\d:\d\d)(?: DST)?")
# X doc p.9, NSale: "LLDDDDDD-CCCC-DDDDDDD"
_UNP_SEQ = re.compile(r"[A-Z]{2}\d{6}-[0-9A-Za-z]{4}-(\d{7})")
_QUERIES = frozenset({Command.STATUS, Command.TRANSACTION_STATUS, Command.READ_CLOCK, Command.DIAGNOSTIC_INFO,
                      Command.LAST_FISCAL_RECORD, Command.READ_DOCUMENT, XCommand.VAT_RATES})
_THOUSANDTH = Decimal("0.001")


class DatecsXDriver(IslDriver):
    """The ISL driver's receipt, reports, cash and reconciliation, with the X doc's fields.

    After a crash the EJ decides (7Dh option 0, p.35-36): the document after the plan's last one must be a fiscal
    receipt (type 1), or a storno receipt (type 6) for a refund, and its date-time is the receipt's. For a sale the
    device variable ``UNP``, the last printed unique sale number (FFh, p.44), must be the plan's first; a storno
    carries the original's UNP, so only the EJ can tell it.
    """

    # -- the exchange: every answer starts with an error code ----------------------------------------

    def _exchange(self, cmd: int, data: str) -> Answer:
        """X doc p.5: "{ErrorCode}<SEP>..." on every answer, 0 when the command passed; a failure is a negative code
        (explained by 64h, p.26). A syntax error or an unknown command answers no data, with its status bit (p.4)."""
        answer = self._transfer(cmd, data)
        code, _, rest = answer.text.partition(SEP)
        refused = refusal(cmd, data, answer.state, self._is_query(cmd, data))
        if refused is not None:
            raise type(refused)(f"{refused} (error code {code})") if code not in ("", "0") else refused
        if not _ERROR_CODE.fullmatch(code):
            raise GarbledAnswer(f"answer to command {cmd:02X}h does not start with an error code: {answer.text!r}")
        if code != "0":
            raise DeviceRefused(f"the printer refused command {cmd:02X}h with error code {code}")
        return Answer(rest, answer.state)

    def _fields(self, cmd: int, data: str, count: int) -> list[str]:
        """The answer's fields after the error code (each closed by a TAB), at least ``count`` of them."""
        fields = self._ask(cmd, data).split(SEP)
        if fields and fields[-1] == "":
            fields.pop()
        if len(fields) < count:
            raise GarbledAnswer(f"command {cmd:02X}h answered {len(fields)} field(s), not {count}: {fields!r}")
        return fields

    def _is_query(self, cmd: int, data: str) -> bool:
        """Reads: status, clock, diagnostics, rates, EJ, a variable read (FFh with no value, p.45), 46h of 0 (p.19)."""
        if cmd in _QUERIES:
            return True
        parts = data.split(SEP)
        if cmd == XCommand.PROGRAMMING:
            return len(parts) > 2 and parts[2] == ""
        return cmd == Command.CASH_IN_OUT and len(parts) > 1 and parts[1] in ("", "0", "0.00")

    def _variable(self, name: str) -> str:
        """FFh {Name}<SEP>{Index}<SEP>{Value}<SEP> with Value empty reads it (X doc p.45)."""
        return self._fields(XCommand.PROGRAMMING, f"{name}\t\t\t", 1)[0].strip()

    # -- identity, rates, counters -------------------------------------------------------------

    def _identity(self) -> str:
        """5Ah "1": Name, FwRev, FwDate, FwTime, Checksum, Sw, SerialNumber, FMNumber (X doc p.24)."""
        if self._serial is None:
            fields = self._fields(Command.DIAGNOSTIC_INFO, "1\t", 8)
            if not fields[-2].strip():
                raise GarbledAnswer(f"unexpected diagnostic answer {fields!r}")
            self._serial, self._fiscal_memory = fields[-2].strip(), fields[-1].strip()
        return self._serial

    def _tax_rates(self) -> dict[Decimal, str]:
        """32h: nZreport, TaxA..TaxH, EntDate; 100.00 marks a disabled group (X doc p.10)."""
        if self._rates is None:
            fields = self._fields(XCommand.VAT_RATES, "", 9)
            rates: dict[Decimal, str] = {}
            for code, text in zip(self.dialect.tax_groups, fields[1:9], strict=True):
                try:
                    rate = Decimal(text.strip().rstrip("%")).normalize()
                except ArithmeticError as exc:
                    raise GarbledAnswer(f"unexpected tax rate {text!r}") from exc
                if not rate.is_finite():
                    raise GarbledAnswer(f"unexpected tax rate {text!r}")
                if 0 <= rate < 100:
                    rates.setdefault(rate, code)
            self._rates = rates
        return self._rates

    def _last_document(self) -> LastDocument:
        """The variable nBon, the global number of receipts (X doc p.44): the X doc has no 71h."""
        answer = self._exchange(XCommand.PROGRAMMING, "nBon\t\t\t")
        return LastDocument(self._int(answer.text.split(SEP)[0].strip(), "last document number"), answer.state)

    def _next_seq(self, serial: str) -> int:
        """After the device's last printed UNP (variable UNP, X doc p.44) when it is this operator's, and after the book's."""
        match = _UNP_SEQ.fullmatch(self._variable("UNP"))
        own = f"{serial}-{self._operator:04d}-"
        device = int(match[1]) if match and match[0].startswith(own) else 0
        return max(device, self.book.highest_seq(serial)) + 1

    # -- receipt ---------------------------------------------------------------------------------

    def _sale_lines(self, job: FiscalJob) -> list[str]:
        """31h: {PluName}{TaxCd}{Price}{Quantity}{DiscountType}{DiscountValue}{Department} (X doc p.9-10): a line's
        discount is type 4 (discount by sum) and its value, a surcharge type 3; department 0 is none."""
        rates = self._tax_rates()
        lines = []
        for line in job.lines:
            group = rates.get(line.vat_rate)
            if group is None:
                raise InvalidJob(f"the printer has no tax group for VAT {line.vat_rate}%")
            text = fit(line.name.replace(SEP, " ").replace("\n", " "), self.dialect.item_text_bytes) or "-"
            adjustment = line.amount - line_amount(line.unit_price, line.quantity)
            if line.discount and adjustment != -line.discount:
                raise InvalidJob(f"line {line.name!r}: its amount is not quantity × unit price − discount")
            kind, value = ("4", money(-adjustment)) if adjustment < 0 else ("3", money(adjustment)) if adjustment else ("0", "")
            qty = format(line.quantity.quantize(_THOUSANDTH), "f")  # X doc p.10: 3 decimals
            lines.append(f"{text}\t{group}\t{money(line.unit_price)}\t{qty}\t{kind}\t{value}\t0\t")
        return lines

    def _fiscal_text(self, text: str) -> None:
        """36h {Text}{Bold}{Italic}{DoubleH}{Underline}{alignment}, the flags empty (X doc p.12)."""
        width = self.dialect.fiscal_text_bytes
        text = text.replace(SEP, " ")
        for start in range(0, len(text), width):
            self._ask(Command.FISCAL_TEXT, f"{text[start : start + width]}\t\t\t\t\t\t")

    def receipt_total(self) -> int:
        """33h {Print}{Display}{DiscountType}{DiscountValue}: SlipNumber, Subtotal, TaxA..TaxH (X doc p.10-11)."""
        return self._amount(self._fields(Command.SUBTOTAL, "0\t0\t\t\t", 2)[1], "subtotal")

    def _pay(self, payments: Sequence[Payment]) -> None:
        """35h {PaidMode}{Amount}{Type}: Status D and what is due, or R and the change (X doc p.11-12)."""
        for index, payment in enumerate(payments):
            status, amount = self._fields(Command.TOTAL, f"{payment.code}\t{money(payment.amount)}\t\t", 2)[:2]
            if status not in ("D", "R"):
                raise DeviceRefused(f"payment not accepted: {status!r}")
            due = self._amount(amount, "payment answer") if status == "D" else 0
            if (due == 0) != (index == len(payments) - 1):
                raise DeviceRefused(f"payment {index + 1} of {len(payments)} not taken as planned: {status} {amount}")

    def _transaction(self) -> tuple[int, int]:
        """4Ch: IsOpen, Number, Items, Amount, Payed (X doc p.21)."""
        fields = self._fields(Command.TRANSACTION_STATUS, "", 5)
        return self._amount(fields[3], "transaction status"), self._amount(fields[4], "transaction status")

    def _completed(self, plan: SalePlan) -> datetime | bool:
        bounded = self._closed_before_next_plan(plan)
        if bounded is not None:
            return bounded
        if not plan.storno and self._variable("UNP") != plan.unp:
            return False
        kind = "6" if plan.storno else "1"  # X doc p.36: 1 fiscal receipt, 6 storno fiscal receipt
        number = plan.doc_before + 1
        try:
            fields = self._fields(Command.READ_DOCUMENT, f"0\t{number}\t{kind}\t", 5)
        except DeviceRefused:
            return False  # no such document of that type: the receipt was cancelled, or never opened
        if fields[0].strip() != str(number) or fields[3].strip() != kind:
            return False
        match = _X_CLOCK.fullmatch(fields[2].strip())
        try:
            return parse_clock(match[1]) if match else True
        except FieldError:
            return True

    # -- clock, cash, texts, reports ----------------------------------------------------------

    def read_clock(self) -> datetime:
        """3Eh: DateTime "DD-MM-YY hh:mm:ss DST" (X doc p.16); the bridge keeps the clock in UTC, without DST."""
        text = self._fields(Command.READ_CLOCK, "", 1)[0].strip()
        match = _X_CLOCK.fullmatch(text)
        try:
            return parse_clock(match[1] if match else text)
        except FieldError as exc:
            raise GarbledAnswer(str(exc)) from exc

    def set_clock(self, moment: datetime) -> None:
        self._ask(Command.SET_CLOCK, f"{format_clock(moment)}\t")  # X doc p.16

    def cash_in_out(self, amount: int) -> CashState:
        """46h {Type}{Amount}: 0 cash in, 1 cash out; an amount of 0 only answers CashSum, CashIn, CashOut (X doc p.19).
        A refused cash out (an error code) reads the drawer and reports it not accepted."""
        data = f"{'1' if amount < 0 else '0'}\t{money(abs(amount))}\t"
        try:
            fields = self._fields(Command.CASH_IN_OUT, data, 3)
        except DeviceRefused:
            if not amount:
                raise
            drawer = self.cash_in_out(0)
            return drawer.model_copy(update={"accepted": False})
        drawer, deposited, withdrawn = (self._amount(f, "cash answer") for f in fields[:3])
        return CashState(accepted=True, cash_in_drawer=drawer, deposited=deposited, withdrawn=withdrawn)

    def print_text(self, lines: list[str]) -> int:
        """26h, 2Ah {Text}{Bold}{Italic}{Hght}{Underline}{alignment} per line, 27h (X doc pp.6-7)."""
        with self.link.lock:
            self._ask(Command.OPEN_SERVICE_RECEIPT)
            for line in lines:
                self._ask(Command.SERVICE_TEXT, f"{fit(line.replace(SEP, ' '), self.dialect.service_text_bytes)}\t\t\t\t\t\t")
            self._ask(Command.CLOSE_SERVICE_RECEIPT)
            return self._last_document().number

    @staticmethod
    def _report_data(kind: str) -> str:
        return f"{kind}\t"  # X doc p.18: ReportType X or Z

    def _report_fields(self, answer: str) -> tuple[int, list[int]]:
        """45h: nRep, TotA..TotH, StorA..StorH (X doc p.19); the sales are TotA..TotH."""
        fields = answer.split(SEP)
        if fields and fields[-1] == "":
            fields.pop()
        if len(fields) != 1 + self.dialect.report_totals:
            raise GarbledAnswer(f"unexpected daily report answer {answer!r}")
        return self._int(fields[0].strip(), "closure number"), [self._amount(f, "daily report") for f in fields[1:9]]

    def _last_closure(self) -> int | None:
        """40h: nRep, SumA..SumH, Date of the last fiscal record (X doc p.17); None when the printer cannot say."""
        try:
            number = self._fields(Command.LAST_FISCAL_RECORD, "0\t", 1)[0].strip()
        except DeviceError:
            return None
        return int(number) if number.isdigit() else None


def open_datecs_x(device: FiscalDeviceConfig, state_dir: Path) -> IslDriver:
    return open_isl(device, state_dir, DATECS_X, DatecsXDriver)
