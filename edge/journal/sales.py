"""Sales taken at the till (DESIGN §5, store and forward): their rows and state transitions in the journal.

A sale moves

    received -> printing -> printed -> uploaded
                    \\-> failed (nothing printed: the device refused, or proved there is no receipt)
    printed -> rejected (the cloud refused the upload for good, e.g. another sale under its order_id)

like a job, ``printing`` is written before the device is called and left only when the device has answered,
so after a crash it means "a receipt may exist: ask the device". Each transition is one committed transaction
(WAL, ``synchronous=FULL``), on disk before the next step starts. A ``failed`` sale may be sold again under
the same ``order_id`` (the cashier retries); one ``printed`` never prints again.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from enum import Enum
from typing import Any

from pydantic import BaseModel

from chalicelib.contracts import FiscalJob, FiscalRecord
from edge.journal.records import ActionType, now_ms


class SaleState(str, Enum):
    RECEIVED = "received"
    PRINTING = "printing"
    PRINTED = "printed"
    UPLOADED = "uploaded"
    FAILED = "failed"
    REJECTED = "rejected"


UNSETTLED_SALES = (SaleState.RECEIVED, SaleState.PRINTING)
# Not yet in the cloud, and on paper or maybe on paper: what the heartbeat reports as the sales backlog.
PENDING_SALES = (SaleState.RECEIVED, SaleState.PRINTING, SaleState.PRINTED)


class SaleRow(BaseModel):
    seq: int
    order_id: str
    job_id: str
    state: SaleState
    fingerprint: str
    printer: str | None
    receipt: str
    sale: str
    fiscal: str | None
    error_code: str | None
    error_message: str | None
    upload_attempts: int
    created_ms: int
    updated_ms: int
    printed_ms: int | None
    uploaded_ms: int | None

    def job(self) -> FiscalJob:
        """The receipt as the device prints it."""
        return FiscalJob.model_validate_json(self.receipt)

    def record(self) -> FiscalRecord | None:
        return FiscalRecord.model_validate_json(self.fiscal) if self.fiscal else None

    def extras(self) -> dict[str, Any]:
        """What the upload carries beside the receipt and its fiscal record (sold_at, delivery, client)."""
        return dict(json.loads(self.sale))


_COLUMNS = ", ".join(SaleRow.model_fields)


class SalesLedger:
    """The journal's sales; mixed into ``Journal``, whose connection, lock and operation helpers it uses."""

    _db: sqlite3.Connection
    _lock: threading.RLock
    _tx: Callable[[], AbstractContextManager[sqlite3.Connection]]
    _finish_op: Callable[..., None]
    _settle_uncertain_print: Callable[..., None]

    def sale(self, order_id: str) -> SaleRow | None:
        with self._lock:
            return _sale(self._db, order_id)

    def begin_sale(self, order_id: str, job: FiscalJob, fingerprint: str, extras: dict[str, Any]) -> SaleRow:
        """Journal a new sale as ``received``, before anything else happens to it."""
        ts = now_ms()
        with self._tx() as db:
            db.execute(
                "INSERT INTO sales (order_id, job_id, state, fingerprint, printer, receipt, sale, created_ms, updated_ms)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (order_id, job.job_id, SaleState.RECEIVED.value, fingerprint, job.printer, job.model_dump_json(),
                 json.dumps(extras, sort_keys=True), ts, ts),
            )
            row = _sale(db, order_id)
        assert row is not None
        return row

    def retry_sale(self, order_id: str) -> SaleRow:
        """A failed sale sold again under its order_id: ``received`` once more (nothing of it was printed)."""
        return self._move(order_id, SaleState.RECEIVED, SaleState.FAILED)

    def begin_sale_print(self, row: SaleRow, device_name: str, device_id: str) -> int:
        """Mark the sale ``printing`` and open its PrintReceipt operation, before the device is called."""
        return self._open_op(row, ActionType.PRINT_RECEIPT.value, device_name, device_id, SaleState.PRINTING)

    def begin_sale_lookup(self, row: SaleRow, device_name: str, device_id: str) -> int:
        """Open a FindReceipt operation for a sale whose print outcome is unknown."""
        return self._open_op(row, "FindReceipt", device_name, device_id, None)

    def record_sale_printed(self, row: SaleRow, op_id: int, fiscal: FiscalRecord, full_text: str | None) -> SaleRow:
        """The receipt exists (printed now, or found on the device after a crash): ``printed``, waiting for upload."""
        ts = now_ms()
        with self._tx() as db:
            self._finish_op(db, op_id, ts, success=True, fiscal_number=fiscal.fiscal_number, full_text=full_text)
            self._settle_uncertain_print(db, row.job_id, op_id, ts, printed=True, fiscal_number=fiscal.fiscal_number,
                                         full_text=full_text)
            db.execute("UPDATE sales SET state = ?, fiscal = ?, error_code = NULL, error_message = NULL, printed_ms = ?,"
                       " updated_ms = ? WHERE order_id = ?",
                       (SaleState.PRINTED.value, fiscal.model_dump_json(), ts, ts, row.order_id))
            updated = _sale(db, row.order_id)
        assert updated is not None
        return updated

    def record_sale_not_printed(self, row: SaleRow, op_id: int, then: SaleState, code: str, message: str) -> SaleRow:
        """The device proved there is no receipt: ``then`` is ``received`` (print now) or ``failed`` (nobody waits)."""
        ts = now_ms()
        with self._tx() as db:
            self._finish_op(db, op_id, ts, success=True)
            self._settle_uncertain_print(db, row.job_id, op_id, ts, printed=False)
            db.execute("UPDATE sales SET state = ?, error_code = ?, error_message = ?, updated_ms = ? WHERE order_id = ?",
                       (then.value, code, message[:500], ts, row.order_id))
            updated = _sale(db, row.order_id)
        assert updated is not None
        return updated

    def record_sale_device_error(self, row: SaleRow, op_id: int | None, code: str, message: str, *, uncertain: bool) -> SaleRow:
        """The device failed: the sale stays ``printing`` while the receipt may exist, else it is ``failed``."""
        ts = now_ms()
        state = SaleState.PRINTING if uncertain else SaleState.FAILED
        with self._tx() as db:
            if op_id is not None:
                self._finish_op(db, op_id, ts, success=False, error_code=code, error_message=message)
            db.execute("UPDATE sales SET state = ?, error_code = ?, error_message = ?, updated_ms = ? WHERE order_id = ?",
                       (state.value, code, message[:500], ts, row.order_id))
            updated = _sale(db, row.order_id)
        assert updated is not None
        return updated

    def record_sale_uploaded(self, order_id: str) -> None:
        """The cloud acknowledged the sale (created now, or a duplicate of an earlier upload whose ack was lost)."""
        ts = now_ms()
        with self._tx() as db:
            db.execute("UPDATE sales SET state = ?, uploaded_ms = ?, updated_ms = ?, upload_attempts = upload_attempts + 1"
                       " WHERE order_id = ? AND state = ?",
                       (SaleState.UPLOADED.value, ts, ts, order_id, SaleState.PRINTED.value))

    def record_sale_rejected(self, order_id: str, code: str, message: str) -> None:
        """The cloud refused the upload for good (e.g. another order under its id): kept as ``rejected``, never dropped."""
        ts = now_ms()
        with self._tx() as db:
            db.execute("UPDATE sales SET state = ?, error_code = ?, error_message = ?, updated_ms = ?,"
                       " upload_attempts = upload_attempts + 1 WHERE order_id = ? AND state = ?",
                       (SaleState.REJECTED.value, code, message[:500], ts, order_id, SaleState.PRINTED.value))

    def unsettled_sales(self) -> list[SaleRow]:
        """Sales a crash or a lost device answer left before or during printing, oldest first."""
        return self._sales_in(UNSETTLED_SALES, "seq")

    def sales_to_upload(self) -> list[SaleRow]:
        """Printed sales the cloud has not acknowledged, in the order they were printed."""
        return self._sales_in((SaleState.PRINTED,), "printed_ms, seq")

    def pending_sales(self) -> int:
        """Sales on paper (or maybe on paper) that the cloud does not have yet: the heartbeat's sales backlog."""
        marks = ", ".join("?" for _ in PENDING_SALES)
        with self._lock:
            (count,) = self._db.execute(f"SELECT COUNT(*) FROM sales WHERE state IN ({marks})",
                                  tuple(s.value for s in PENDING_SALES)).fetchone()
        return int(count)

    def sale_counts(self) -> dict[str, int]:
        with self._lock:
            counts = dict(self._db.execute("SELECT state, COUNT(*) FROM sales GROUP BY state").fetchall())
        return {s.value: int(counts.get(s.value, 0)) for s in SaleState}

    # -- internals ----------------------------------------------------------------------

    def _open_op(self, row: SaleRow, action: str, device_name: str, device_id: str, state: SaleState | None) -> int:
        ts = now_ms()
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO operations (job_id, action_type, device_name, device_id, state, started_ms, amount_cents, description)"
                " VALUES (?, ?, ?, ?, 'started', ?, ?, ?)",
                (row.job_id, action, device_name, device_id, ts, row.job().total, f"Till sale {row.order_id}"),
            )
            if state is not None:
                db.execute("UPDATE sales SET state = ?, updated_ms = ? WHERE order_id = ?", (state.value, ts, row.order_id))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def _move(self, order_id: str, to: SaleState, source: SaleState) -> SaleRow:
        ts = now_ms()
        with self._tx() as db:
            db.execute("UPDATE sales SET state = ?, updated_ms = ? WHERE order_id = ? AND state = ?",
                       (to.value, ts, order_id, source.value))
            row = _sale(db, order_id)
        assert row is not None
        return row

    def _sales_in(self, states: tuple[SaleState, ...], order: str) -> list[SaleRow]:
        marks = ", ".join("?" for _ in states)
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM sales WHERE state IN ({marks}) ORDER BY {order}",
                              tuple(s.value for s in states)).fetchall()
        return [_row(r) for r in rows]


def _sale(db: sqlite3.Connection, order_id: str) -> SaleRow | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM sales WHERE order_id = ?", (order_id,)).fetchone()
    return _row(row) if row else None


def _row(row: tuple[object, ...]) -> SaleRow:
    return SaleRow.model_validate(dict(zip(SaleRow.model_fields, row, strict=True)))
