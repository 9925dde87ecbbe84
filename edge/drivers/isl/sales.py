"""The driver's own durable note of which unique sale number it gave which job.

An ISL printer identifies each fiscal receipt by a unique sale number (UNP,
``<serial>-<operator code>-<7-digit sequence>``), but it cannot store an arbitrary job id.
So before a receipt is opened the driver writes here, and fsyncs, the sequence it is about
to use for the job, the printer's last document number at that moment, and the job's line
count and total. After a crash these tell whether that receipt was printed (each family
asks its printer its own way), and the document number before it gives the receipt's own
number. Once printed, the receipt's date-time from the printer and the printer's fiscal
memory number are kept beside the UNP: what a storno of it must name. A plan also says
whether the receipt is a storno and which payments (35h) close it, in order, so a receipt
whose payment a crash interrupted is finished as planned (a Datecs printer cannot cancel it).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel

from edge.durable_sqlite import open_durable

FILE = "isl_sales.sqlite"
_WAL_CHECKPOINT_PAGES = 100

_SCHEMA = """CREATE TABLE IF NOT EXISTS sales (
    job_id TEXT PRIMARY KEY,
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,
    unp TEXT NOT NULL,
    doc_before INTEGER NOT NULL,
    cancelling INTEGER NOT NULL DEFAULT 0,
    planned_ms INTEGER NOT NULL,
    items INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    printed_at INTEGER,
    fiscal_memory TEXT,
    storno INTEGER NOT NULL DEFAULT 0,
    payments TEXT NOT NULL DEFAULT '[]',
    UNIQUE (device, seq)
)"""
# Columns a book written by an earlier version lacks, added in place on open.
_ADDED = {"items": "INTEGER NOT NULL DEFAULT 0", "total": "INTEGER NOT NULL DEFAULT 0", "printed_at": "INTEGER", "fiscal_memory": "TEXT",
          "storno": "INTEGER NOT NULL DEFAULT 0", "payments": "TEXT NOT NULL DEFAULT '[]'"}

_PLAN = """INSERT INTO sales (job_id, device, seq, unp, doc_before, planned_ms, items, total, storno, payments)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (job_id) DO UPDATE SET device = excluded.device, seq = excluded.seq, unp = excluded.unp,
    doc_before = excluded.doc_before, cancelling = 0, planned_ms = excluded.planned_ms, items = excluded.items,
    total = excluded.total, printed_at = NULL, fiscal_memory = NULL, storno = excluded.storno, payments = excluded.payments"""
_COLUMNS = "job_id, device, seq, unp, doc_before, cancelling, items, total, printed_at, fiscal_memory, storno, payments"


class Payment(NamedTuple):
    """One 35h payment as sent: the family's payment code and the amount handed over (minor units)."""

    code: str
    amount: int


class SalePlan(BaseModel):
    job_id: str
    device: str
    seq: int
    unp: str
    doc_before: int
    cancelling: bool
    items: int = 0
    total: int = 0
    printed_at: int | None = None
    fiscal_memory: str | None = None
    storno: bool = False
    payments: list[Payment] = []

    @property
    def document_number(self) -> int:
        """The receipt's document number if it was closed: the next document after ``doc_before``."""
        return self.doc_before + 1


class SaleBook:
    """Each write is a single statement on an autocommit connection, so its own transaction:
    committed and, with WAL and ``synchronous=FULL``, fsynced before ``execute`` returns."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.RLock()
        self._db = open_durable(path)
        # A plan writes three pages. By default the WAL grows to 1000 pages after every open (the
        # last close deletes it), and while it grows each commit's fsync must also record the file's
        # new size; checkpointed at 100 pages it soon stops growing and is rewritten in place.
        self._db.execute(f"PRAGMA wal_autocheckpoint={_WAL_CHECKPOINT_PAGES}")
        self._db.execute(_SCHEMA)
        present = {row[1] for row in self._db.execute("PRAGMA table_info(sales)")}
        for column, kind in _ADDED.items():
            if column not in present:
                self._db.execute(f"ALTER TABLE sales ADD COLUMN {column} {kind}")
        self._highest: dict[str, int] = {}  # per device, once read: this book is its file's only writer

    def plan(
        self, job_id: str, device: str, seq: int, unp: str, doc_before: int, items: int = 0, total: int = 0,
        *, storno: bool = False, payments: tuple[Payment, ...] = (),
    ) -> SalePlan:
        """Record (or replace, after the printer proved the last try void) the sale number for a job."""
        with self._lock:
            self._db.execute(_PLAN, (job_id, device, seq, unp, doc_before, time.time_ns() // 1_000_000, items, total,
                                     int(storno), json.dumps([list(p) for p in payments])))
            if device in self._highest:
                self._highest[device] = max(self._highest[device], seq)
        return SalePlan(job_id=job_id, device=device, seq=seq, unp=unp, doc_before=doc_before, cancelling=False, items=items,
                        total=total, storno=storno, payments=list(payments))

    def printed(self, plan: SalePlan, printed_at: int, fiscal_memory: str) -> SalePlan:
        """Record that the job's receipt was printed, with the printer's date-time of it and its fiscal memory number.

        Not fsync'd on its own (``synchronous=NORMAL`` for this commit; the next plan's fsync carries it): lost to a
        power cut, the plan is only unmarked, and reconciling asks the printer, as for any receipt a crash interrupted.
        """
        with self._lock:
            self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                self._db.execute("UPDATE sales SET printed_at = ?, fiscal_memory = ? WHERE job_id = ?", (printed_at, fiscal_memory, plan.job_id))
            finally:
                self._db.execute("PRAGMA synchronous=FULL")
        return plan.model_copy(update={"printed_at": printed_at, "fiscal_memory": fiscal_memory})

    def discard(self, job_id: str) -> None:
        """Forget a plan whose receipt the printer refused to open: nothing of it can be on the printer."""
        with self._lock:
            self._db.execute("DELETE FROM sales WHERE job_id = ?", (job_id,))

    def mark_cancelling(self, device: str, seq: int) -> None:
        """Written before the receipt with this sequence is cancelled: it will never be closed."""
        with self._lock:
            self._db.execute("UPDATE sales SET cancelling = 1 WHERE device = ? AND seq = ?", (device, seq))

    def for_job(self, job_id: str) -> SalePlan | None:
        return self._one("WHERE job_id = ?", (job_id,))

    def for_seq(self, device: str, seq: int) -> SalePlan | None:
        return self._one("WHERE device = ? AND seq = ?", (device, seq))

    def latest(self, device: str) -> SalePlan | None:
        """The device's most recent plan: the only one whose receipt can still be open."""
        return self._one("WHERE device = ? ORDER BY seq DESC LIMIT 1", (device,))

    def next_after(self, plan: SalePlan) -> SalePlan | None:
        """The device's first plan after ``plan``: its document number before bounds what ``plan`` printed."""
        return self._one("WHERE device = ? AND seq > ? ORDER BY seq LIMIT 1", (plan.device, plan.seq))

    def highest_seq(self, device: str) -> int:
        """The highest sequence ever planned for the device: read from the file once, then kept as plans are made."""
        with self._lock:
            if device not in self._highest:
                row = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM sales WHERE device = ?", (device,)).fetchone()
                self._highest[device] = int(row[0])
            return self._highest[device]

    def _one(self, where: str, params: tuple[object, ...]) -> SalePlan | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM sales {where}", params).fetchone()
        if row is None:
            return None
        fields = dict(zip(_COLUMNS.split(", "), row, strict=True))
        fields["payments"] = [Payment(code, amount) for code, amount in json.loads(fields["payments"])]
        return SalePlan(**fields)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_book(state_dir: Path) -> SaleBook:
    try:
        return SaleBook(state_dir / FILE)
    except sqlite3.Error as exc:
        raise OSError(f"cannot open {state_dir / FILE}: {exc}") from exc
