"""What the Caspos driver must remember across restarts, in its own SQLite file in the edge's state directory.

* The documents the register gave back per documentUUID, so a job whose answer arrived just before a crash
  is found again without asking the register (which cannot be searched by documentUUID: the control tape,
  §Control Tape l.1752-1762, lists document ids, numbers and totals, never the documentUUID).
* The documentUUIDs of sales sent without an answer yet: while the register cannot be asked again, such a job
  stays uncertain (never "not printed"), so it can never be reported failed while the register has it.
* The documentUUID of a cash move or Z report sent without a clear answer. Those operations carry no id of
  their own through the driver interface; the next request for the same operation reuses the documentUUID,
  so the register answers code 1 with the earlier document instead of recording it twice (§Close Shift l.250).
* The full document id behind each short fiscal id it reported: a refund names its parent by the document id
  (§Money Back l.1087, §RollBack l.1412), while a job's fiscal record carries the short one (§Deposit l.438).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from chalicelib.contracts import FiscalRecord
from edge.durable_sqlite import immediate_transaction, open_durable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (uuid TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS unanswered (uuid TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS document_ids (fiscal_number TEXT PRIMARY KEY, document_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending (kind TEXT PRIMARY KEY, uuid TEXT NOT NULL, amount INTEGER NOT NULL, at REAL NOT NULL);
"""
# A pending cash move is reused only while its shift can still be open (§Common Errors 504 l.1954: 24 h).
PENDING_SECONDS = 24 * 3600


class DriverMemory:
    def __init__(self, path: Path) -> None:
        self._db = open_durable(path)
        self._db.executescript(_SCHEMA)
        self._lock = threading.RLock()

    def close(self) -> None:
        self._db.close()

    def sending(self, document_uuid: str) -> None:
        """Written before the request goes out: until ``remember``, the register may or may not have the document."""
        with immediate_transaction(self._db, self._lock) as db:
            db.execute("INSERT OR IGNORE INTO unanswered (uuid) VALUES (?)", (document_uuid,))

    def answered(self, document_uuid: str) -> None:
        """The register refused the document with a code of its own: it does not have it."""
        with immediate_transaction(self._db, self._lock) as db:
            db.execute("DELETE FROM unanswered WHERE uuid = ?", (document_uuid,))

    def unanswered(self, document_uuid: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM unanswered WHERE uuid = ?", (document_uuid,)).fetchone() is not None

    def remember(self, document_uuid: str, record: FiscalRecord, document_id: str | None = None) -> None:
        with immediate_transaction(self._db, self._lock) as db:
            db.execute("INSERT OR REPLACE INTO documents (uuid, record) VALUES (?, ?)", (document_uuid, record.model_dump_json()))
            if document_id:
                db.execute("INSERT OR REPLACE INTO document_ids (fiscal_number, document_id) VALUES (?, ?)", (record.fiscal_number, document_id))
            db.execute("DELETE FROM unanswered WHERE uuid = ?", (document_uuid,))

    def recall(self, document_uuid: str) -> FiscalRecord | None:
        with self._lock:
            row = self._db.execute("SELECT record FROM documents WHERE uuid = ?", (document_uuid,)).fetchone()
        return FiscalRecord.model_validate_json(row[0]) if row else None

    def document_id(self, fiscal_number: str) -> str | None:
        """The full document id of a document this driver reported under ``fiscal_number``."""
        with self._lock:
            row = self._db.execute("SELECT document_id FROM document_ids WHERE fiscal_number = ?", (fiscal_number,)).fetchone()
        return str(row[0]) if row else None

    def pending(self, kind: str, amount: int) -> str | None:
        """The documentUUID of an unanswered ``kind`` of this amount, still young enough to be the same operation."""
        with self._lock:
            row = self._db.execute("SELECT uuid, amount, at FROM pending WHERE kind = ?", (kind,)).fetchone()
        if row is None or row[1] != amount or time.time() - row[2] > PENDING_SECONDS:
            return None
        return str(row[0])

    def set_pending(self, kind: str, document_uuid: str, amount: int) -> None:
        with immediate_transaction(self._db, self._lock) as db:
            db.execute("INSERT OR REPLACE INTO pending (kind, uuid, amount, at) VALUES (?, ?, ?, ?)", (kind, document_uuid, amount, time.time()))

    def settle(self, kind: str) -> None:
        with immediate_transaction(self._db, self._lock) as db:
            db.execute("DELETE FROM pending WHERE kind = ?", (kind,))
