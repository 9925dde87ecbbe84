"""The journal store: the SQL and the state transitions, one step per public call, committed when it returns unless made ``later``.

Fewer fsyncs, no state change durable later than the next device call (issue 22 point 5). A write made
``later=True``, and a ``batch(later=True)``, is done at once inside the connection's open transaction and
committed (one fsync) with the next write that is not ``later``, or by ``flush()`` or ``close()``. Every device
call that makes something (a receipt, a charge, a reversal, a report) is preceded by such a write (``begin_print``,
``begin_lookup``, ``begin_charge``, ``begin_reversal``, ``begin_operation``, ``begin_sale_print``…), so whatever
was held is on disk before the device is called. Until then a crash loses the held writes whole (SQLite ignores
WAL frames without their commit frame): the restart finds the state before them and reconciles it as if the
crash came just before they were made.

Why the poller's steps can share one fsync (the argument ``edge/poller.py`` relies on):

* ``received`` (a batch of up to 10 deliveries) waits for the first ``printing``: until a device call nothing
  outside depends on it, and a crash before that commit leaves the messages on the queue (they are deleted only
  once their job is settled), so they come back after their visibility timeout and are journaled then.
* ``printed`` of job N waits for ``printing`` of job N+1: between them there is no device call, and a crash
  in between leaves N ``printing``, which the restart settles by asking the device (it holds the receipt).
* ``reported`` marks wait only until the last result of the round is acknowledged: they are committed
  before any of their messages is deleted, so a crash never leaves a deleted message whose job the journal
  would report again.
* queue deletions wait for the next commit: a crash before it deletes the message again, which SQS answers
  as gone.

One serial printer therefore costs one fsync per receipt (its ``printing``) plus, per round of up to 10 jobs,
one for the last ``printed`` (on disk before its result is posted) and one for the ``reported`` marks.

Reads go through the same connection and so see the held writes; whoever acts outside on what it read (posts
a result, deletes a message) makes sure it is committed first, as the poller does with ``flush()``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from chalicelib.contracts import FiscalJob, JobResult
from edge.durable_sqlite import open_durable
from edge.journal.records import (
    AWAITING_ACK,
    BACKLOG,
    DEVICE_WORK,
    SETTLED,
    UNLISTED,
    ActionType,
    ChargeRow,
    ChargeState,
    InboundMessage,
    JobEntry,
    JobRow,
    JobState,
    JournalEntry,
    JournalSummary,
    MessageRow,
    job_to_entry,
    job_to_last_result,
    now_ms,
    row_to_job,
    row_to_operation_entry,
)
from edge.journal.sales import SalesLedger
from edge.journal.schema import (
    CHARGE_COLUMNS,
    MAX_BODY,
    MAX_TEXT,
    OPERATION_COLUMNS,
    SCHEMA,
)

_JOB_COLUMNS = ", ".join(JobRow.model_fields)


class Journal(SalesLedger):
    """Thread-safe access to the journal file; each public call is one step, committed when it returns unless it is
    made ``later``. The till's sales are in ``SalesLedger`` (``edge/journal/sales.py``)."""

    def __init__(self, path: Path, *, readonly: bool = False, durable: bool = True) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._batch_thread: int | None = None  # the thread inside ``batch()``, whose calls join its transaction
        if readonly:
            self._db = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None, check_same_thread=False, timeout=10
            )
            return
        self._db = open_durable(path, durable=durable)
        with self._tx() as db:
            for statement in SCHEMA:
                db.execute(statement)
            for table, columns in (("operations", OPERATION_COLUMNS), ("charges", CHARGE_COLUMNS)):
                present = {row[1] for row in db.execute(f"PRAGMA table_info({table})").fetchall()}
                for column, kind in columns.items():
                    if column not in present:
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    def close(self) -> None:
        with self._lock:
            self.flush()
            self._db.close()

    def flush(self) -> None:
        """Commit the writes made ``later``, if any (one fsync)."""
        with self._lock:
            if self._db.in_transaction:
                self._db.execute("COMMIT")

    def holds_writes(self) -> bool:
        """Whether writes made ``later`` still wait for a commit."""
        with self._lock:
            return self._db.in_transaction

    @contextmanager
    def batch(self, *, later: bool = False) -> Iterator[None]:
        """Every call of this thread inside the block is one step, undone whole if it raises; other threads wait for
        it. It is committed when it ends (one fsync) or, ``later``, with the next write (see the module's docstring)."""
        with self._step(later=later):
            outer, self._batch_thread = self._batch_thread, threading.get_ident()
            try:
                yield
            finally:
                self._batch_thread = outer

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
                    (job_id, JobState.REJECTED.value, message.body[:MAX_BODY], code, reason[:500], ts, ts),
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

    def record_printed(self, job_id: str, op_id: int, result: JobResult, full_text: str | None = None, *, later: bool = False) -> None:
        """The receipt exists; an earlier PrintReceipt cut short by a crash is the one that printed it. ``later``: committed
        with the next write (see the module's docstring); a crash before then leaves the job ``printing``, which the restart
        reconciles with the device."""
        assert result.fiscal is not None
        fiscal = result.fiscal
        ts = now_ms()
        result_json = result.model_dump_json()

        def write(db: sqlite3.Connection) -> None:
            self._finish_op(db, op_id, ts, success=True, fiscal_number=fiscal.fiscal_number, full_text=full_text)
            self._settle_uncertain_print(db, job_id, op_id, ts, printed=True, fiscal_number=fiscal.fiscal_number, full_text=full_text)
            db.execute(
                "UPDATE jobs SET state = ?, result = ?, fiscal_number = ?, device = ?, printed_at = ?, error_code = NULL,"
                " error_message = NULL, result_ms = ?, updated_ms = ? WHERE job_id = ?",
                (JobState.PRINTED.value, result_json, fiscal.fiscal_number, fiscal.device, fiscal.printed_at, ts, ts, job_id),
            )

        self._write(write, later=later)

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
                (action.value, device_name, device_id, ts, amount, json.dumps(request)[:MAX_BODY], description[:500]),
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
        with self._reading() as db:
            row = db.execute(
                "SELECT job_id, state, terminal, amount, approval_code, rrn, failure, failure_code FROM charges WHERE job_id = ?", (job_id,)
            ).fetchone()
        if row is None:
            return None
        return ChargeRow(
            job_id=row[0], state=ChargeState(row[1]), terminal=row[2], amount=row[3], approval_code=row[4], rrn=row[5],
            failure=JobResult.model_validate_json(row[6]) if row[6] else None, failure_code=row[7],
        )  # fmt: skip

    def begin_charge(self, job_id: str, terminal: str, amount: int, *, lookup: bool = False) -> int:
        """Before the terminal is called: the charge becomes ``charging`` and a Sale operation opens."""
        ts = now_ms()
        with self._tx() as db:
            op_id = self._start_op(db, job_id, "FindCharge" if lookup else "Sale", terminal, ts, amount)
            db.execute(
                "INSERT INTO charges (job_id, state, terminal, amount, updated_ms) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (job_id) DO UPDATE SET state = excluded.state, terminal = excluded.terminal, updated_ms = excluded.updated_ms",
                (job_id, ChargeState.CHARGING.value, terminal, amount, ts),
            )
        return op_id

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

    def hold_failure(self, job_id: str, op_id: int | None, code: str, result: JobResult) -> None:
        """A charged job fails for good: its failed result is held back and the charge becomes ``reversing``; the job
        stays device work (``received``) until the reversal is settled by ``record_reversal``."""
        ts = now_ms()
        with self._tx() as db:
            if op_id is not None:
                self._finish_op(db, op_id, ts, success=False, error_code=code, error_message=result.message)
            db.execute(
                "UPDATE jobs SET state = ?, error_code = ?, error_message = ?, updated_ms = ? WHERE job_id = ?",
                (JobState.RECEIVED.value, code, result.message, ts, job_id),
            )
            db.execute(
                "UPDATE charges SET state = ?, failure = ?, failure_code = ?, updated_ms = ? WHERE job_id = ?",
                (ChargeState.REVERSING.value, result.model_dump_json(), code, ts, job_id),
            )

    def begin_reversal(self, job_id: str, terminal: str, amount: int, *, lookup: bool = False) -> int:
        """Open a Reversal (or, after a crash or fault, FindReversal) operation before the terminal is called."""
        return self._begin(job_id, "FindReversal" if lookup else "Reversal", terminal, amount, None, None)

    def record_reversal(self, job_id: str, op_id: int, state: ChargeState, result: JobResult | None = None, *,
                        error_code: str | None = None, error_message: str | None = None) -> None:
        """After the terminal answered: the charge's new state and, once the reversal is settled (``result``), the
        job's failed result, in one transaction: a crash never leaves a settled reversal without its result."""
        ts = now_ms()
        with self._tx() as db:
            self._finish_op(db, op_id, ts, success=error_code is None, error_code=error_code, error_message=error_message)
            db.execute("UPDATE charges SET state = ?, updated_ms = ? WHERE job_id = ?", (state.value, ts, job_id))
            if result is not None:
                db.execute(
                    "UPDATE jobs SET state = ?, result = ?, error_message = ?, result_ms = ?, updated_ms = ? WHERE job_id = ?",
                    (JobState.FAILED.value, result.model_dump_json(), result.message, ts, ts, job_id),
                )

    # -- reporting and deletion -----------------------------------------------------------

    def record_reported(self, job_id: str, *, later: bool = False) -> None:
        """The cloud acknowledged the job's result. ``later``: committed with the next write; a crash before then reports
        the result again (the cloud answers a duplicate)."""
        ts = now_ms()
        self._write(
            lambda db: db.execute(
                "UPDATE jobs SET state = ?, reported_ms = ?, updated_ms = ? WHERE job_id = ? AND state IN (?, ?)",
                (JobState.REPORTED.value, ts, ts, job_id, *(s.value for s in AWAITING_ACK)),
            ),
            later=later,
        )

    def record_rejected(self, job_id: str, code: str, message: str) -> None:
        """The cloud refused the job's result for good."""
        ts = now_ms()
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET state = ?, error_code = ?, error_message = ?, updated_ms = ? WHERE job_id = ?",
                (JobState.REJECTED.value, code, message[:500], ts, job_id),
            )

    def record_deleted(self, message_id: str, *, later: bool = False) -> None:
        """The queue message is deleted. ``later``: committed with the next write; a crash before then deletes it again."""
        ts = now_ms()
        self._write(lambda db: db.execute("UPDATE messages SET deleted_ms = ? WHERE message_id = ?", (ts, message_id)), later=later)

    # -- queries ------------------------------------------------------------------------

    def job(self, job_id: str) -> JobRow | None:
        with self._reading() as db:
            return self._job(db, job_id)

    def device_work(self) -> list[JobRow]:
        """Jobs the device still has to print or reconcile, oldest first."""
        return self._jobs(f"WHERE state IN ({_marks(DEVICE_WORK)}) ORDER BY seq", tuple(s.value for s in DEVICE_WORK))

    def pending_results(self) -> list[JobRow]:
        """Results not yet acknowledged, in the order they were produced."""
        return self._jobs(f"WHERE state IN ({_marks(AWAITING_ACK)}) ORDER BY result_ms, seq", tuple(s.value for s in AWAITING_ACK))

    def open_messages(self, job_id: str) -> list[MessageRow]:
        with self._reading() as db:
            rows = db.execute(
                "SELECT message_id, job_id, receipt_handle FROM messages"
                " WHERE job_id = ? AND deleted_ms IS NULL ORDER BY first_received_ms",
                (job_id,),
            ).fetchall()
        return [MessageRow(message_id=m, job_id=j, receipt_handle=h) for m, j, h in rows]

    def deletable_messages(self) -> list[MessageRow]:
        """Messages still on the queue whose job is settled (reported or rejected). CROSS JOIN makes SQLite start from
        the few messages still on the queue (index ``messages_on_queue``), not from every settled job of the history."""
        with self._reading() as db:
            rows = db.execute(
                f"SELECT m.message_id, m.job_id, m.receipt_handle FROM messages m CROSS JOIN jobs j ON j.job_id = m.job_id"
                f" WHERE m.deleted_ms IS NULL AND j.state IN ({_marks(SETTLED)}) ORDER BY j.seq, m.first_received_ms",
                tuple(s.value for s in SETTLED),
            ).fetchall()
        return [MessageRow(message_id=m, job_id=j, receipt_handle=h) for m, j, h in rows]

    def entries(self, start_ms: int, end_ms: int) -> list[JournalEntry]:
        """Device operations started between the two instants (inclusive), oldest first."""
        return self._entries("o.started_ms BETWEEN ? AND ?", (start_ms, end_ms))

    def jobs_between(self, start_ms: int, end_ms: int) -> list[JobEntry]:
        """Jobs journaled between the two instants (inclusive), oldest first, rejected messages included."""
        return [job_to_entry(row) for row in self._jobs("WHERE created_ms BETWEEN ? AND ? ORDER BY seq", (start_ms, end_ms))]

    def _entries(self, where: str, params: tuple[object, ...]) -> list[JournalEntry]:
        unlisted = ", ".join("?" for _ in UNLISTED)
        with self._reading() as db:
            rows = db.execute(
                "SELECT o.id, o.started_ms, o.finished_ms, o.device_name, o.device_id, o.action_type, o.description, o.state,"
                " o.error_code, o.error_message, o.amount_cents, o.full_text, o.fiscal_number, o.job_id,"
                " COALESCE(j.order_id, s.order_id), COALESCE(j.body, s.receipt)"
                " FROM operations o LEFT JOIN jobs j ON j.job_id = o.job_id LEFT JOIN sales s ON s.job_id = o.job_id"
                f" WHERE o.action_type NOT IN ({unlisted}) AND {where} ORDER BY o.id",
                (*UNLISTED, *params),
            ).fetchall()
        return [row_to_operation_entry(row) for row in rows]

    def summary(self) -> JournalSummary:
        with self._reading() as db:
            counts = dict(db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall())
        last = self._jobs("WHERE result_ms IS NOT NULL ORDER BY result_ms DESC, seq DESC LIMIT 1", ())
        return JournalSummary(
            backlog=sum(counts.get(s.value, 0) for s in BACKLOG),
            counts={s.value: counts.get(s.value, 0) for s in JobState},
            last_result=job_to_last_result(last[0]) if last else None,
        )

    # -- internals ----------------------------------------------------------------------

    def _begin(self, job_id: str, action: str, device_name: str, amount: int | None, state: JobState | None, device_id: str | None) -> int:
        ts = now_ms()
        with self._tx() as db:
            op_id = self._start_op(db, job_id, action, device_name, ts, amount, device_id)
            if state is not None:
                db.execute("UPDATE jobs SET state = ?, updated_ms = ? WHERE job_id = ?", (state.value, ts, job_id))
        return op_id

    @staticmethod
    def _start_op(db: sqlite3.Connection, job_id: str, action: str, device_name: str, ts: int, amount: int | None,
                  device_id: str | None = None) -> int:
        """Insert a ``started`` operation of a job; its id."""
        cursor = db.execute(
            "INSERT INTO operations (job_id, action_type, device_name, device_id, state, started_ms, amount_cents)"
            " VALUES (?, ?, ?, ?, 'started', ?, ?)",
            (job_id, action, device_name, device_id, ts, amount),
        )
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
            ("succeeded" if success else "failed", ts, fiscal_number, error_code, (error_message or "")[:500] or None, (full_text or "")[:MAX_TEXT] or None, op_id),
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
        return row_to_job(row) if row else None

    def _jobs(self, where: str, params: tuple[object, ...]) -> list[JobRow]:
        with self._reading() as db:
            rows = db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs {where}", params).fetchall()
        return [row_to_job(row) for row in rows]

    def _write(self, write: Callable[[sqlite3.Connection], object], *, later: bool) -> None:
        with self._step(later=later) as db:
            write(db)

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        """One write, committed with whatever was held (one fsync); inside ``batch()`` it joins the batch."""
        return self._step(later=False)

    @contextmanager
    def _step(self, *, later: bool) -> Iterator[sqlite3.Connection]:
        """One write inside the open transaction (opened with ``BEGIN IMMEDIATE`` if none is), as a savepoint: a write
        that raises undoes itself and leaves the held writes held. Committed at the end unless ``later``."""
        if self._batch_thread == threading.get_ident():
            yield self._db
            return
        with self._lock:
            db = self._db
            opened = not db.in_transaction
            if opened:
                db.execute("BEGIN IMMEDIATE")
            db.execute("SAVEPOINT step")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK" if opened else "ROLLBACK TO step")
                if not opened:
                    db.execute("RELEASE step")
                raise
            db.execute("RELEASE step")
            if not later:
                db.execute("COMMIT")

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """Reads see every write made, the held ones too (they are in this connection's open transaction)."""
        with self._lock:
            yield self._db


def _marks(states: tuple[JobState, ...]) -> str:
    return ", ".join("?" for _ in states)

