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
from decimal import Decimal
from pathlib import Path

from edge.durable_sqlite import immediate_transaction, open_durable
from edge.emulators.simulated.models import (
    DEFAULT_VAT_GROUPS,
    PAPER_WIDTH,
    SCHEMA,
    CashMove,
    Document,
    Faults,
    Receipt,
    ReceiptLine,
    RegisterError,
    RegisterErrorCode,
    RegisterStatus,
    Report,
    Sale,
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
                fiscal_number=fiscal_number_text(number),
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
            receipt = receipt.model_copy(update={"text": render_receipt(receipt, groups)})
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
            last_fiscal_number=fiscal_number_text(last) if last else None,
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
        body = [line[:PAPER_WIDTH] for line in lines]
        text = "\n".join(["SIMULATED FISCAL REGISTER", f"S/N {self.serial}", "NON-FISCAL", "-" * PAPER_WIDTH, *body, "-" * PAPER_WIDTH, paper_stamp(int(time.time()))])
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
        text += ["-" * PAPER_WIDTH, paper_row("CLOSURES", str(len(closures))), paper_row("NET TOTAL", format_minor(total)), paper_stamp(int(time.time()))]
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
