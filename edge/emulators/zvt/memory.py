"""What the emulated PT stores: its bookings (receipt number, trace number, amount, kind), its end-of-day
records, the record "Repeat Receipt" repeats, and the outcome script the tests queue.

Receipt numbers count 1..9999 and trace numbers 1..999999 and then start again (BMP 87: 2 BCD bytes,
BMP 0B: 3 BCD bytes). A booking is stored when its status information is sent (spec §2.2.9 stores it after
the receipt; the emulator does not model the auto-reversal of §2.2.7 for a status information the ECR
never acknowledged: a real PT may undo such a booking, which the ECR's look-up reads just the same).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Literal, NamedTuple

from edge.durable_sqlite import immediate_transaction, open_durable

Outcome = Literal["approve", "decline", "cancel", "abort", "silent", "garbage", "half", "drop", "lost"]
OUTCOMES: tuple[Outcome, ...] = ("approve", "decline", "cancel", "abort", "silent", "garbage", "half", "drop", "lost")

_TABLES = (
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS bookings (
        receipt_no INTEGER NOT NULL, trace INTEGER NOT NULL, kind TEXT NOT NULL, amount INTEGER NOT NULL,
        currency INTEGER NOT NULL, reverses INTEGER, reversed INTEGER NOT NULL DEFAULT 0, closed INTEGER NOT NULL DEFAULT 0,
        stamp INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS day_ends (
        id INTEGER PRIMARY KEY AUTOINCREMENT, first_receipt INTEGER NOT NULL, last_receipt INTEGER NOT NULL,
        count INTEGER NOT NULL, total INTEGER NOT NULL, trace INTEGER NOT NULL, stamp INTEGER NOT NULL)""",
)


class Stored(NamedTuple):
    receipt_no: int
    trace: int
    kind: str
    amount: int
    currency: int
    reverses: int | None
    stamp: int


class DayEnd(NamedTuple):
    first_receipt: int
    last_receipt: int
    count: int
    total: int
    trace: int
    stamp: int


class PtMemory:
    def __init__(self, path: Path) -> None:
        self._lock = threading.RLock()
        self._db = open_durable(path)
        with self._write() as db:
            for table in _TABLES:
                db.execute(table)
            for name, value in (("receipt", "0"), ("trace", "0"), ("script", "[]"), ("last", "")):
                db.execute("INSERT OR IGNORE INTO counters VALUES (?, ?)", (name, value))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- the script of outcomes --------------------------------------------------------------------

    def script(self, *outcomes: Outcome) -> None:
        unknown = [o for o in outcomes if o not in OUTCOMES]
        if unknown:
            raise ValueError(f"unknown outcomes {unknown} (known: {', '.join(OUTCOMES)})")
        with self._write() as db:
            queued = json.loads(self._get(db, "script")) + list(outcomes)
            self._set(db, "script", json.dumps(queued))

    def next_outcome(self) -> Outcome:
        with self._write() as db:
            queued = json.loads(self._get(db, "script"))
            self._set(db, "script", json.dumps(queued[1:]))
        return queued[0] if queued else "approve"

    # -- bookings ----------------------------------------------------------------------------------------

    def book(self, kind: str, amount: int, currency: int, reverses: int | None = None) -> Stored:
        with self._write() as db:
            receipt_no = int(self._get(db, "receipt")) % 9999 + 1
            trace = int(self._get(db, "trace")) % 999999 + 1
            self._set(db, "receipt", str(receipt_no))
            self._set(db, "trace", str(trace))
            row = Stored(receipt_no, trace, kind, amount, currency, reverses, int(time.time()))
            db.execute("INSERT INTO bookings (receipt_no, trace, kind, amount, currency, reverses, stamp) VALUES (?, ?, ?, ?, ?, ?, ?)", row)
            if reverses is not None:
                db.execute("UPDATE bookings SET reversed = 1 WHERE receipt_no = ? AND closed = 0 AND kind = 'sale'", (reverses,))
            self._set(db, "last", f"booking:{receipt_no}")
        return row

    def open_sale(self, receipt_no: int) -> tuple[Stored, bool] | None:
        """A sale of the open batch with this receipt number, and whether it is reversed already."""
        with self._lock:
            found = self._db.execute(
                "SELECT receipt_no, trace, kind, amount, currency, reverses, stamp, reversed FROM bookings "
                "WHERE receipt_no = ? AND kind = 'sale' AND closed = 0 ORDER BY rowid DESC LIMIT 1",
                (receipt_no,),
            ).fetchone()
        return None if found is None else (Stored(*found[:7]), bool(found[7]))

    def bookings(self) -> list[Stored]:
        with self._lock:
            rows = self._db.execute("SELECT receipt_no, trace, kind, amount, currency, reverses, stamp FROM bookings ORDER BY rowid").fetchall()
        return [Stored(*row) for row in rows]

    def end_of_day(self) -> DayEnd:
        """Close the batch: net turnover = sales not reversed - refunds."""
        with self._write() as db:
            rows = db.execute("SELECT receipt_no, kind, amount, reversed FROM bookings WHERE closed = 0 ORDER BY rowid").fetchall()
            receipt = int(self._get(db, "receipt"))
            trace = int(self._get(db, "trace")) % 999999 + 1
            self._set(db, "trace", str(trace))
            counted = [(kind, amount) for _, kind, amount, reversed_ in rows if kind != "reversal" and not reversed_]
            total = sum(amount if kind == "sale" else -amount for kind, amount in counted)
            first = rows[0][0] if rows else receipt
            db.execute("UPDATE bookings SET closed = 1 WHERE closed = 0")
            day = DayEnd(first, receipt, len(counted), total, trace, int(time.time()))
            cursor = db.execute("INSERT INTO day_ends (first_receipt, last_receipt, count, total, trace, stamp) VALUES (?, ?, ?, ?, ?, ?)", day)
            self._set(db, "last", f"day_end:{cursor.lastrowid}")
        return day

    def last_record(self) -> Stored | DayEnd | None:
        """What "Repeat Receipt" repeats: the last booking or end-of-day, None on a fresh PT."""
        with self._lock:
            kind, _, key = str(self._db.execute("SELECT value FROM counters WHERE name = 'last'").fetchone()[0]).partition(":")
            if kind == "booking":
                row = self._db.execute(
                    "SELECT receipt_no, trace, kind, amount, currency, reverses, stamp FROM bookings WHERE receipt_no = ? ORDER BY rowid DESC LIMIT 1", (int(key),)
                ).fetchone()
                return Stored(*row)
            if kind == "day_end":
                row = self._db.execute("SELECT first_receipt, last_receipt, count, total, trace, stamp FROM day_ends WHERE id = ?", (int(key),)).fetchone()
                return DayEnd(*row)
        return None

    # -- internals -----------------------------------------------------------------------------------------

    @staticmethod
    def _get(db: sqlite3.Connection, name: str) -> str:
        return str(db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()[0])

    @staticmethod
    def _set(db: sqlite3.Connection, name: str, value: str) -> None:
        db.execute("UPDATE counters SET value = ? WHERE name = ?", (value, name))

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self._db, self._lock)
