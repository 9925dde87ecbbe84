"""What this edge asked the PT to book, written before each command is sent and after its answer.

ZVT has no look-up by the ECR's reference, so the driver keeps its own: each booking row holds the job's
reference and the PT's receipt number before the command (``baseline``); the answer adds the booking's
own receipt number. After a crash a ``pending`` row is resolved against the PT's last stored receipt
(``terminal.ZvtTerminal.find``). One durable SQLite file per terminal address.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from edge.durable_sqlite import immediate_transaction, open_durable
from edge.terminals.zvt.bmp import StatusInformation

Kind = Literal["sale", "refund", "reversal"]
State = Literal["pending", "approved", "declined", "absent", "reversed"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS bookings (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        reference TEXT NOT NULL,
        kind TEXT NOT NULL,
        amount INTEGER NOT NULL,
        currency TEXT NOT NULL,
        state TEXT NOT NULL,
        baseline INTEGER,
        receipt_no INTEGER,
        trace INTEGER,
        at INTEGER NOT NULL,
        batch INTEGER,
        receipt TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX IF NOT EXISTS bookings_by_reference ON bookings (reference, kind)",
)
_COLUMNS = "id, reference, kind, amount, currency, state, baseline, receipt_no, trace, at, batch, receipt"


class Booking(BaseModel):
    id: int
    reference: str
    kind: Kind
    amount: int
    currency: str
    state: State
    baseline: int | None
    receipt_no: int | None
    trace: int | None
    at: int
    batch: int | None
    receipt: str


class Ledger:
    def __init__(self, path: Path) -> None:
        self._lock = threading.RLock()
        self._db = open_durable(path)
        with self._tx() as db:
            for statement in _SCHEMA:
                db.execute(statement)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- the PT's last receipt number, 0 once the PT proved it had none -----------------------------

    def last_receipt(self) -> int | None:
        return self._setting("last_receipt")

    def set_last_receipt(self, receipt_no: int) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO settings VALUES ('last_receipt', ?)", (receipt_no,))

    def day_end_pending(self) -> bool:
        """An end-of-day was sent and its answer never read."""
        return bool(self._setting("day_end_pending"))

    def set_day_end_pending(self, pending: bool) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO settings VALUES ('day_end_pending', ?)", (int(pending),))

    # -- bookings ------------------------------------------------------------------------------------

    def begin(self, reference: str, kind: Kind, amount: int, currency: str, baseline: int | None) -> int:
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO bookings (reference, kind, amount, currency, state, baseline, at) VALUES (?, ?, ?, ?, 'pending', ?, ?)",
                (reference, kind, amount, currency, baseline, int(time.time())),
            )
            return int(cursor.lastrowid or 0)

    def finish(self, booking_id: int, state: State, status: StatusInformation | None = None, receipt: list[str] | None = None) -> Booking:
        receipt_no = status.receipt_no if status else None
        with self._tx() as db:
            db.execute(
                "UPDATE bookings SET state = ?, receipt_no = ?, trace = ?, receipt = ? WHERE id = ?",
                (state, receipt_no, status.trace if status else None, "\n".join(receipt or []), booking_id),
            )
            if receipt_no is not None:  # a declined booking may take a receipt number too: it is the PT's last
                db.execute("INSERT OR REPLACE INTO settings VALUES ('last_receipt', ?)", (receipt_no,))
        found = self._rows("WHERE id = ?", (booking_id,))
        return found[0]

    def mark_reversed(self, booking_id: int) -> None:
        with self._tx() as db:
            db.execute("UPDATE bookings SET state = 'reversed' WHERE id = ?", (booking_id,))

    def pending(self) -> list[Booking]:
        return self._rows("WHERE state = 'pending' ORDER BY id", ())

    def latest(self, reference: str, kinds: tuple[Kind, ...] = ("sale", "refund")) -> Booking | None:
        marks = ", ".join("?" * len(kinds))
        found = self._rows(f"WHERE reference = ? AND kind IN ({marks}) ORDER BY id DESC LIMIT 1", (reference, *kinds))
        return found[0] if found else None

    def holder_of(self, receipt_no: int) -> Booking | None:
        """The booking the PT's receipt number is already attributed to (receipt numbers restart only at 9999)."""
        found = self._rows("WHERE receipt_no = ? AND state IN ('approved', 'reversed') ORDER BY id DESC LIMIT 1", (receipt_no,))
        return found[0] if found else None

    def open_batch(self) -> list[Booking]:
        return self._rows("WHERE batch IS NULL AND state IN ('approved', 'reversed') ORDER BY id", ())

    def close_batch(self) -> int:
        with self._tx() as db:
            batch = (self._setting("batch") or 0) + 1
            db.execute("UPDATE bookings SET batch = ? WHERE batch IS NULL AND state IN ('approved', 'reversed')", (batch,))
            db.execute("INSERT OR REPLACE INTO settings VALUES ('batch', ?)", (batch,))
        return batch

    # -- internals -------------------------------------------------------------------------------------

    def _setting(self, key: str) -> int | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else int(row[0])

    def _rows(self, where: str, params: tuple[object, ...]) -> list[Booking]:
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM bookings {where}", params).fetchall()
        return [Booking.model_validate(dict(zip(_COLUMNS.split(", "), row, strict=True))) for row in rows]

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self._db, self._lock)
