"""A simulated fiscal cash register (manufacturer and model "Simulated").

The register keeps its own fiscal memory in a SQLite file, apart from the edge's
journal, the way a real device keeps its memory apart from the PC driving it:
sequential fiscal receipt numbers, each receipt with its lines (discounts
included), VAT groups, payments and change, total, unique sale id, buyer tax id
and, on a refund, the original it names; the receipts since the last Z report
(the day's running totals), and the Z reports themselves.

A receipt is built in steps, as on a real register: ``open_receipt``, one
``sell`` per line, one ``pay`` per payment, ``close_receipt``. Each step is kept
in the register's memory as it is taken, so a receipt the driver stopped
driving half-way (a crash, a cable pulled) stays open, in no fiscal memory,
until ``cancel_receipt`` voids it. Only ``close_receipt`` numbers a receipt.
The register refuses what a real one refuses: payments short of the total at
close, a card or refund payment beyond what is due, a discount beyond its line,
a refund beyond what is left of the original (from its own memory when it
printed the original, else the original's total as named).

Like a real register it prints whatever it is told to: the same sale id twice
gives two receipts. Counting receipts per sale id is how tests prove that the
edge prints exactly once.

Besides receipts it prints non-fiscal documents and records cash deposits and
withdrawals; the drawer's cash since the last Z report (cash payments, deposits,
withdrawals) is kept, and a withdrawal larger than the drawer is refused. Every
printed document is appended to the electronic journal in print order.

Device commands (the receipt steps, ``current_receipt``, ``find_receipt``, ``last_receipt``,
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
from pathlib import Path

from edge.durable_sqlite import immediate_transaction, open_durable
from edge.emulators.simulated.models import (
    DEFAULT_VAT_GROUPS,
    PAPER_WIDTH,
    SCHEMA,
    CashMove,
    Document,
    Faults,
    OpenReceipt,
    Payment,
    Receipt,
    ReceiptHeader,
    ReceiptLine,
    RefundOf,
    RegisterError,
    RegisterErrorCode,
    RegisterStatus,
    Report,
    SaleLine,
)
from edge.emulators.simulated.paper import (
    build_report,
    fiscal_number_text,
    format_minor,
    paper_row,
    paper_stamp,
    render_receipt,
)
from edge.faults import crashpoint


class SimulatedRegister:
    """The register's fiscal memory and command set, persisted in ``path``."""

    def __init__(self, path: Path, *, durable: bool = True) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._db = open_durable(path, durable=durable)
        with self._transaction() as db:
            for statement in filter(str.strip, SCHEMA.split(";")):
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

    def now(self) -> int:
        """The register's clock (epoch seconds): the host's, off by the ``clock_offset_seconds`` fault."""
        return int(time.time()) + self.faults().clock_offset_seconds

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

    def current_receipt(self) -> OpenReceipt | None:
        """The receipt opened and not yet closed, if any (it survives a restart, as on a real register)."""
        self._obey_faults(prints=False, delay=False)
        return self._open_receipt()

    def open_receipt(self, header: ReceiptHeader) -> OpenReceipt:
        """Open a sale or refund receipt; one at a time. A refund naming an original needs something of it left."""
        self._obey_faults(prints=True, fiscal_memory=True, delay=False)
        with self._transaction() as db:
            if self._open_receipt(db) is not None:
                raise RegisterError(RegisterErrorCode.REFUSED, "a receipt is already open: close or cancel it first")
            if header.refund_of is not None and not header.is_refund:
                raise RegisterError(RegisterErrorCode.REJECTED, "only a refund receipt names an original")
            if header.refund_of is not None:
                self._refundable(db, header.refund_of)
            opened = OpenReceipt(**header.model_dump())
            self._keep_open(db, opened)
        crashpoint("during_device_call")
        return opened

    def sell(self, line: SaleLine) -> ReceiptLine:
        """Add a line to the open receipt; its amount is quantity × unit price, rounded half up, less the discount."""
        self._obey_faults(prints=True, delay=False)
        groups = self.vat_groups()
        with self._transaction() as db:
            opened = self._must_be_open(db)
            if opened.payments:
                raise RegisterError(RegisterErrorCode.REFUSED, "payment has begun: no more lines")
            if line.vat_group not in groups:
                raise RegisterError(RegisterErrorCode.REJECTED, f"VAT group {line.vat_group} not programmed")
            gross = int((line.quantity * line.unit_price).to_integral_value(ROUND_HALF_UP))
            if line.discount > gross:
                raise RegisterError(RegisterErrorCode.REJECTED, f"discount {format_minor(line.discount)} is more than the line {format_minor(gross)}")
            added = ReceiptLine(**line.model_dump(), vat_rate=groups[line.vat_group], amount=gross - line.discount)
            opened = opened.model_copy(update={"lines": [*opened.lines, added]})
            if opened.refund_of is not None:
                self._refund_fits(db, opened.refund_of, opened.total)
            self._keep_open(db, opened)
        crashpoint("during_device_call")
        return added

    def pay(self, payment: Payment) -> int:
        """Take (or, on a refund, pay back) one payment; returns what is still due. Only cash on a sale may
        exceed what is due: the excess is the change."""
        self._obey_faults(prints=True, delay=False)
        with self._transaction() as db:
            opened = self._must_be_open(db)
            if not opened.lines:
                raise RegisterError(RegisterErrorCode.REFUSED, "no line sold yet")
            due = opened.total - opened.paid
            if due <= 0 and opened.payments:
                raise RegisterError(RegisterErrorCode.REFUSED, "the receipt is paid: close it")
            if payment.amount > due and (payment.type != "cash" or opened.is_refund):
                raise RegisterError(RegisterErrorCode.REJECTED, f"{payment.type} {format_minor(payment.amount)} is more than the {format_minor(due)} due")
            opened = opened.model_copy(update={"payments": [*opened.payments, payment]})
            self._keep_open(db, opened)
        crashpoint("during_device_call")
        return max(0, opened.total - opened.paid)

    def close_receipt(self) -> Receipt:
        """Close the paid receipt into fiscal memory. A slow reply (``latency_ms``) comes after the receipt is in
        memory, and a link lost meanwhile loses the answer, not the receipt."""
        self._obey_faults(prints=True, fiscal_memory=True, delay=False)
        groups = self.vat_groups()
        with self._transaction() as db:
            opened = self._must_be_open(db)
            if not opened.lines or opened.paid < opened.total:
                raise RegisterError(RegisterErrorCode.REJECTED, f"payments {format_minor(opened.paid)} do not cover the total {format_minor(opened.total)}")
            number = db.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM receipts").fetchone()[0]
            receipt = Receipt(
                **opened.model_dump(exclude={"lines", "payments"}),
                lines=opened.lines,
                payments=opened.payments,
                change=opened.paid - opened.total,
                number=number,
                fiscal_number=fiscal_number_text(number),
                serial=self.serial,
                total=opened.total,
                printed_at=self.now(),
                text="",
            )
            receipt = receipt.model_copy(update={"text": render_receipt(receipt, groups)})
            db.execute(
                "INSERT INTO receipts (number, sale_id, body) VALUES (?, ?, ?)",
                (number, receipt.sale_id, receipt.model_dump_json(exclude={"z_number"})),
            )
            db.execute("DELETE FROM settings WHERE key = 'open_receipt'")
            self._append_ejournal(db, "receipt", receipt.text)
        crashpoint("during_device_call")
        self._reply()
        return receipt

    def cancel_receipt(self) -> None:
        """Void the open receipt: nothing of it enters fiscal memory; the paper says VOID."""
        self._obey_faults(prints=True, delay=False)
        with self._transaction() as db:
            opened = self._must_be_open(db)
            db.execute("DELETE FROM settings WHERE key = 'open_receipt'")
            text = "\n".join(["SIMULATED FISCAL REGISTER", f"S/N {self.serial}", "VOID", f"SALE ID {opened.sale_id}",
                              paper_row("CANCELLED", format_minor(opened.total)), paper_stamp(self.now())])
            self._append_ejournal(db, "void", text)
        crashpoint("during_device_call")

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
        first = self._receipts("SELECT body, z_number FROM receipts WHERE z_number IS NULL ORDER BY number LIMIT 1")
        return RegisterStatus(
            serial=self.serial,
            faults=self.faults(),
            last_fiscal_number=fiscal_number_text(last) if last else None,
            receipts_since_z=open_count,
            z_counter=z_counter,
            clock=self.now(),
            day_opened_at=first[0].printed_at if first else None,
        )

    def x_report(self) -> Report:
        """Running totals since the last Z report; changes nothing but the electronic journal."""
        self._obey_faults(prints=True)
        with self._transaction() as db:
            report = build_report("X", self._open_receipts(db), self.vat_groups(), None, self.serial, self.now(), self._open_moves(db))
            self._append_ejournal(db, "x_report", report.text)
        return report

    def z_report(self) -> Report:
        """Close the day: report the running totals, reset them and advance the Z counter."""
        self._obey_faults(prints=True, fiscal_memory=True)
        groups = self.vat_groups()
        with self._transaction() as db:
            z_number = db.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM z_reports").fetchone()[0]
            report = build_report("Z", self._open_receipts(db), groups, z_number, self.serial, self.now(), self._open_moves(db))
            db.execute("UPDATE receipts SET z_number = ? WHERE z_number IS NULL", (z_number,))
            db.execute("UPDATE cash_moves SET z_number = ? WHERE z_number IS NULL", (z_number,))
            db.execute("INSERT INTO z_reports (number, body) VALUES (?, ?)", (z_number, report.model_dump_json()))
            self._append_ejournal(db, "z_report", report.text)
        return report

    def non_fiscal(self, lines: list[str]) -> Document:
        """Print free text on a non-fiscal document."""
        self._obey_faults(prints=True)
        body = [line[:PAPER_WIDTH] for line in lines]
        text = "\n".join(["SIMULATED FISCAL REGISTER", f"S/N {self.serial}", "NON-FISCAL", "-" * PAPER_WIDTH, *body, "-" * PAPER_WIDTH, paper_stamp(self.now())])
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
            now = self.now()
            title = "CASH IN" if amount > 0 else "CASH OUT"
            text = "\n".join(
                ["SIMULATED FISCAL REGISTER", f"S/N {self.serial}", f"{title} No {number:04d}", "-" * PAPER_WIDTH,
                 paper_row(title, format_minor(abs(amount))), paper_row("CASH IN DRAWER", format_minor(drawer + amount)), paper_stamp(now)]
            )
            db.execute("INSERT INTO cash_moves (number, amount, created_at) VALUES (?, ?, ?)", (number, amount, now))
            self._append_ejournal(db, "cash_in" if amount > 0 else "cash_out", text)
        return CashMove(number=number, amount=amount, in_drawer=drawer + amount, text=text)

    def fiscal_memory_report(self, start: date, end: date) -> Document:
        """The Z closures of the days ``start``..``end`` (UTC, inclusive), from fiscal memory."""
        self._obey_faults(prints=True)
        closures = [z for z in self.z_reports() if start <= datetime.fromtimestamp(z.created_at, UTC).date() <= end]
        text = ["SIMULATED FISCAL REGISTER", f"S/N {self.serial}", "FISCAL MEMORY REPORT", f"{start.isoformat()} .. {end.isoformat()}", "-" * PAPER_WIDTH]
        text += [paper_row(f"Z {z.z_number or 0:04d} {paper_stamp(z.created_at)[:10]}", format_minor(z.net)) for z in closures]
        total = sum(z.net for z in closures)
        text += ["-" * PAPER_WIDTH, paper_row("CLOSURES", str(len(closures))), paper_row("NET TOTAL", format_minor(total)), paper_stamp(self.now())]
        with self._transaction() as db:
            self._append_ejournal(db, "fiscal_memory_report", "\n".join(text))
        return Document(number=len(closures), amount=total, text="\n".join(text))

    def receipt_by_number(self, fiscal_number: str) -> Receipt | None:
        """Inspection: the receipt with this fiscal number, if any."""
        found = self._receipts("SELECT body, z_number FROM receipts WHERE number = ?", (_number(fiscal_number),))
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

    def _open_receipt(self, db: sqlite3.Connection | None = None) -> OpenReceipt | None:
        with self._lock:
            row = (db or self._db).execute("SELECT value FROM settings WHERE key = 'open_receipt'").fetchone()
        return OpenReceipt.model_validate_json(row[0]) if row else None

    def _must_be_open(self, db: sqlite3.Connection) -> OpenReceipt:
        opened = self._open_receipt(db)
        if opened is None:
            raise RegisterError(RegisterErrorCode.REFUSED, "no receipt is open")
        return opened

    @staticmethod
    def _keep_open(db: sqlite3.Connection, opened: OpenReceipt) -> None:
        db.execute("INSERT OR REPLACE INTO settings VALUES ('open_receipt', ?)", (opened.model_dump_json(),))

    def _refund_fits(self, db: sqlite3.Connection, original: RefundOf, amount: int) -> None:
        left = self._refundable(db, original)
        if amount > left:
            raise RegisterError(RegisterErrorCode.REJECTED, f"refund {format_minor(amount)} is more than is left of receipt "
                                                            f"{original.fiscal_number} ({format_minor(left)})")

    def _refundable(self, db: sqlite3.Connection, original: RefundOf) -> int:
        """What is left to refund of ``original``: its total (from this register's memory when it printed it)
        less every refund this register printed against it."""
        total = original.total
        if original.serial == self.serial:
            found = db.execute("SELECT body FROM receipts WHERE number = ?", (_number(original.fiscal_number),)).fetchone()
            if found is None:
                raise RegisterError(RegisterErrorCode.REJECTED, f"no receipt {original.fiscal_number} in this register's memory")
            printed = Receipt.model_validate_json(found[0])
            if printed.is_refund:
                raise RegisterError(RegisterErrorCode.REJECTED, f"receipt {original.fiscal_number} is itself a refund")
            total = printed.total
        refunded = 0
        for (body,) in db.execute("SELECT body FROM receipts WHERE body LIKE '%\"refund_of\":{%'").fetchall():
            refund = Receipt.model_validate_json(body)
            if refund.refund_of is not None and (refund.refund_of.serial, refund.refund_of.fiscal_number) == (original.serial, original.fiscal_number):
                refunded += refund.total
        left = total - refunded
        if left <= 0:
            raise RegisterError(RegisterErrorCode.REJECTED, f"receipt {original.fiscal_number} is refunded in full")
        return left

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


def _number(fiscal_number: str) -> int:
    """A printed fiscal number as the memory keys it; one that is no number matches nothing."""
    return int(fiscal_number) if fiscal_number.isdigit() else -1
