"""A Datecs/Daisy fiscal printer emulated at the byte level: fiscal state, command set, framing, faults.

``FiscalPrinter`` keeps the fiscal state (document and receipt numbers, the unique sale
number of the last receipt, day totals per VAT group, cash in the drawer, an open receipt,
the electronic journal of closed documents). ``IslEndpoint`` speaks the framing over
whatever byte stream it is given: it NAKs a frame with a bad checksum, repeats its last
answer for a repeated request (same sequence, command and data) instead of running it
twice, and obeys the injectable ``LinkFaults``. ``edge.emulators.isl.server`` puts an
endpoint on a pseudo-terminal or a TCP port.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

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
    parse_quantity,
)
from edge.drivers.isl.frame import (
    NAK,
    SYN,
    FrameError,
    FrameReader,
    Signal,
    decode_request,
    encode_response,
    encode_status,
)
from edge.emulators.simulated.models import DEFAULT_VAT_GROUPS

Dialect = Literal["datecs", "daisy"]
DocKind = Literal["fiscal", "service", "cancelled", "z_report", "x_report", "cash"]
# The simulated register's VAT groups, and an eighth the printer has but leaves unset.
DEFAULT_RATES: dict[str, Decimal | None] = {**DEFAULT_VAT_GROUPS, "H": None}
_SALE = re.compile(r"^(?P<text>[^\t]{0,85})\t(?P<group>[A-H])(?P<price>-?\d{1,8}(\.\d{1,2})?)(\*(?P<qty>\d{1,8}(\.\d{1,3})?))?(;(?P<adjust>-?\d{1,8}(\.\d{1,2})?))?$")
_PAYMENT_CODES: dict[Dialect, dict[str, str]] = {
    "datecs": {"P": "cash", "D": "card", "N": "credit", "C": "check", "I": "other"},
    "daisy": {"P": "cash", "C": "card", "N": "check", "D": "other"},
}


class Rejected(Exception):
    """The command is refused; ``flag`` is the status bit the answer carries."""

    def __init__(self, flag: str, why: str) -> None:
        super().__init__(why)
        self.flag = flag


@dataclass
class OpenReceipt:
    kind: Literal["fiscal", "service"]
    unp: str | None = None
    lines: list[tuple[str, str, int]] = field(default_factory=list)  # (text, group, amount)
    texts: list[str] = field(default_factory=list)
    paid: dict[str, int] = field(default_factory=dict)
    totalled: bool = False

    @property
    def total(self) -> int:
        return sum(amount for _, _, amount in self.lines)

    @property
    def tendered(self) -> int:
        return sum(self.paid.values())


@dataclass(frozen=True)
class Document:
    """A closed document in the electronic journal."""

    number: int
    kind: DocKind
    at: datetime
    unp: str | None = None
    total: int = 0
    lines: tuple[tuple[str, str, int], ...] = ()
    texts: tuple[str, ...] = ()
    paid: tuple[tuple[str, int], ...] = ()


@dataclass
class PrinterFaults:
    """Faults of the printing mechanism, seen in the status bytes."""

    paper_out: bool = False
    cover_open: bool = False


class FiscalPrinter:
    """The fiscal state and command set; thread-safe."""

    def __init__(self, dialect: Dialect = "datecs", serial: str | None = None, rates: dict[str, Decimal | None] | None = None) -> None:
        self.dialect: Dialect = dialect
        self.serial = serial or ("DT000600" if dialect == "datecs" else "DY000600")
        self.fiscal_memory = "02" + self.serial[2:]
        self.rates = dict(rates or DEFAULT_RATES)
        self.faults = PrinterFaults()
        self.doc_number = 0
        self.z_number = 0
        self.last_unp_seq = 0
        self.day_sales: dict[str, int] = {}
        self.receipts_today = 0
        self.documents_today = 0
        self.cash = 0
        self.served_in = 0
        self.served_out = 0
        self.open: OpenReceipt | None = None
        self.journal: list[Document] = []
        self.clock_offset = timedelta()
        self.lock = threading.RLock()
        self.commands: list[Command | int] = []

    # -- inspection --------------------------------------------------------------------

    def now(self) -> datetime:
        return (datetime.now(UTC) + self.clock_offset).replace(microsecond=0)

    def receipts_with_text(self, text: str) -> list[Document]:
        """Closed fiscal receipts carrying a text line that contains ``text``."""
        with self.lock:
            return [d for d in self.journal if d.kind == "fiscal" and any(text in t for t in d.texts)]

    def fiscal_receipts(self) -> list[Document]:
        with self.lock:
            return [d for d in self.journal if d.kind == "fiscal"]

    # -- execution ---------------------------------------------------------------------

    def execute(self, cmd: int, data: bytes) -> tuple[bytes, bytes]:
        """Run one command; returns the answer's data and status bytes."""
        with self.lock:
            self.commands.append(Command(cmd) if cmd in Command._value2member_map_ else cmd)
            flags: dict[str, bool] = {}
            try:
                handler = self._handlers().get(cmd)
                if handler is None:
                    raise Rejected("invalid_command", f"unknown command {cmd:02X}h")
                answer = handler(decode_text(data))
            except Rejected as exc:
                flags[exc.flag] = True
                answer = ""
            except FieldError:
                flags["syntax_error"] = True
                answer = ""
            flags.update(self._standing_flags())
            return encode_text(answer), encode_status(**flags)

    def _standing_flags(self) -> dict[str, bool]:
        return {
            "paper_out": self.faults.paper_out,
            "cover_open": self.faults.cover_open,
            "fiscal_receipt_open": self.open is not None and self.open.kind == "fiscal",
            "service_receipt_open": self.open is not None and self.open.kind == "service",
            "fiscal_mode": True,
        }

    def _handlers(self) -> dict[int, Callable[[str], str]]:
        cancel = Command.CANCEL_FISCAL_RECEIPT if self.dialect == "datecs" else Command.DAISY_CANCEL_FISCAL_RECEIPT
        return {
            Command.OPEN_FISCAL_RECEIPT: self._open_fiscal,
            Command.SALE: self._sale,
            Command.SUBTOTAL: self._subtotal,
            Command.TOTAL: self._total,
            Command.FISCAL_TEXT: self._fiscal_text,
            Command.CLOSE_FISCAL_RECEIPT: self._close_fiscal,
            cancel: self._cancel,
            Command.OPEN_SERVICE_RECEIPT: self._open_service,
            Command.SERVICE_TEXT: self._service_text,
            Command.CLOSE_SERVICE_RECEIPT: self._close_service,
            Command.DAILY_REPORT: self._daily_report,
            Command.CASH_IN_OUT: self._cash_in_out,
            Command.STATUS: lambda _: "",
            Command.TRANSACTION_STATUS: self._transaction_status,
            Command.LAST_DOCUMENT_NUMBER: lambda _: f"{self.doc_number:07d}",
            Command.READ_CLOCK: lambda _: format_clock(self.now()),
            Command.SET_CLOCK: self._set_clock,
            Command.DIAGNOSTIC_INFO: self._diagnostic,
            Command.TAX_RATES: lambda _: ",".join("DT" if r is None else f"{r:.2f}%" for r in self.rates.values()),
        }

    def _require_printable(self) -> None:
        if self.faults.paper_out or self.faults.cover_open:
            raise Rejected("not_allowed", "cannot print")

    def _require_fiscal(self) -> OpenReceipt:
        if self.open is None or self.open.kind != "fiscal":
            raise Rejected("not_allowed", "no fiscal receipt is open")
        return self.open

    def _next_document(
        self,
        kind: DocKind,
        *,
        unp: str | None = None,
        total: int = 0,
        lines: tuple[tuple[str, str, int], ...] = (),
        texts: tuple[str, ...] = (),
        paid: tuple[tuple[str, int], ...] = (),
    ) -> Document:
        self.doc_number += 1
        self.documents_today += 1
        document = Document(self.doc_number, kind, self.now(), unp, total, lines, texts, paid)
        self.journal.append(document)
        return document

    # -- fiscal receipt ------------------------------------------------------------------

    def _open_fiscal(self, data: str) -> str:
        if not data:
            return f"{self.last_unp_seq:07d}"
        parts = data.split(",")
        if self.dialect == "datecs":
            if len(parts) != 4:
                raise FieldError("expected OpNum,Password,TillNum,UNP")
            operator, password, till, unp = parts
            if not till.isdigit() or not 1 <= int(till) <= 99999:
                raise FieldError("bad till number")
        else:
            if len(parts) != 3:
                raise FieldError("expected OpNum,Password,UNP")
            operator, password, unp = parts
        if not operator.isdigit() or not 1 <= int(operator) <= 16 or not re.fullmatch(r"\d{4,8}", password):
            raise FieldError("bad operator or password")
        match = re.fullmatch(r"([A-Z]{2}\d{6})-([0-9A-Za-z]{4})-(\d{7})", unp)
        if match is None:
            raise FieldError("bad unique sale number")
        if self.open is not None:
            raise Rejected("not_allowed", "a receipt is already open")
        self._require_printable()
        if match.group(1) != self.serial or int(match.group(3)) <= self.last_unp_seq:
            raise Rejected("not_allowed", "unique sale number out of sequence")
        self.last_unp_seq = int(match.group(3))
        self.open = OpenReceipt(kind="fiscal", unp=unp)
        return f"{self.documents_today + 1:04d},{self.receipts_today + 1:04d}"

    def _sale(self, data: str) -> str:
        receipt = self._require_fiscal()
        match = _SALE.match(data)
        if match is None:
            raise FieldError("bad sale line")
        if receipt.totalled:
            raise Rejected("not_allowed", "payment already started")
        group = match.group("group")
        if self.rates.get(group) is None:
            raise Rejected("not_allowed", f"tax group {group} is disabled")
        self._require_printable()
        price = parse_money(match.group("price"))
        qty = parse_quantity(match.group("qty") or "1")
        amount = line_amount(price, qty) + (parse_money(match.group("adjust")) if match.group("adjust") else 0)
        if price < 0 or amount < 0:
            raise Rejected("not_allowed", "negative sale")
        receipt.lines.append((match.group("text"), group, amount))
        return ""

    def _subtotal(self, data: str) -> str:
        receipt = self._require_fiscal()
        if not re.fullmatch(r"[01][01]", data):
            raise FieldError("expected <Print><Display>")
        sums = {g: 0 for g in TAX_GROUPS}
        for _, group, amount in receipt.lines:
            sums[group] += amount
        return ",".join([money(receipt.total), *(money(sums[g]) for g in TAX_GROUPS)])

    def _total(self, data: str) -> str:
        receipt = self._require_fiscal()
        text, tab, payment = data.partition("\t")
        if not tab or len(text) > 73:
            raise FieldError("expected [text]<Tab>[<mode><amount>]")
        codes = _PAYMENT_CODES[self.dialect]
        if payment and payment[0] in codes:
            mode, amount_text = codes[payment[0]], payment[1:]
        elif payment and not payment[0].isdigit():
            raise FieldError(f"unknown payment mode {payment[0]!r}")
        else:
            mode, amount_text = "cash", payment
        due = receipt.total - receipt.tendered
        amount = parse_money(amount_text) if amount_text else due
        if amount < 0 or not receipt.lines:
            raise Rejected("not_allowed", "nothing to pay")
        self._require_printable()
        receipt.totalled = True
        receipt.paid[mode] = receipt.paid.get(mode, 0) + amount
        left = receipt.total - receipt.tendered
        return f"D{money(left)}" if left > 0 else f"R{money(-left)}"

    def _fiscal_text(self, data: str) -> str:
        receipt = self._require_fiscal()
        if not data or len(data) > 42:
            raise FieldError("text must be 1..42 characters")
        self._require_printable()
        receipt.texts.append(data)
        return ""

    def _close_fiscal(self, data: str) -> str:
        receipt = self._require_fiscal()
        if data:
            raise FieldError("no data expected")
        if not receipt.totalled or receipt.tendered < receipt.total:
            raise Rejected("not_allowed", "receipt not paid")
        self._require_printable()
        change = receipt.tendered - receipt.total
        self.cash += receipt.paid.get("cash", 0) - change
        for _, group, amount in receipt.lines:
            self.day_sales[group] = self.day_sales.get(group, 0) + amount
        self.receipts_today += 1
        self.open = None
        self._next_document(
            "fiscal",
            unp=receipt.unp,
            total=receipt.total,
            lines=tuple(receipt.lines),
            texts=tuple(receipt.texts),
            paid=tuple(sorted(receipt.paid.items())),
        )
        return f"{self.documents_today:04d},{self.receipts_today:04d}"

    def _cancel(self, data: str) -> str:
        receipt = self._require_fiscal()
        if receipt.totalled:
            raise Rejected("not_allowed", "payment already started")
        self.open = None
        self._next_document("cancelled", unp=receipt.unp, total=receipt.total, lines=tuple(receipt.lines), texts=tuple(receipt.texts))
        return ""

    def _transaction_status(self, data: str) -> str:
        if data not in ("", "T"):
            raise FieldError("expected T or nothing")
        receipt = self.open if self.open is not None and self.open.kind == "fiscal" else None
        if receipt is not None:
            return f"1,{len(receipt.lines):04d},{receipt.total:+010d},{receipt.tendered:+010d}"
        last = next((d for d in reversed(self.journal) if d.kind == "fiscal"), None)
        if last is None:
            return "0,0000,+000000000,+000000000"
        return f"0,{len(last.lines):04d},{last.total:+010d},{sum(a for _, a in last.paid):+010d}"

    # -- service receipts, reports, cash ---------------------------------------------------

    def _open_service(self, data: str) -> str:
        if self.open is not None:
            raise Rejected("not_allowed", "a receipt is already open")
        self._require_printable()
        self.open = OpenReceipt(kind="service")
        return f"{self.documents_today + 1:04d}"

    def _service_text(self, data: str) -> str:
        if self.open is None or self.open.kind != "service":
            raise Rejected("not_allowed", "no service receipt is open")
        if len(data) > 42:
            raise FieldError("text too long")
        self._require_printable()
        self.open.texts.append(data)
        return ""

    def _close_service(self, data: str) -> str:
        if self.open is None or self.open.kind != "service":
            raise Rejected("not_allowed", "no service receipt is open")
        receipt, self.open = self.open, None
        self._next_document("service", texts=tuple(receipt.texts))
        return f"{self.documents_today:04d}"

    def _daily_report(self, data: str) -> str:
        if data not in ("0", "2"):
            raise FieldError("expected 0 (Z) or 2 (X)")
        if self.open is not None:
            raise Rejected("not_allowed", "a receipt is open")
        self._require_printable()
        totals = [money(self.day_sales.get(g, 0)) for g in TAX_GROUPS]
        if data == "2":
            self._next_document("x_report", total=sum(self.day_sales.values()))
            return ",".join([f"{self.z_number + 1:04d}", money(0), *totals])
        self.z_number += 1
        self._next_document("z_report", total=sum(self.day_sales.values()))
        self.day_sales, self.receipts_today, self.documents_today = {}, 0, 0
        self.served_in = self.served_out = 0
        return ",".join([f"{self.z_number:04d}", money(0), *totals])

    def _cash_in_out(self, data: str) -> str:
        amount = parse_money(data) if data else 0
        state = f"{money(self.cash)},{money(self.served_in)},{money(self.served_out)}"
        if amount == 0:
            return f"P,{state}"
        if self.open is not None or self.cash + amount < 0:
            return f"F,{state}"
        self._require_printable()
        self.cash += amount
        if amount > 0:
            self.served_in += amount
        else:
            self.served_out -= amount
        self._next_document("cash", total=amount)
        return f"P,{money(self.cash)},{money(self.served_in)},{money(self.served_out)}"

    def _set_clock(self, data: str) -> str:
        moment = parse_clock(data)
        self.clock_offset = moment - datetime.now(UTC).replace(microsecond=0)
        return ""

    def _diagnostic(self, data: str) -> str:
        name = "DP-25" if self.dialect == "datecs" else "COMPACT M"
        return f"{name},1.00BG 15NOV18 1000,FFFF,00000000,{self.serial},{self.fiscal_memory}"


@dataclass
class LinkFaults:
    """Byte-level faults, each a count of answers to spoil (``silent`` and ``drop_after`` aside)."""

    silent: bool = False
    nak: int = 0
    corrupt_checksum: int = 0
    truncate: int = 0
    garbage: int = 0
    syn: int = 0
    syn_interval: float = 0.06
    drop_after: int | None = None  # run this command, then fall silent: the link is cut (a crash, a pulled cable)


class IslEndpoint:
    """The framing side of the emulated printer for one byte stream."""

    def __init__(self, printer: FiscalPrinter, faults: LinkFaults | None = None) -> None:
        self.printer = printer
        self.faults = faults or LinkFaults()
        self._reader = FrameReader()
        self._last: tuple[bytes, bytes] | None = None  # (request frame body key, answer)

    def receive(self, chunk: bytes, send: Callable[[bytes], None]) -> None:
        """Handle bytes from the host; answers go out through ``send``."""
        for event in self._reader.feed(chunk):
            if isinstance(event, Signal):
                continue
            self._frame(event, send)

    def _frame(self, frame: bytes, send: Callable[[bytes], None]) -> None:
        faults = self.faults
        if faults.silent:
            return
        try:
            request = decode_request(frame)
        except FrameError:
            send(bytes([NAK]))
            return
        if faults.nak:
            faults.nak -= 1
            send(bytes([NAK]))
            return
        key = frame[2:-5]
        if self._last is not None and self._last[0] == key:
            answer = self._last[1]
        else:
            data, status = self.printer.execute(request.cmd, request.data)
            answer = encode_response(request.seq, request.cmd, data, status)
            self._last = (key, answer)
            if faults.drop_after == request.cmd:
                faults.drop_after = None
                faults.silent = True
                return
        for _ in range(faults.syn):
            send(bytes([SYN]))
            time.sleep(faults.syn_interval)
        send(self._spoil(answer))

    def _spoil(self, answer: bytes) -> bytes:
        faults = self.faults
        if faults.corrupt_checksum:
            faults.corrupt_checksum -= 1
            return answer[:-2] + bytes([0x30 + ((answer[-2] - 0x30 + 1) & 0x0F)]) + answer[-1:]
        if faults.truncate:
            faults.truncate -= 1
            return answer[: len(answer) // 2]
        if faults.garbage:
            faults.garbage -= 1
            return b"\xfe\x7fNOISE\x80\x81\x00\x02"
        return answer
