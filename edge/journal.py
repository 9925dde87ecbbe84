"""The edge's durable journal: what happened to every job, device operation and queue message.

SQLite in WAL mode with ``synchronous=FULL``: every state change below is one
committed transaction, on disk before the next step starts. A job moves

    received -> printing -> printed | failed -> reported
                    \\-> received (device proved nothing was printed)
    any -> rejected (poison, or refused for good by the cloud)

``printing`` is written *before* the device is called and left only when the
device has answered, so after a crash it means "a receipt may exist: ask the
device before printing again".
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from chalicelib.contracts import FiscalJob, JobResult
from edge.durable_sqlite import immediate_transaction, open_durable


class JobState(str, Enum):
    RECEIVED = "received"
    PRINTING = "printing"
    PRINTED = "printed"
    FAILED = "failed"
    REPORTED = "reported"
    REJECTED = "rejected"


DEVICE_WORK = (JobState.RECEIVED, JobState.PRINTING)
AWAITING_ACK = (JobState.PRINTED, JobState.FAILED)
BACKLOG = DEVICE_WORK + AWAITING_ACK
SETTLED = (JobState.REPORTED, JobState.REJECTED)

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS jobs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id TEXT NOT NULL UNIQUE,
        order_id TEXT,
        state TEXT NOT NULL,
        body TEXT NOT NULL,
        amount INTEGER,
        result TEXT,
        fiscal_number TEXT,
        device TEXT,
        printed_at INTEGER,
        error_code TEXT,
        error_message TEXT,
        device_attempts INTEGER NOT NULL DEFAULT 0,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        result_ms INTEGER,
        reported_ms INTEGER
    )""",
    "CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state)",
    "CREATE INDEX IF NOT EXISTS jobs_by_created ON jobs (created_ms)",
    """CREATE TABLE IF NOT EXISTS operations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id TEXT,
        action_type TEXT NOT NULL,
        device_name TEXT NOT NULL,
        state TEXT NOT NULL,
        started_ms INTEGER NOT NULL,
        finished_ms INTEGER,
        amount_cents INTEGER,
        fiscal_number TEXT,
        error_code TEXT,
        error_message TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS operations_by_job ON operations (job_id)",
    """CREATE TABLE IF NOT EXISTS messages (
        message_id TEXT PRIMARY KEY,
        job_id TEXT NOT NULL,
        receipt_handle TEXT NOT NULL,
        receive_count INTEGER NOT NULL,
        first_received_ms INTEGER NOT NULL,
        last_received_ms INTEGER NOT NULL,
        deleted_ms INTEGER
    )""",
    "CREATE INDEX IF NOT EXISTS messages_by_job ON messages (job_id)",
    """CREATE TABLE IF NOT EXISTS charges (
        job_id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        terminal TEXT NOT NULL,
        amount INTEGER NOT NULL,
        approval_code TEXT,
        rrn TEXT,
        updated_ms INTEGER NOT NULL
    )""",
)

# Columns added to ``operations`` after its first release; an older journal gains them on open.
_OPERATION_COLUMNS = {"device_id": "TEXT", "description": "TEXT", "full_text": "TEXT", "request": "TEXT"}

_MAX_BODY = 64_000
_MAX_TEXT = 200_000


class ActionType(str, Enum):
    """Device operations, named as seed 000's journal action types."""

    PRINT_RECEIPT = "PrintReceipt"
    NON_FISCAL_RECEIPT = "NonFiscalReceipt"
    Z_REPORT = "ZReport"
    X_REPORT = "XReport"
    SALE = "Sale"
    SETTLEMENT = "Settlement"
    DEPOSIT = "Deposit"
    WITHDRAW = "Withdraw"
    FISCAL_MEMORY_REPORT = "FiscalMemoryReport"
    ANAF_EXPORT = "AnafExport"
    SERVICE_CONNECTION = "ServiceConnection"


# Reconciliation look-ups are journaled too, but they are no device operation of their own.
_LOOKUPS = ("FindReceipt", "FindCharge")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class InboundMessage(BaseModel):
    """One delivery of an SQS message: the same message redelivered keeps its id, gets a new handle."""

    message_id: str
    receipt_handle: str
    body: str
    receive_count: int = 1


class JobRow(BaseModel):
    seq: int
    job_id: str
    order_id: str | None
    state: JobState
    body: str
    amount: int | None
    result: JobResult | None
    fiscal_number: str | None
    device: str | None
    printed_at: int | None
    error_code: str | None
    error_message: str | None
    device_attempts: int
    created_ms: int
    updated_ms: int
    result_ms: int | None
    reported_ms: int | None

    def job(self) -> FiscalJob:
        return FiscalJob.model_validate_json(self.body)


class ChargeState(str, Enum):
    """A card charge: ``charging`` is written before the terminal is called, so after a crash or a
    timeout it means "the card may have been charged: ask the terminal by reference"."""

    NONE = "none"
    CHARGING = "charging"
    APPROVED = "approved"
    DECLINED = "declined"


class ChargeRow(BaseModel):
    job_id: str
    state: ChargeState
    terminal: str
    amount: int
    approval_code: str | None
    rrn: str | None


class MessageRow(BaseModel):
    message_id: str
    job_id: str
    receipt_handle: str


class JournalEntry(BaseModel):
    """One device operation, with every field of seed 000's journal entry; times in epoch ms.

    ``success`` is true only for an operation the device completed; ``state`` tells a
    failed operation from one still ``started`` (under way, or cut short by a crash).
    """

    id: int
    timestamp: str
    device_name: str
    device_id: str | None
    action_type: ActionType
    description: str | None
    success: bool
    error_message: str | None
    receipt_data: dict[str, Any] | None
    amount_cents: int | None
    full_text: str | None
    state: Literal["started", "succeeded", "failed"]
    error_code: str | None
    job_id: str | None
    order_id: str | None
    fiscal_number: str | None
    started_at: int
    finished_at: int | None


class JobEntry(BaseModel):
    """A job as ``edge journal --jobs`` shows it; times in epoch ms."""

    id: int
    job_id: str
    order_id: str | None
    state: JobState
    device_name: str | None
    fiscal_number: str | None
    amount_cents: int | None
    timestamp: str
    created_at: int
    updated_at: int
    printed_at: int | None
    reported_at: int | None
    error_code: str | None
    error_message: str | None


class LastResult(BaseModel):
    job_id: str
    order_id: str | None
    state: JobState
    status: str | None
    fiscal_number: str | None
    reason: str | None
    at: int


class JournalSummary(BaseModel):
    backlog: int
    counts: dict[str, int]
    last_result: LastResult | None


_JOB_COLUMNS = ", ".join(JobRow.model_fields)


class Journal:
    """Thread-safe access to the journal file; each public call is one transaction."""

    def __init__(self, path: Path, *, readonly: bool = False, durable: bool = True) -> None:
        self.path = path
        self._lock = threading.RLock()
        if readonly:
            self._db = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None, check_same_thread=False, timeout=10
            )
            return
        self._db = open_durable(path, durable=durable)
        with self._tx() as db:
            for statement in _SCHEMA:
                db.execute(statement)
            present = {row[1] for row in db.execute("PRAGMA table_info(operations)").fetchall()}
            for column, kind in _OPERATION_COLUMNS.items():
                if column not in present:
                    db.execute(f"ALTER TABLE operations ADD COLUMN {column} {kind}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- intake -------------------------------------------------------------------------

    def accept(self, job: FiscalJob, message: InboundMessage) -> tuple[JobRow, bool]:
        """Record a delivery of ``job``; returns the job's row and whether the job is new."""
        ts = now_ms()
        with self._tx() as db:
            existing = self._job(db, job.job_id)
            if existing is None:
                db.execute(
                    "INSERT INTO jobs (job_id, order_id, state, body, amount, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (job.job_id, job.order_id, JobState.RECEIVED.value, job.model_dump_json(), job.total, ts, ts),
                )
            self._record_message(db, job.job_id, message, ts)
            row = self._job(db, job.job_id)
        assert row is not None
        return row, existing is None

    def reject_message(self, message: InboundMessage, job_id: str, code: str, reason: str) -> JobRow:
        """Journal a message that will never become a job (poison, wrong shop) as ``rejected``."""
        ts = now_ms()
        with self._tx() as db:
            if self._job(db, job_id) is None:
                db.execute(
                    "INSERT INTO jobs (job_id, state, body, error_code, error_message, created_ms, updated_ms)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (job_id, JobState.REJECTED.value, message.body[:_MAX_BODY], code, reason[:500], ts, ts),
                )
            self._record_message(db, job_id, message, ts)
            row = self._job(db, job_id)
        assert row is not None
        return row

    # -- device steps -------------------------------------------------------------------

    def begin_print(self, job_id: str, device_name: str, amount: int, device_id: str | None = None) -> int:
        """Mark the job ``printing`` and open a PrintReceipt operation, before the device is called."""
        return self._begin(job_id, ActionType.PRINT_RECEIPT.value, device_name, amount, JobState.PRINTING, device_id)

    def begin_lookup(self, job_id: str, device_name: str, device_id: str | None = None) -> int:
        """Open a FindReceipt operation for a job whose print outcome is unknown."""
        return self._begin(job_id, "FindReceipt", device_name, None, None, device_id)

    def record_printed(self, job_id: str, op_id: int, result: JobResult, full_text: str | None = None) -> None:
        """The receipt exists; an earlier PrintReceipt cut short by a crash is the one that printed it."""
        assert result.fiscal is not None
        ts = now_ms()
        with self._tx() as db:
            self._finish_op(db, op_id, ts, success=True, fiscal_number=result.fiscal.fiscal_number, full_text=full_text)
            self._settle_uncertain_print(db, job_id, op_id, ts, printed=True, fiscal_number=result.fiscal.fiscal_number, full_text=full_text)
            db.execute(
                "UPDATE jobs SET state = ?, result = ?, fiscal_number = ?, device = ?, printed_at = ?, error_code = NULL,"
                " error_message = NULL, result_ms = ?, updated_ms = ? WHERE job_id = ?",
                (
                    JobState.PRINTED.value,
                    result.model_dump_json(),
                    result.fiscal.fiscal_number,
                    result.fiscal.device,
                    result.fiscal.printed_at,
                    ts,
                    ts,
                    job_id,
                ),
            )

    def record_not_printed(self, job_id: str, op_id: int) -> None:
        """The device proved there is no receipt for the job: it may be printed (again)."""
        ts = now_ms()
        with self._tx() as db:
            self._finish_op(db, op_id, ts, success=True)
            self._settle_uncertain_print(db, job_id, op_id, ts, printed=False)
            db.execute("UPDATE jobs SET state = ?, updated_ms = ? WHERE job_id = ?", (JobState.RECEIVED.value, ts, job_id))

    def record_device_error(self, job_id: str, op_id: int, code: str, message: str, *, uncertain: bool, counts: bool) -> JobRow:
        """A transient device fault; the job stays ``printing`` when the receipt may exist."""
        ts = now_ms()
        state = JobState.PRINTING if uncertain else JobState.RECEIVED
        with self._tx() as db:
            self._finish_op(db, op_id, ts, success=False, error_code=code, error_message=message)
            db.execute(
                "UPDATE jobs SET state = ?, error_code = ?, error_message = ?, device_attempts = device_attempts + ?,"
                " updated_ms = ? WHERE job_id = ?",
                (state.value, code, message[:500], 1 if counts else 0, ts, job_id),
            )
            row = self._job(db, job_id)
        assert row is not None
        return row

    def record_failed(self, job_id: str, op_id: int | None, code: str, result: JobResult) -> None:
        """The job will not be printed; its failed result waits for delivery."""
        ts = now_ms()
        with self._tx() as db:
            if op_id is not None:
                self._finish_op(db, op_id, ts, success=False, error_code=code, error_message=result.message)
            db.execute(
                "UPDATE jobs SET state = ?, result = ?, error_code = ?, error_message = ?, result_ms = ?, updated_ms = ? WHERE job_id = ?",
                (JobState.FAILED.value, result.model_dump_json(), code, result.message, ts, ts, job_id),
            )

    # -- other device operations ----------------------------------------------------------

    def begin_operation(
        self, action: ActionType, device_name: str, device_id: str | None, amount: int | None, request: dict[str, Any], description: str
    ) -> int:
        """Open an operation not tied to a job (report, cash move, text…), before the device is called."""
        ts = now_ms()
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO operations (action_type, device_name, device_id, state, started_ms, amount_cents, request, description)"
                " VALUES (?, ?, ?, 'started', ?, ?, ?, ?)",
                (action.value, device_name, device_id, ts, amount, json.dumps(request)[:_MAX_BODY], description[:500]),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def finish_operation(
        self,
        op_id: int,
        *,
        success: bool,
        amount: int | None = None,
        full_text: str | None = None,
        number: str | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> JournalEntry:
        """Close an operation with the device's answer: its amount and raw text, or its error."""
        ts = now_ms()
        with self._tx() as db:
            self._finish_op(db, op_id, ts, success=success, fiscal_number=number, error_code=error_code, error_message=error_message, full_text=full_text)
            if amount is not None:
                db.execute("UPDATE operations SET amount_cents = ? WHERE id = ?", (amount, op_id))
        entry = self.entry(op_id)
        assert entry is not None
        return entry

    def entry(self, op_id: int) -> JournalEntry | None:
        found = self._entries("o.id = ?", (op_id,))
        return found[0] if found else None

    # -- card charges ---------------------------------------------------------------------

    def charge(self, job_id: str) -> ChargeRow | None:
        with self._lock:
            row = self._db.execute(
                "SELECT job_id, state, terminal, amount, approval_code, rrn FROM charges WHERE job_id = ?", (job_id,)
            ).fetchone()
        if row is None:
            return None
        return ChargeRow(job_id=row[0], state=ChargeState(row[1]), terminal=row[2], amount=row[3], approval_code=row[4], rrn=row[5])

    def begin_charge(self, job_id: str, terminal: str, amount: int, *, lookup: bool = False) -> int:
        """Before the terminal is called: the charge becomes ``charging`` and a Sale operation opens."""
        ts = now_ms()
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO operations (job_id, action_type, device_name, state, started_ms, amount_cents) VALUES (?, ?, ?, 'started', ?, ?)",
                (job_id, "FindCharge" if lookup else "Sale", terminal, ts, amount),
            )
            db.execute(
                "INSERT INTO charges (job_id, state, terminal, amount, updated_ms) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (job_id) DO UPDATE SET state = excluded.state, terminal = excluded.terminal, updated_ms = excluded.updated_ms",
                (job_id, ChargeState.CHARGING.value, terminal, amount, ts),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def record_charge(self, job_id: str, op_id: int, state: ChargeState, *, approval_code: str | None = None, rrn: str | None = None,
                      error_code: str | None = None, error_message: str | None = None) -> None:
        """After the terminal answered (or proved there is no charge): the charge's new state."""
        ts = now_ms()
        with self._tx() as db:
            self._finish_op(db, op_id, ts, success=error_code is None, error_code=error_code, error_message=error_message)
            db.execute(
                "UPDATE charges SET state = ?, approval_code = COALESCE(?, approval_code), rrn = COALESCE(?, rrn), updated_ms = ? WHERE job_id = ?",
                (state.value, approval_code, rrn, ts, job_id),
            )

    # -- reporting and deletion -----------------------------------------------------------

    def record_reported(self, job_id: str) -> None:
        """The cloud acknowledged the job's result."""
        ts = now_ms()
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET state = ?, reported_ms = ?, updated_ms = ? WHERE job_id = ? AND state IN (?, ?)",
                (JobState.REPORTED.value, ts, ts, job_id, *(s.value for s in AWAITING_ACK)),
            )

    def record_rejected(self, job_id: str, code: str, message: str) -> None:
        """The cloud refused the job's result for good."""
        ts = now_ms()
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET state = ?, error_code = ?, error_message = ?, updated_ms = ? WHERE job_id = ?",
                (JobState.REJECTED.value, code, message[:500], ts, job_id),
            )

    def record_deleted(self, message_id: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE messages SET deleted_ms = ? WHERE message_id = ?", (now_ms(), message_id))

    # -- queries ------------------------------------------------------------------------

    def job(self, job_id: str) -> JobRow | None:
        with self._lock:
            return self._job(self._db, job_id)

    def device_work(self) -> list[JobRow]:
        """Jobs the device still has to print or reconcile, oldest first."""
        return self._jobs(f"WHERE state IN ({_marks(DEVICE_WORK)}) ORDER BY seq", tuple(s.value for s in DEVICE_WORK))

    def pending_results(self) -> list[JobRow]:
        """Results not yet acknowledged, in the order they were produced."""
        return self._jobs(f"WHERE state IN ({_marks(AWAITING_ACK)}) ORDER BY result_ms, seq", tuple(s.value for s in AWAITING_ACK))

    def open_messages(self, job_id: str) -> list[MessageRow]:
        with self._lock:
            rows = self._db.execute(
                "SELECT message_id, job_id, receipt_handle FROM messages"
                " WHERE job_id = ? AND deleted_ms IS NULL ORDER BY first_received_ms",
                (job_id,),
            ).fetchall()
        return [MessageRow(message_id=m, job_id=j, receipt_handle=h) for m, j, h in rows]

    def deletable_messages(self) -> list[MessageRow]:
        """Messages still on the queue whose job is settled (reported or rejected)."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT m.message_id, m.job_id, m.receipt_handle FROM messages m JOIN jobs j ON j.job_id = m.job_id"
                f" WHERE m.deleted_ms IS NULL AND j.state IN ({_marks(SETTLED)}) ORDER BY j.seq, m.first_received_ms",
                tuple(s.value for s in SETTLED),
            ).fetchall()
        return [MessageRow(message_id=m, job_id=j, receipt_handle=h) for m, j, h in rows]

    def entries(self, start_ms: int, end_ms: int) -> list[JournalEntry]:
        """Device operations started between the two instants (inclusive), oldest first."""
        return self._entries("o.started_ms BETWEEN ? AND ?", (start_ms, end_ms))

    def jobs_between(self, start_ms: int, end_ms: int) -> list[JobEntry]:
        """Jobs journaled between the two instants (inclusive), oldest first, rejected messages included."""
        return [_job_entry(row) for row in self._jobs("WHERE created_ms BETWEEN ? AND ? ORDER BY seq", (start_ms, end_ms))]

    def _entries(self, where: str, params: tuple[object, ...]) -> list[JournalEntry]:
        lookups = ", ".join("?" for _ in _LOOKUPS)
        with self._lock:
            rows = self._db.execute(
                "SELECT o.id, o.started_ms, o.finished_ms, o.device_name, o.device_id, o.action_type, o.description, o.state,"
                " o.error_code, o.error_message, o.amount_cents, o.full_text, o.fiscal_number, o.job_id, j.order_id, j.body"
                f" FROM operations o LEFT JOIN jobs j ON j.job_id = o.job_id WHERE o.action_type NOT IN ({lookups}) AND {where} ORDER BY o.id",
                (*_LOOKUPS, *params),
            ).fetchall()
        return [_operation_entry(row) for row in rows]

    def summary(self) -> JournalSummary:
        with self._lock:
            counts = dict(self._db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall())
        last = self._jobs("WHERE result_ms IS NOT NULL ORDER BY result_ms DESC, seq DESC LIMIT 1", ())
        return JournalSummary(
            backlog=sum(counts.get(s.value, 0) for s in BACKLOG),
            counts={s.value: counts.get(s.value, 0) for s in JobState},
            last_result=_last_result(last[0]) if last else None,
        )

    # -- internals ----------------------------------------------------------------------

    def _begin(self, job_id: str, action: str, device_name: str, amount: int | None, state: JobState | None, device_id: str | None) -> int:
        ts = now_ms()
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO operations (job_id, action_type, device_name, device_id, state, started_ms, amount_cents)"
                " VALUES (?, ?, ?, ?, 'started', ?, ?)",
                (job_id, action, device_name, device_id, ts, amount),
            )
            if state is not None:
                db.execute("UPDATE jobs SET state = ?, updated_ms = ? WHERE job_id = ?", (state.value, ts, job_id))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    @staticmethod
    def _finish_op(
        db: sqlite3.Connection,
        op_id: int,
        ts: int,
        *,
        success: bool,
        fiscal_number: str | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        full_text: str | None = None,
    ) -> None:
        db.execute(
            "UPDATE operations SET state = ?, finished_ms = ?, fiscal_number = ?, error_code = ?, error_message = ?, full_text = ? WHERE id = ?",
            ("succeeded" if success else "failed", ts, fiscal_number, error_code, (error_message or "")[:500] or None, (full_text or "")[:_MAX_TEXT] or None, op_id),
        )

    @staticmethod
    def _settle_uncertain_print(
        db: sqlite3.Connection, job_id: str, lookup_op: int, ts: int, *, printed: bool, fiscal_number: str | None = None, full_text: str | None = None
    ) -> None:
        """After a look-up, the PrintReceipt before it (cut short by a crash, or its answer lost) has a known outcome."""
        row = db.execute(
            "SELECT id, state, error_code FROM operations WHERE job_id = ? AND action_type = ? AND id < ? ORDER BY id DESC LIMIT 1",
            (job_id, ActionType.PRINT_RECEIPT.value, lookup_op),
        ).fetchone()
        if row is None or row[1] == "succeeded" or (db.execute("SELECT action_type FROM operations WHERE id = ?", (lookup_op,)).fetchone()[0] != "FindReceipt"):
            return
        op_id, state, error_code = row
        if printed:
            cause = f"its answer was lost ({error_code})" if error_code else "it was cut short"
            db.execute(
                "UPDATE operations SET state = 'succeeded', finished_ms = COALESCE(finished_ms, ?), fiscal_number = ?, full_text = ?,"
                " error_code = NULL, error_message = NULL, description = ? WHERE id = ?",
                (ts, fiscal_number, full_text, f"Fiscal receipt No {fiscal_number}: {cause}, the device holds the receipt", op_id),
            )
        elif state == "started":
            db.execute(
                "UPDATE operations SET state = 'failed', finished_ms = ?, error_code = 'E_NOT_PRINTED', error_message = ? WHERE id = ?",
                (ts, "cut short; the device proved no receipt was printed", op_id),
            )

    @staticmethod
    def _record_message(db: sqlite3.Connection, job_id: str, message: InboundMessage, ts: int) -> None:
        db.execute(
            "INSERT INTO messages (message_id, job_id, receipt_handle, receive_count, first_received_ms, last_received_ms)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO UPDATE SET receipt_handle = excluded.receipt_handle,"
            " receive_count = excluded.receive_count, last_received_ms = excluded.last_received_ms, deleted_ms = NULL",
            (message.message_id, job_id, message.receipt_handle, message.receive_count, ts, ts),
        )

    @staticmethod
    def _job(db: sqlite3.Connection, job_id: str) -> JobRow | None:
        row = db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return _job_row(row) if row else None

    def _jobs(self, where: str, params: tuple[object, ...]) -> list[JobRow]:
        with self._lock:
            rows = self._db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs {where}", params).fetchall()
        return [_job_row(row) for row in rows]

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self._db, self._lock)


def _marks(states: tuple[JobState, ...]) -> str:
    return ", ".join("?" for _ in states)


def _job_row(row: tuple[object, ...]) -> JobRow:
    values = dict(zip(JobRow.model_fields, row, strict=True))
    if values["result"] is not None:
        values["result"] = JobResult.model_validate_json(str(values["result"]))
    return JobRow.model_validate(values)


def iso_ms(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _job_entry(row: JobRow) -> JobEntry:
    return JobEntry(
        id=row.seq,
        job_id=row.job_id,
        order_id=row.order_id,
        state=row.state,
        device_name=row.device,
        fiscal_number=row.fiscal_number,
        amount_cents=row.amount,
        timestamp=iso_ms(row.created_ms),
        created_at=row.created_ms,
        updated_at=row.updated_ms,
        printed_at=row.printed_at * 1000 if row.printed_at is not None else None,
        reported_at=row.reported_ms,
        error_code=row.error_code,
        error_message=row.error_message,
    )


def _operation_entry(row: tuple[Any, ...]) -> JournalEntry:
    (op_id, started, finished, device_name, device_id, action, description, state, error_code, error_message, amount, full_text,
     fiscal_number, job_id, order_id, body) = row
    receipt_data = json.loads(body) if action == ActionType.PRINT_RECEIPT.value and body else None
    if description is None and action == ActionType.PRINT_RECEIPT.value:
        description = f"Fiscal receipt for order {order_id}" + (f": No {fiscal_number}" if fiscal_number else "")
    return JournalEntry(
        id=op_id,
        timestamp=iso_ms(started),
        device_name=device_name,
        device_id=device_id,
        action_type=ActionType(action),
        description=description,
        success=state == "succeeded",
        error_message=error_message,
        receipt_data=receipt_data,
        amount_cents=amount,
        full_text=full_text,
        state=state,
        error_code=error_code,
        job_id=job_id,
        order_id=order_id,
        fiscal_number=fiscal_number,
        started_at=started,
        finished_at=finished,
    )


def _last_result(row: JobRow) -> LastResult:
    return LastResult(
        job_id=row.job_id,
        order_id=row.order_id,
        state=row.state,
        status=row.result.status.value if row.result else None,
        fiscal_number=row.fiscal_number,
        reason=row.result.reason.value if row.result and row.result.reason else None,
        at=row.result_ms or row.updated_ms,
    )
