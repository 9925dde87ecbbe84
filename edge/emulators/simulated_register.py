"""A simulated fiscal cash register (manufacturer and model "Simulated").

The register keeps its own fiscal memory in a SQLite file, apart from the edge's
journal, the way a real device keeps its memory apart from the PC driving it:
sequential fiscal receipt numbers, each receipt with its lines, VAT groups,
payment, total and unique sale id, the receipts since the last Z report (the
day's running totals), and the Z reports themselves.

Like a real register it prints whatever it is told to: the same sale id twice
gives two receipts. Counting receipts per sale id is how tests prove that the
edge prints exactly once.

Besides receipts it prints non-fiscal documents and records cash deposits and
withdrawals; the drawer's cash since the last Z report (cash payments, deposits,
withdrawals) is kept, and a withdrawal larger than the drawer is refused. Every
printed document is appended to the electronic journal in print order.

Device commands (``print_receipt``, ``find_receipt``, ``last_receipt``,
``status``, ``x_report``, ``z_report``, ``non_fiscal``, ``cash_move``,
``fiscal_memory_report``) obey the fault flags. Inspection methods
(``receipts``, ``receipts_for_sale``, ``electronic_journal``, ``faults``,
``set_faults``) read or change the memory directly, like a service tool, and
never fail on a fault.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from edge.durable_sqlite import immediate_transaction, open_durable
from edge.faults import crashpoint

STATE_FILE = "simulated_register.sqlite"
MODEL = "Simulated"
DEFAULT_VAT_GROUPS: dict[str, Decimal] = {
    "A": Decimal("20"),
    "B": Decimal("19"),
    "C": Decimal("10"),
    "D": Decimal("9"),
    "E": Decimal("7"),
    "F": Decimal("5"),
    "G": Decimal("0"),
}
_WIDTH = 40

_SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS receipts (
    number INTEGER PRIMARY KEY,
    sale_id TEXT NOT NULL,
    body TEXT NOT NULL,
    z_number INTEGER
);
CREATE INDEX IF NOT EXISTS receipts_by_sale ON receipts (sale_id);
CREATE INDEX IF NOT EXISTS receipts_open ON receipts (z_number);
CREATE TABLE IF NOT EXISTS z_reports (number INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cash_moves (
    number INTEGER PRIMARY KEY,
    amount INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    z_number INTEGER
);
CREATE TABLE IF NOT EXISTS ejournal (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, text TEXT NOT NULL);
"""


class RegisterErrorCode(str, Enum):
    PAPER_OUT = "paper_out"
    LINK_DOWN = "link_down"
    BUSY = "busy"
    REJECTED = "rejected"
    COVER_OPEN = "cover_open"
    MEMORY_FULL = "fiscal_memory_full"
    REFUSED = "refused"


class RegisterError(Exception):
    """The register refused or could not carry out a command."""

    def __init__(self, code: RegisterErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


class Faults(BaseModel):
    """Fault flags; they live in the register's state file, so any process can set them."""

    model_config = ConfigDict(extra="forbid")

    paper_out: bool = False
    link_loss: bool = False
    busy: bool = False
    cover_open: bool = False
    fiscal_memory_full: bool = False
    latency_ms: Annotated[int, Field(ge=0, le=600_000)] = 0


class SaleLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=72)]
    quantity: Decimal
    unit_price: Annotated[int, Field(ge=0)]
    vat_group: Annotated[str, Field(pattern=r"^[A-H]$")]
    amount: Annotated[int, Field(ge=0)]


class Sale(BaseModel):
    """One receipt as the register's command set takes it: lines with VAT group letters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sale_id: Annotated[str, Field(min_length=1, max_length=64)]
    operator: str
    currency: str
    is_refund: bool = False
    lines: Annotated[list[SaleLine], Field(min_length=1)]
    payment_type: str
    payment_amount: Annotated[int, Field(ge=0)]


class ReceiptLine(SaleLine):
    vat_rate: Decimal


class Receipt(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: int
    fiscal_number: str
    serial: str
    sale_id: str
    operator: str
    currency: str
    is_refund: bool
    lines: list[ReceiptLine]
    payment_type: str
    payment_amount: int
    total: int
    printed_at: int = Field(description="UTC epoch seconds, register clock.")
    z_number: int | None = None
    text: str


class VatTotal(BaseModel):
    group: str
    rate: Decimal
    sales: int
    refunds: int
    net: int
    vat: int


class CashTotals(BaseModel):
    """The drawer since the last Z report, in minor units."""

    cash_sales: int = 0
    deposits: int = 0
    withdrawals: int = 0

    @property
    def in_drawer(self) -> int:
        return self.cash_sales + self.deposits - self.withdrawals


class Report(BaseModel):
    kind: Literal["X", "Z"]
    z_number: int | None
    created_at: int
    receipt_count: int
    totals: list[VatTotal]
    sales: int
    refunds: int
    net: int
    cash: CashTotals = CashTotals()
    text: str


class CashMove(BaseModel):
    number: int
    amount: int = Field(description="Positive: deposit; negative: withdrawal.")
    in_drawer: int
    text: str


class Document(BaseModel):
    """A printed non-fiscal document or fiscal memory report."""

    number: int | None
    amount: int | None
    text: str


class RegisterStatus(BaseModel):
    serial: str
    model: str = MODEL
    faults: Faults
    last_fiscal_number: str | None
    receipts_since_z: int
    z_counter: int


def format_minor(amount: int) -> str:
    """Minor units as a two-decimal string: 1234 -> '12.34', -5 -> '-0.05'."""
    sign = "-" if amount < 0 else ""
    units, cents = divmod(abs(amount), 100)
    return f"{sign}{units}.{cents:02d}"


def vat_included(gross: int, rate: Decimal) -> int:
    """The VAT contained in a VAT-inclusive amount, rounded half up to a minor unit."""
    vat = Decimal(gross) * rate / (Decimal(100) + rate)
    return int(vat.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _fiscal_number(number: int) -> str:
    return f"{number:08d}"


def _row(left: str, right: str) -> str:
    return f"{left[: _WIDTH - len(right) - 1]:<{_WIDTH - len(right)}}{right}"


def _stamp(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _render_receipt(receipt: Receipt, groups: dict[str, Decimal]) -> str:
    out = ["SIMULATED FISCAL REGISTER", f"S/N {receipt.serial}", "REFUND" if receipt.is_refund else "SALE", "-" * _WIDTH]
    for line in receipt.lines:
        out.append(line.name)
        out.append(_row(f"  {line.quantity} x {format_minor(line.unit_price)}", f"{format_minor(line.amount)} {line.vat_group}"))
    out.append("-" * _WIDTH)
    out.append(_row("TOTAL", f"{receipt.currency} {format_minor(receipt.total)}"))
    out.append(_row(receipt.payment_type.upper(), format_minor(receipt.payment_amount)))
    for group, gross in sorted(_group_sums(receipt.lines).items()):
        out.append(_row(f"VAT {group} {groups[group]}%", format_minor(vat_included(gross, groups[group]))))
    out += [
        f"OPERATOR {receipt.operator}",
        f"FISCAL RECEIPT No {receipt.fiscal_number}",
        f"SALE ID {receipt.sale_id}",
        _stamp(receipt.printed_at),
    ]
    return "\n".join(out)


def _group_sums(lines: list[ReceiptLine]) -> dict[str, int]:
    sums: dict[str, int] = {}
    for line in lines:
        sums[line.vat_group] = sums.get(line.vat_group, 0) + line.amount
    return sums


def build_report(
    kind: Literal["X", "Z"],
    receipts: list[Receipt],
    groups: dict[str, Decimal],
    z_number: int | None,
    serial: str,
    now: int,
    moves: list[int] | None = None,
) -> Report:
    """Totals per VAT group over the given receipts (pure; rendering included)."""
    sales: dict[str, int] = {}
    refunds: dict[str, int] = {}
    for receipt in receipts:
        bucket = refunds if receipt.is_refund else sales
        for group, gross in _group_sums(receipt.lines).items():
            bucket[group] = bucket.get(group, 0) + gross
    totals = []
    for group in sorted(set(sales) | set(refunds)):
        net = sales.get(group, 0) - refunds.get(group, 0)
        totals.append(
            VatTotal(
                group=group,
                rate=groups[group],
                sales=sales.get(group, 0),
                refunds=refunds.get(group, 0),
                net=net,
                vat=vat_included(net, groups[group]),
            )
        )
    total_sales = sum(t.sales for t in totals)
    total_refunds = sum(t.refunds for t in totals)
    cash_sales = sum(-r.total if r.is_refund else r.total for r in receipts if r.payment_type == "cash")
    moves = moves or []
    cash = CashTotals(cash_sales=cash_sales, deposits=sum(m for m in moves if m > 0), withdrawals=-sum(m for m in moves if m < 0))
    title = f"Z REPORT No {z_number:04d}" if kind == "Z" and z_number is not None else "X REPORT"
    text = ["SIMULATED FISCAL REGISTER", f"S/N {serial}", title, "-" * _WIDTH]
    for t in totals:
        text.append(_row(f"{t.group} {t.rate}% sales", format_minor(t.sales)))
        text.append(_row(f"{t.group} {t.rate}% refunds", format_minor(t.refunds)))
        text.append(_row(f"{t.group} {t.rate}% VAT", format_minor(t.vat)))
    text += [
        "-" * _WIDTH,
        _row("RECEIPTS", str(len(receipts))),
        _row("NET TOTAL", format_minor(total_sales - total_refunds)),
        _row("CASH SALES", format_minor(cash.cash_sales)),
        _row("CASH IN", format_minor(cash.deposits)),
        _row("CASH OUT", format_minor(cash.withdrawals)),
        _row("CASH IN DRAWER", format_minor(cash.in_drawer)),
        _stamp(now),
    ]
    return Report(
        kind=kind,
        z_number=z_number,
        created_at=now,
        receipt_count=len(receipts),
        totals=totals,
        sales=total_sales,
        refunds=total_refunds,
        net=total_sales - total_refunds,
        cash=cash,
        text="\n".join(text),
    )


class SimulatedRegister:
    """The register's fiscal memory and command set, persisted in ``path``."""

    def __init__(self, path: Path, *, durable: bool = True) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._db = open_durable(path, durable=durable)
        with self._transaction() as db:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)
            db.execute("INSERT OR IGNORE INTO settings VALUES ('serial', ?)", (f"SIM-{secrets.token_hex(4).upper()}",))
            groups = {k: str(v) for k, v in DEFAULT_VAT_GROUPS.items()}
            db.execute("INSERT OR IGNORE INTO settings VALUES ('vat_groups', ?)", (json.dumps(groups),))
            db.execute("INSERT OR IGNORE INTO settings VALUES ('faults', ?)", (Faults().model_dump_json(),))
        self.serial = self._setting("serial")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- inspection (never faulted) -------------------------------------------------

    def faults(self) -> Faults:
        return Faults.model_validate_json(self._setting("faults"))

    def set_faults(self, **changes: bool | int) -> Faults:
        """Change some fault flags (see ``Faults``); returns all of them."""
        with self._transaction() as db:
            current = Faults.model_validate_json(self._setting("faults", db))
            updated = Faults.model_validate({**current.model_dump(), **changes})
            db.execute("UPDATE settings SET value = ? WHERE key = 'faults'", (updated.model_dump_json(),))
        return updated

    def vat_groups(self) -> dict[str, Decimal]:
        return {k: Decimal(v) for k, v in json.loads(self._setting("vat_groups")).items()}

    def receipts(self) -> list[Receipt]:
        return self._receipts("SELECT body, z_number FROM receipts ORDER BY number")

    def receipts_for_sale(self, sale_id: str) -> list[Receipt]:
        return self._receipts("SELECT body, z_number FROM receipts WHERE sale_id = ? ORDER BY number", (sale_id,))

    def z_reports(self) -> list[Report]:
        with self._lock:
            rows = self._db.execute("SELECT body FROM z_reports ORDER BY number").fetchall()
        return [Report.model_validate_json(body) for (body,) in rows]

    def electronic_journal(self) -> str:
        """Every printed document (receipts, X/Z reports, cash moves, non-fiscal texts) in print order."""
        with self._lock:
            rows = self._db.execute("SELECT text FROM ejournal ORDER BY seq").fetchall()
        return "\n\n".join(text for (text,) in rows) + ("\n" if rows else "")

    # -- device commands (faulted) ----------------------------------------------------

    def print_receipt(self, sale: Sale) -> Receipt:
        """Print; a slow reply (``latency_ms``) comes after the receipt is in memory, and a link lost
        meanwhile loses the answer, not the receipt."""
        self._obey_faults(prints=True, fiscal_memory=True, delay=False)
        groups = self.vat_groups()
        unknown = sorted({line.vat_group for line in sale.lines} - set(groups))
        if unknown:
            raise RegisterError(RegisterErrorCode.REJECTED, f"VAT group(s) {', '.join(unknown)} not programmed")
        total = sum(line.amount for line in sale.lines)
        if sale.payment_amount != total:
            raise RegisterError(RegisterErrorCode.REJECTED, f"payment {sale.payment_amount} does not cover total {total}")
        with self._transaction() as db:
            number = db.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM receipts").fetchone()[0]
            receipt = Receipt(
                number=number,
                fiscal_number=_fiscal_number(number),
                serial=self.serial,
                sale_id=sale.sale_id,
                operator=sale.operator,
                currency=sale.currency,
                is_refund=sale.is_refund,
                lines=[ReceiptLine(**line.model_dump(), vat_rate=groups[line.vat_group]) for line in sale.lines],
                payment_type=sale.payment_type,
                payment_amount=sale.payment_amount,
                total=total,
                printed_at=int(time.time()),
                text="",
            )
            receipt = receipt.model_copy(update={"text": _render_receipt(receipt, groups)})
            db.execute(
                "INSERT INTO receipts (number, sale_id, body) VALUES (?, ?, ?)",
                (number, sale.sale_id, receipt.model_dump_json(exclude={"z_number"})),
            )
            self._append_ejournal(db, "receipt", receipt.text)
        crashpoint("during_device_call")
        self._reply()
        return receipt

    def find_receipt(self, sale_id: str) -> Receipt | None:
        """The first receipt printed with this unique sale id, if any."""
        self._obey_faults(prints=False)
        found = self.receipts_for_sale(sale_id)
        return found[0] if found else None

    def last_receipt(self) -> Receipt | None:
        self._obey_faults(prints=False)
        found = self._receipts("SELECT body, z_number FROM receipts ORDER BY number DESC LIMIT 1")
        return found[0] if found else None

    def status(self) -> RegisterStatus:
        self._obey_faults(prints=False)
        with self._lock:
            last = self._db.execute("SELECT MAX(number) FROM receipts").fetchone()[0]
            open_count = self._db.execute("SELECT COUNT(*) FROM receipts WHERE z_number IS NULL").fetchone()[0]
            z_counter = self._db.execute("SELECT COALESCE(MAX(number), 0) FROM z_reports").fetchone()[0]
        return RegisterStatus(
            serial=self.serial,
            faults=self.faults(),
            last_fiscal_number=_fiscal_number(last) if last else None,
            receipts_since_z=open_count,
            z_counter=z_counter,
        )

    def x_report(self) -> Report:
        """Running totals since the last Z report; changes nothing but the electronic journal."""
        self._obey_faults(prints=True)
        with self._transaction() as db:
            report = build_report("X", self._open_receipts(db), self.vat_groups(), None, self.serial, int(time.time()), self._open_moves(db))
            self._append_ejournal(db, "x_report", report.text)
        return report

    def z_report(self) -> Report:
        """Close the day: report the running totals, reset them and advance the Z counter."""
        self._obey_faults(prints=True, fiscal_memory=True)
        groups = self.vat_groups()
        with self._transaction() as db:
            z_number = db.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM z_reports").fetchone()[0]
            report = build_report("Z", self._open_receipts(db), groups, z_number, self.serial, int(time.time()), self._open_moves(db))
            db.execute("UPDATE receipts SET z_number = ? WHERE z_number IS NULL", (z_number,))
            db.execute("UPDATE cash_moves SET z_number = ? WHERE z_number IS NULL", (z_number,))
            db.execute("INSERT INTO z_reports (number, body) VALUES (?, ?)", (z_number, report.model_dump_json()))
            self._append_ejournal(db, "z_report", report.text)
        return report

    def non_fiscal(self, lines: list[str]) -> Document:
        """Print free text on a non-fiscal document."""
        self._obey_faults(prints=True)
        body = [line[:_WIDTH] for line in lines]
        text = "\n".join(["SIMULATED FISCAL REGISTER", f"S/N {self.serial}", "NON-FISCAL", "-" * _WIDTH, *body, "-" * _WIDTH, _stamp(int(time.time()))])
        with self._transaction() as db:
            self._append_ejournal(db, "non_fiscal", text)
        return Document(number=None, amount=None, text=text)

    def cash_move(self, amount: int) -> CashMove:
        """Deposit (positive) or withdraw (negative) cash; a withdrawal beyond the drawer is refused."""
        if amount == 0:
            raise RegisterError(RegisterErrorCode.REJECTED, "a cash move needs a non-zero amount")
        self._obey_faults(prints=True)
        with self._transaction() as db:
            drawer = build_report("X", self._open_receipts(db), self.vat_groups(), None, self.serial, 0, self._open_moves(db)).cash.in_drawer
            if drawer + amount < 0:
                raise RegisterError(RegisterErrorCode.REFUSED, f"cannot withdraw {format_minor(-amount)}: the drawer holds {format_minor(drawer)}")
            number = db.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM cash_moves").fetchone()[0]
            now = int(time.time())
            title = "CASH IN" if amount > 0 else "CASH OUT"
            text = "\n".join(
                ["SIMULATED FISCAL REGISTER", f"S/N {self.serial}", f"{title} No {number:04d}", "-" * _WIDTH,
                 _row(title, format_minor(abs(amount))), _row("CASH IN DRAWER", format_minor(drawer + amount)), _stamp(now)]
            )
            db.execute("INSERT INTO cash_moves (number, amount, created_at) VALUES (?, ?, ?)", (number, amount, now))
            self._append_ejournal(db, "cash_in" if amount > 0 else "cash_out", text)
        return CashMove(number=number, amount=amount, in_drawer=drawer + amount, text=text)

    def fiscal_memory_report(self, start: date, end: date) -> Document:
        """The Z closures of the days ``start``..``end`` (UTC, inclusive), from fiscal memory."""
        self._obey_faults(prints=True)
        closures = [z for z in self.z_reports() if start <= datetime.fromtimestamp(z.created_at, UTC).date() <= end]
        text = ["SIMULATED FISCAL REGISTER", f"S/N {self.serial}", "FISCAL MEMORY REPORT", f"{start.isoformat()} .. {end.isoformat()}", "-" * _WIDTH]
        text += [_row(f"Z {z.z_number or 0:04d} {_stamp(z.created_at)[:10]}", format_minor(z.net)) for z in closures]
        total = sum(z.net for z in closures)
        text += ["-" * _WIDTH, _row("CLOSURES", str(len(closures))), _row("NET TOTAL", format_minor(total)), _stamp(int(time.time()))]
        with self._transaction() as db:
            self._append_ejournal(db, "fiscal_memory_report", "\n".join(text))
        return Document(number=len(closures), amount=total, text="\n".join(text))

    def receipt_by_number(self, fiscal_number: str) -> Receipt | None:
        """Inspection: the receipt with this fiscal number, if any."""
        if not fiscal_number.isdigit():
            return None
        found = self._receipts("SELECT body, z_number FROM receipts WHERE number = ?", (int(fiscal_number),))
        return found[0] if found else None

    # -- internals ----------------------------------------------------------------------

    def _reply(self) -> None:
        faults = self.faults()
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
            faults = self.faults()
        if faults.link_loss:
            raise RegisterError(RegisterErrorCode.LINK_DOWN, "the link was lost before the register answered")

    def _obey_faults(self, *, prints: bool, fiscal_memory: bool = False, delay: bool = True) -> None:
        faults = self.faults()
        if delay and faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        if faults.link_loss:
            raise RegisterError(RegisterErrorCode.LINK_DOWN, "no answer from the register")
        if faults.busy:
            raise RegisterError(RegisterErrorCode.BUSY, "register is busy")
        if prints and faults.cover_open:
            raise RegisterError(RegisterErrorCode.COVER_OPEN, "printer cover is open")
        if prints and faults.paper_out:
            raise RegisterError(RegisterErrorCode.PAPER_OUT, "out of paper")
        if fiscal_memory and faults.fiscal_memory_full:
            raise RegisterError(RegisterErrorCode.MEMORY_FULL, "fiscal memory is full")

    @staticmethod
    def _open_receipts(db: sqlite3.Connection) -> list[Receipt]:
        rows = db.execute("SELECT body FROM receipts WHERE z_number IS NULL ORDER BY number").fetchall()
        return [Receipt.model_validate_json(body) for (body,) in rows]

    @staticmethod
    def _open_moves(db: sqlite3.Connection) -> list[int]:
        return [amount for (amount,) in db.execute("SELECT amount FROM cash_moves WHERE z_number IS NULL ORDER BY number").fetchall()]

    @staticmethod
    def _append_ejournal(db: sqlite3.Connection, kind: str, text: str) -> None:
        db.execute("INSERT INTO ejournal (kind, text) VALUES (?, ?)", (kind, text))

    def _setting(self, key: str, db: sqlite3.Connection | None = None) -> str:
        with self._lock:
            row = (db or self._db).execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return str(row[0])

    def _receipts(self, sql: str, params: tuple[object, ...] = ()) -> list[Receipt]:
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [Receipt.model_validate_json(body).model_copy(update={"z_number": z}) for body, z in rows]

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self._db, self._lock)
