"""A simulated card terminal keeping its transactions in a SQLite file, like a real terminal's batch.

The outcome of each coming ``sale``/``refund`` is taken from a queue any process can fill
(``script``): ``approve``, ``decline``, ``cancel`` (by the customer), ``timeout`` (no
answer, nothing charged) or ``lost`` (charged, but the answer never arrives). An empty
queue approves. ``reverse`` takes its outcome from the same queue (``decline`` and ``cancel`` refuse it), and
like a real terminal's store refuses to reverse a reference without an approved sale of the open batch, or twice. Like a real terminal it charges whatever it is asked to, even the same
reference twice: counting transactions per reference is how tests prove the edge never
charges a job twice.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Literal

from edge.durable_sqlite import immediate_transaction, open_durable
from edge.faults import crashpoint
from edge.terminals.base import (
    CardTransaction,
    PaymentCancelled,
    PaymentDeclined,
    PosTerminal,
    ReversalRefused,
    Settlement,
    TerminalStatus,
    TerminalTimeout,
)

MANUFACTURER = "Simulated"
MODELS = ("Simulated",)
STATE_FILE = "simulated_terminal.sqlite"
Outcome = Literal["approve", "decline", "cancel", "timeout", "lost"]
OUTCOMES: tuple[Outcome, ...] = ("approve", "decline", "cancel", "timeout", "lost")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS transactions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        reference TEXT NOT NULL,
        kind TEXT NOT NULL,
        amount INTEGER NOT NULL,
        currency TEXT NOT NULL,
        approval_code TEXT NOT NULL,
        rrn TEXT NOT NULL,
        at INTEGER NOT NULL,
        batch INTEGER
    )""",
    "CREATE INDEX IF NOT EXISTS transactions_by_reference ON transactions (reference)",
)


class SimulatedTerminal(PosTerminal):
    def __init__(self, path: Path, name: str = "Card terminal", timeout_seconds: float = 90.0) -> None:
        self.name = name
        self._timeout = timeout_seconds
        self._lock = threading.RLock()
        self._db = open_durable(path)
        with self._tx() as db:
            for statement in _SCHEMA:
                db.execute(statement)
            db.execute("INSERT OR IGNORE INTO settings VALUES ('script', '[]')")
            db.execute("INSERT OR IGNORE INTO settings VALUES ('batch', '1')")

    # -- service side (tests, demo) ------------------------------------------------------

    def script(self, *outcomes: Outcome) -> None:
        """Queue the outcomes of the next calls."""
        for outcome in outcomes:
            if outcome not in OUTCOMES:
                raise ValueError(f"unknown outcome {outcome!r} (known: {', '.join(OUTCOMES)})")
        with self._tx() as db:
            queued = json.loads(self._setting(db, "script")) + list(outcomes)
            db.execute("UPDATE settings SET value = ? WHERE key = 'script'", (json.dumps(queued),))

    def transactions(self, reference: str | None = None) -> list[CardTransaction]:
        where, params = ("WHERE reference = ?", (reference,)) if reference else ("", ())
        with self._lock:
            rows = self._db.execute(f"SELECT reference, kind, amount, currency, approval_code, rrn, at FROM transactions {where} ORDER BY id", params).fetchall()
        return [_transaction(row) for row in rows]

    # -- PosTerminal ----------------------------------------------------------------------

    def sale(self, reference: str, amount: int, currency: str) -> CardTransaction:
        return self._transact("sale", reference, amount, currency)

    def refund(self, reference: str, amount: int, currency: str) -> CardTransaction:
        return self._transact("refund", reference, amount, currency)

    def reverse(self, reference: str) -> CardTransaction:
        with self._lock:
            kinds = [row[0] for row in self._db.execute(
                "SELECT kind FROM transactions WHERE reference = ? AND batch IS NULL ORDER BY id", (reference,)
            ).fetchall()]
        if "sale" not in kinds:
            raise ReversalRefused(f"no approved card sale for {reference} in the open batch to reverse")
        if "reversal" in kinds:
            raise ReversalRefused(f"the card sale for {reference} was reversed already")
        sale = next(t for t in self.transactions(reference) if t.kind == "sale")
        return self._transact("reversal", reference, sale.amount, sale.currency)

    def find(self, reference: str) -> CardTransaction | None:
        found = self.transactions(reference)
        return found[-1] if found else None

    def settlement(self) -> Settlement:
        with self._tx() as db:
            batch = int(self._setting(db, "batch"))
            # a reversed sale is no sale of the batch (as a ZVT PT's end-of-day totals leave it out)
            rows = db.execute(
                "SELECT kind, COUNT(*), COALESCE(SUM(amount), 0) FROM transactions t WHERE batch IS NULL AND NOT (kind = 'sale' AND EXISTS"
                " (SELECT 1 FROM transactions r WHERE r.reference = t.reference AND r.kind = 'reversal' AND r.batch IS NULL)) GROUP BY kind"
            ).fetchall()
            db.execute("UPDATE transactions SET batch = ? WHERE batch IS NULL", (batch,))
            db.execute("UPDATE settings SET value = ? WHERE key = 'batch'", (str(batch + 1),))
        totals = {kind: (count, total) for kind, count, total in rows}
        sales, refunds = totals.get("sale", (0, 0)), totals.get("refund", (0, 0))
        return Settlement(batch=batch, sales=sales[0], sales_amount=sales[1], refunds=refunds[0], refunds_amount=refunds[1])

    def status(self) -> TerminalStatus:
        with self._lock:
            count = self._db.execute("SELECT COUNT(*) FROM transactions WHERE batch IS NULL").fetchone()[0]
        return TerminalStatus(terminal=f"{MANUFACTURER}:{self.name}", online=True, open_batch_count=count)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- internals --------------------------------------------------------------------------

    def _transact(self, kind: Literal["sale", "refund", "reversal"], reference: str, amount: int, currency: str) -> CardTransaction:
        with self._tx() as db:
            queued = json.loads(self._setting(db, "script"))
            outcome: Outcome = queued.pop(0) if queued else "approve"
            db.execute("UPDATE settings SET value = ? WHERE key = 'script'", (json.dumps(queued),))
        if kind == "reversal" and outcome in ("decline", "cancel"):
            raise ReversalRefused(f"the terminal refused the reversal of {reference}")
        if outcome == "decline":
            raise PaymentDeclined(f"card declined ({kind} {reference})")
        if outcome == "cancel":
            raise PaymentCancelled(f"cancelled by the customer ({kind} {reference})")
        if outcome == "timeout":
            raise TerminalTimeout(f"no answer from the terminal within {self._timeout}s ({kind} {reference})")
        row = (reference, kind, amount, currency, f"{secrets.randbelow(10**6):06d}", f"{secrets.randbelow(10**12):012d}", int(time.time()))
        with self._tx() as db:
            db.execute("INSERT INTO transactions (reference, kind, amount, currency, approval_code, rrn, at) VALUES (?, ?, ?, ?, ?, ?, ?)", row)
        crashpoint("during_reversal_call" if kind == "reversal" else "during_terminal_call")
        if outcome == "lost":
            raise TerminalTimeout(f"the terminal's answer was lost ({kind} {reference})")
        return _transaction(row)

    @staticmethod
    def _setting(db: sqlite3.Connection, key: str) -> str:
        return str(db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()[0])

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self._db, self._lock)


def _transaction(row: tuple[object, ...]) -> CardTransaction:
    reference, kind, amount, currency, approval_code, rrn, at = row
    return CardTransaction.model_validate(
        {"reference": reference, "kind": kind, "amount": amount, "currency": currency, "approval_code": approval_code, "rrn": rrn, "at": at}
    )
