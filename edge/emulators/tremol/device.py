"""The emulated ZFP device: its state and the commands a till needs, each as the Tremol document describes it.

A refused command is answered with an acknowledgement whose two digits name the device's and the command's error
(p.7): ``Refused(device, command)``. Where the document does not say which digits a refusal carries, the choice
is written beside it.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from edge.emulators.tremol.journal import Document
from edge.emulators.tremol.wire import HostFrame, acknowledgement, message

ENCODING = "cp1251"  # p.6
VAT_CLASSES = "АБВГДЕЖЗ"  # p.47
MODELS = ("A19 Plus", "M20", "M23", "S21", "S25", "Tremol S")
PAYMENT_TYPES = 12  # p.53: payments 0-11, 0 in cash
# p.47: Price[*Quantity][,DiscAddP][:DiscAddV], up to 10, 10, 7 and 8 symbols.
_SALE = re.compile(r"([+-]?\d{1,7}(?:\.\d{1,2})?)(?:\*(\d{1,6}(?:\.\d{1,3})?))?(?:,([+-]?\d{1,3}(?:\.\d{1,2})?))?(?::([+-]?\d{1,5}(?:\.\d{1,2})?))?")
_UNP = re.compile(r"^([A-Za-z0-9]{8})-([A-Za-z0-9]{4})-([0-9]{7})$")  # p.39: NRA format


class Refused(Exception):
    """A command the device does not carry out: p.7's device error and command error digits."""

    def __init__(self, device: str, command: str) -> None:
        super().__init__(f"{device}{command}")
        self.device = device
        self.command = command


SYNTAX = Refused("0", "4")  # p.7: 34 Syntax error
ILLEGAL = Refused("0", "2")  # p.7: 32 Illegal command


@dataclass
class Faults:
    """Conditions a test or the bench sets: each shows in 20h's bits (pp.10-11) and refuses what it stops."""

    paper_out: bool = False  # ST1.0; refuses printing with device error 1 (p.7)
    paper_near_end: bool = False  # ST6.4
    fiscal_memory_near_full: bool = False  # ST3.3
    fiscal_memory_full: bool = False  # ST3.2; refuses a receipt or a Z with device error 2, registers overflow
    power_down: bool = False  # device error '=' once, until 20h is read (p.7 3d)


@dataclass
class Receipt:
    kind: str  # "fiscal", "storno", "service"
    unp: str = ""
    lines: list[str] = field(default_factory=list)
    by_class: dict[str, int] = field(default_factory=dict)
    sales: int = 0
    paid: list[tuple[str, int]] = field(default_factory=list)
    related: int | None = None
    refundable: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_class.values())

    @property
    def received(self) -> int:
        return sum(amount for _, amount in self.paid)


class TremolDevice:
    """One device; ``answer`` runs a host frame and returns the bytes to send back. ``lock`` guards the state."""

    def __init__(self, model: str = "M23", serial: str = "ZK000601", fiscal_memory: str = "50000601",
                 rates: tuple[str, ...] = ("0.00", "20.00", "20.00", "9.00", "0.00", "0.00", "0.00", "0.00")) -> None:
        if model not in MODELS:
            raise ValueError(f"unknown Tremol model {model!r} (known: {', '.join(MODELS)})")
        self.model = model
        self.serial = serial
        self.fiscal_memory = fiscal_memory
        self.rates = [Decimal(r) for r in rates]
        self.passwords = {number: "0000" for number in range(1, 21)}  # ErpNet.FP's defaults: operator 1, "0000"
        self.lock = threading.RLock()
        self.faults = Faults()
        self.journal: list[Document] = []
        self.counter = 0  # 71h: the last issued receipt's number (p.72)
        self.z_number = 0
        self.cash_on_hand = 0
        self.day_sales = [0] * 8
        self.day_storno = [0] * 8
        self.receipt: Receipt | None = None
        self.clock_offset = timedelta()

    def now(self) -> datetime:
        return (datetime.now(UTC) + self.clock_offset).replace(microsecond=0)

    # -- the byte side ----------------------------------------------------------------------------------------

    def answer(self, frame: HostFrame) -> tuple[bytes, bool]:
        """The reply to one frame and whether the command was carried out."""
        with self.lock:
            handler = _COMMANDS.get(frame.cmd)
            if handler is None:
                return acknowledgement(frame.nbl, "0", "1"), False  # p.7: 31 Invalid command
            try:
                if self.faults.power_down and frame.cmd != 0x20:
                    self.faults.power_down = False
                    raise Refused("=", "0")
                data = frame.data.decode(ENCODING, errors="replace")
                result = handler(self, data)
            except Refused as refused:
                return acknowledgement(frame.nbl, refused.device, refused.command), False
            if result is None:
                return acknowledgement(frame.nbl), True
            raw = result if isinstance(result, bytes) else result.encode(ENCODING, errors="replace")
            return message(frame.nbl, frame.cmd, raw), True

    # -- checks --------------------------------------------------------------------------------------------------

    def _operator(self, number: str, password: str) -> None:
        if not number.isdigit() or int(number) not in self.passwords:
            raise SYNTAX
        if self.passwords[int(number)] != password:
            raise Refused("9", "2")  # p.7: 39 Incorrect password

    def _printing(self) -> None:
        if self.faults.paper_out:
            raise Refused("1", "2")  # p.7: 31 Out of paper, printer failure

    def _no_receipt(self) -> None:
        if self.receipt is not None:
            raise Refused("6" if self.receipt.kind == "service" else "4", "2")  # p.7: 34 / 36 a receipt is open

    def _fiscal(self) -> Receipt:
        if self.receipt is None or self.receipt.kind == "service":
            raise ILLEGAL
        return self.receipt

    def _issue(self, kind: str, **values: object) -> Document:
        self.counter += 1
        document = Document(number=self.counter, kind=kind, at=self.now(), z_number=self.z_number + 1, **values)  # type: ignore[arg-type]
        self.journal.append(document)
        return document

    # -- general and reading commands -------------------------------------------------------------------------

    def status(self, data: str) -> bytes:
        """20h (pp.10-11): seven bytes, bit 7 set in each; reading it clears the power-down error (p.7 3d)."""
        f = self.faults
        bits = [0x80] * 7
        bits[1] |= 0x01 if f.paper_out else 0
        bits[2] |= (0x01 if self.receipt is not None and self.receipt.kind == "service" else 0)
        bits[2] |= (0x02 | 0x04 | 0x08) if self.receipt is not None and self.receipt.kind != "service" else 0
        bits[3] |= (0x04 if f.fiscal_memory_full else 0) | (0x08 if f.fiscal_memory_near_full else 0) | 0x10 | 0x20 | 0x40
        bits[6] |= 0x10 if f.paper_near_end else 0
        if any(self.day_sales) or any(self.day_storno):
            bits[1] |= 0x08  # ST1.3 daily report is not zeroed
        return bytes(bits)

    def numbers(self, data: str) -> str:
        return f"{self.serial};{self.fiscal_memory}"  # 60h, p.25

    def vat_rates(self, data: str) -> str:
        return ";".join(f"{rate:05.2f}%" for rate in self.rates)  # 62h, p.25: ##.##%

    def read_clock(self, data: str) -> str:
        return self.now().strftime("%d-%m-%Y %H:%M")  # 68h, p.30

    def set_clock(self, data: str) -> None:
        """48h, p.18: DD-MM-YY HH:MM:SS."""
        try:
            moment = datetime.strptime(data, "%d-%m-%y %H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            raise SYNTAX from None
        self._no_receipt()
        self.clock_offset = moment - datetime.now(UTC)

    def last_number(self, data: str) -> str:
        return f"{self.counter:06d}"  # 71h, p.72

    def daily_amounts(self, data: str) -> str:
        """6Dh, p.59: sales per class, their sum, stornos per class, their sum."""
        values = [*self.day_sales, sum(self.day_sales), *self.day_storno, sum(self.day_storno)]
        return ";".join(_money(v) for v in values)

    def last_daily_report(self, data: str) -> str:
        """73h, p.76."""
        z = next((d for d in reversed(self.journal) if d.kind == "z_report"), None)
        last = next((d for d in reversed(self.journal) if d.kind != "z_report"), None)
        kind = {"fiscal": "0", "storno": "4", "service": "2"}.get(last.kind if last else "", "0")
        z_date = z.at.strftime("%d-%m-%Y") if z else "00-00-0000"
        last_at = last.at.strftime("%d-%m-%Y %H:%M") if last else "00-00-0000 00:00"
        return f"{z_date};{self.z_number};0;{self.counter:06d};{last_at};1;{kind}"

    def receipt_info(self, data: str) -> str:
        """72h: no option, the current receipt (pp.72-73); 'P' its payments (p.73); 'B' the last receipt's QR data,
        'b;NNNNNN' a numbered one's (p.74), in the form ErpNet.FP reads: FM*number*YYYY-MM-DD*HH:MM:SS*amount."""
        if data == "":
            return self._current()
        if data == "P":  # the open receipt's payments, else the last receipt's ("valid after receipt closing also")
            open_receipt = self.receipt if self.receipt is not None and self.receipt.kind != "service" else None
            last = next((d for d in reversed(self.journal) if d.is_receipt), None)
            paid = open_receipt.paid if open_receipt else list(last.paid) if last else []
            amounts = [0] * PAYMENT_TYPES
            for code, amount in paid:
                amounts[int(code)] += amount
            return ";".join(["P", "1" if open_receipt else "0", *(_money(a) for a in amounts)])
        if data == "B":
            document = next((d for d in reversed(self.journal) if d.is_receipt), None)
        elif data.startswith("b;") and data[2:].isdigit() and len(data) == 8:
            document = next((d for d in self.journal if d.is_receipt and d.number == int(data[2:])), None)
        else:
            raise SYNTAX
        if document is None:
            raise ILLEGAL  # our choice: no such receipt is an illegal command (p.7 32)
        return f"{self.fiscal_memory}*{document.number:06d}*{document.at:%Y-%m-%d}*{document.at:%H:%M:%S}*{_money(document.total)}"

    def _current(self) -> str:
        r = self.receipt if self.receipt is not None and self.receipt.kind != "service" else None
        subtotals = [_money(r.by_class.get(c, 0)) if r else "0.00" for c in VAT_CLASSES]
        started = "1" if r and r.paid else "0"
        finished = "1" if r and r.paid and r.received >= r.total else "0"
        kind = "4" if r and r.kind == "storno" else "0"
        change = _money(max(0, r.received - r.total)) if r else "0.00"
        fields = ["1" if r else "0", f"{r.sales if r else 0:03d}", *subtotals[:3], "0", "1", "1", started, finished, "0", kind,
                  change, "0", *subtotals[3:], f"{self.counter + (1 if r else 0):06d}"]
        return ";".join(fields)

    # -- receipts ---------------------------------------------------------------------------------------------------

    def open_service(self, data: str) -> None:
        """2Eh, p.38: OperNum;OperPass[;0;NonFiscalPrintType]."""
        parts = data.split(";")
        if len(parts) not in (2, 4):
            raise SYNTAX
        self._operator(parts[0], parts[1])
        self._no_receipt()
        self._printing()
        self.receipt = Receipt("service")

    def close_service(self, data: str) -> None:
        """2Fh, p.38."""
        if self.receipt is None or self.receipt.kind != "service":
            raise ILLEGAL
        self._issue("service", lines=self.receipt.lines)
        self.receipt = None

    def open_receipt(self, data: str) -> None:
        """30h: a sale (p.39) OperNum;OperPass;Format;PrintVAT;PrintType[$UNP] or a storno (p.40)
        OperNum;OperPass;Format;PrintVAT;'@'|'B'|'D';Reason;RcpNum;"DD-MM-YY HH:MM:SS";FMNum[;URN]."""
        parts = data.split(";")
        if len(parts) < 5:
            raise SYNTAX
        self._operator(parts[0], parts[1])
        if parts[2] not in "01" or parts[3] not in "01" or not parts[2] or not parts[3]:
            raise SYNTAX
        self._no_receipt()
        self._printing()
        if self.faults.fiscal_memory_full:
            raise Refused("2", "2")  # p.7: 32 registers overflow; 20h shows ST3.2 FM full
        kind = parts[4][:1]
        if kind in ("0", "2", "4") and len(parts) == 5:
            unp = parts[4][2:] if parts[4][1:2] == "$" else ""
            if parts[4][1:] and (parts[4][1:2] != "$" or not _UNP.match(unp) or _UNP.match(unp).group(1) != self.serial):  # type: ignore[union-attr]
                raise SYNTAX
            self.receipt = Receipt("fiscal", unp=unp)
            return
        if kind in ("@", "B", "D") and len(parts[4]) == 1 and len(parts) in (9, 10):
            self.receipt = self._storno(parts[5:])
            return
        raise SYNTAX

    def _storno(self, fields: list[str]) -> Receipt:
        reason, number, moment, memory = fields[:4]
        urn = fields[4] if len(fields) > 4 else ""
        if reason not in ("0", "1", "2") or not number.isdigit() or len(number) > 6 or len(memory) != 8:
            raise SYNTAX
        try:
            at = datetime.strptime(moment, "%d-%m-%y %H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            raise SYNTAX from None
        if urn and not _UNP.match(urn):
            raise SYNTAX
        refundable = None
        if memory == self.fiscal_memory:
            # Our reading: a storno of this device's receipt must name one it issued, with its date-time (and URN);
            # else, and beyond what is left of it, "Unavailable transaction for correction" (p.7 37).
            original = next((d for d in self.journal if d.kind == "fiscal" and d.number == int(number)), None)
            if original is None or original.at != at or (urn and original.unp != urn):
                raise Refused("0", "7")
            refunded = sum(d.total for d in self.journal if d.kind == "storno" and d.related == original.number)
            refundable = original.total - refunded
        return Receipt("storno", unp=urn, related=int(number), refundable=refundable if refundable is not None else 10**12)

    def sell(self, data: str) -> None:
        """31h, p.47: NamePLU;VATClass;Price[*Quantity][,DiscAddP][:DiscAddV]."""
        receipt = self._fiscal()
        parts = data.split(";")
        if len(parts) != 3 or not parts[0] or len(parts[0]) > 36 or len(parts[1]) != 1:
            raise SYNTAX
        name, group, rest = parts
        if group not in VAT_CLASSES:
            raise SYNTAX if group != "*" else ILLEGAL
        if receipt.paid:
            raise Refused("7", "2")  # p.7: 37 payment registered, the receipt not closed; p.53: no more sales
        match = _SALE.fullmatch(rest)
        if match is None:
            raise SYNTAX
        price, qty_text, percent, value = match.groups()
        try:
            qty = Decimal(qty_text or "1")
            amount = (Decimal(price) * qty * 100).to_integral_value(rounding=ROUND_HALF_UP)
            if percent:
                amount += (amount * Decimal(percent) / 100).to_integral_value(rounding=ROUND_HALF_UP)
            if value:
                amount += Decimal(value) * 100
        except InvalidOperation:
            raise SYNTAX from None
        if Decimal(price) < 0:
            raise Refused("0", "7")  # a correction (p.47) of a sale this receipt does not hold: 37
        if qty <= 0 or amount < 0:
            raise Refused("0", "5")  # p.7: 35 input registers overflow (a discount above the line)
        cents = int(amount)
        if receipt.kind == "storno" and receipt.total + cents > receipt.refundable:
            raise Refused("0", "7")  # more than is left of the original: 37 unavailable transaction for correction
        self._printing()
        receipt.by_class[group] = receipt.by_class.get(group, 0) + cents
        receipt.sales += 1
        receipt.lines.append(f"{name} {group} {_money(cents)}")

    def subtotal(self, data: str) -> str:
        """33h, p.50: OptionPrinting;OptionDisplay; answers the subtotal. Discounts at the subtotal are refused here
        (our emulator does not model them): 34 syntax error."""
        receipt = self._fiscal()
        parts = data.split(";")
        if len(parts) != 2 or parts[0] not in ("0", "1") or parts[1] not in ("0", "1"):
            raise SYNTAX
        return _money(receipt.total)

    def payment(self, data: str) -> None:
        """35h, p.53: PaymentType;OptionChange;Amount[;OptionChangeType]; p.54 Amount '"' pays the exact sum due."""
        receipt = self._fiscal()
        parts = data.split(";")
        if len(parts) not in (3, 4) or not parts[0].isdigit() or not 0 <= int(parts[0]) < PAYMENT_TYPES or parts[1] not in ("0", "1"):
            raise SYNTAX
        if receipt.sales == 0:
            raise Refused("0", "6")  # p.7: 36 zero input registers
        if receipt.paid and receipt.received >= receipt.total:
            raise Refused("7", "2")  # paid already: 37, the receipt waits for 38h
        due = receipt.total - receipt.received
        if parts[2] == '"':
            amount = due
        else:
            try:
                amount = int(Decimal(parts[2]) * 100)
            except InvalidOperation:
                raise SYNTAX from None
            if amount <= 0:
                raise SYNTAX
        self._printing()
        receipt.paid.append((str(int(parts[0])), amount))

    def text(self, data: str) -> None:
        """37h, p.54: only in an open receipt."""
        if self.receipt is None:
            raise ILLEGAL
        if len(data) > 46:  # our limit: the widest (80 mm) models print 48-symbol lines, TextLength-2
            raise SYNTAX
        self._printing()
        self.receipt.lines.append(f"#{data}#")

    def close_receipt(self, data: str) -> None:
        """38h, p.54: only once the payments cover the total (p.53); else 35 payment residue (p.7)."""
        receipt = self._fiscal()
        if receipt.sales == 0:
            raise Refused("0", "6")  # p.7: 36 zero input registers
        if receipt.received < receipt.total or not receipt.paid:
            raise Refused("5", "2")  # p.7: 35 payment residue account
        change = receipt.received - receipt.total
        cash = sum(a for code, a in receipt.paid if code == "0") - change
        indices = [VAT_CLASSES.index(c) for c in receipt.by_class]
        for index, group in zip(indices, receipt.by_class, strict=True):
            (self.day_storno if receipt.kind == "storno" else self.day_sales)[index] += receipt.by_class[group]
        self.cash_on_hand += -cash if receipt.kind == "storno" else cash
        self._issue(receipt.kind, total=receipt.total, unp=receipt.unp, paid=tuple(receipt.paid), change=change,
                    lines=receipt.lines, related=receipt.related)
        self.receipt = None

    def cancel_receipt(self, data: str) -> None:
        """39h, p.55: voids every sale and closes the receipt; it is issued, as a voided one (total 0)."""
        receipt = self._fiscal()
        self._issue("void", unp=receipt.unp, lines=[*receipt.lines, "VOID"])
        self.receipt = None

    def cash_in_out(self, data: str) -> None:
        """3Bh, p.55: OperNum;OperPass;0;Amount[$PrintAvailability][;Text]; a payout above the cash on hand is refused
        with 38 insufficient amount on hand (p.7)."""
        parts = data.split(";")
        if len(parts) not in (4, 5) or parts[2] != "0":
            raise SYNTAX
        self._operator(parts[0], parts[1])
        self._no_receipt()
        amount_text = parts[3].split("$")[0]
        try:
            amount = int(Decimal(amount_text) * 100)
        except InvalidOperation:
            raise SYNTAX from None
        if amount == 0:
            raise Refused("0", "6")  # p.7: 36 zero input registers
        if self.cash_on_hand + amount < 0:
            raise Refused("0", "8")
        self._printing()
        self.cash_on_hand += amount
        self._issue("cash", total=amount)

    def daily_report(self, data: str) -> None:
        """7Ch, p.80: 'Z' with zeroing and a fiscal memory record, 'X' without."""
        if data not in ("X", "Z"):
            raise SYNTAX
        self._no_receipt()
        self._printing()
        if data == "Z":
            if self.faults.fiscal_memory_full:
                raise Refused("2", "2")
            self.z_number += 1
            self.journal.append(Document(number=self.z_number, kind="z_report", at=self.now(), total=sum(self.day_sales),
                                         z_number=self.z_number))
            self.day_sales, self.day_storno = [0] * 8, [0] * 8

    def receipts_by_unp(self) -> dict[str, list[Document]]:
        """The issued sale receipts per unique sale number."""
        with self.lock:
            found: dict[str, list[Document]] = {}
            for document in self.journal:
                if document.kind == "fiscal":
                    found.setdefault(document.unp, []).append(document)
            return found


def _money(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // 100}.{abs(minor) % 100:02d}"


_COMMANDS = {
    0x20: TremolDevice.status,
    0x2E: TremolDevice.open_service,
    0x2F: TremolDevice.close_service,
    0x30: TremolDevice.open_receipt,
    0x31: TremolDevice.sell,
    0x33: TremolDevice.subtotal,
    0x35: TremolDevice.payment,
    0x37: TremolDevice.text,
    0x38: TremolDevice.close_receipt,
    0x39: TremolDevice.cancel_receipt,
    0x3B: TremolDevice.cash_in_out,
    0x48: TremolDevice.set_clock,
    0x60: TremolDevice.numbers,
    0x62: TremolDevice.vat_rates,
    0x68: TremolDevice.read_clock,
    0x6D: TremolDevice.daily_amounts,
    0x71: TremolDevice.last_number,
    0x72: TremolDevice.receipt_info,
    0x73: TremolDevice.last_daily_report,
    0x7C: TremolDevice.daily_report,
}
