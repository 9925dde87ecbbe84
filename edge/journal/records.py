"""The journal's records: job and charge states, rows as read back, and the entries the API shows."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel

from chalicelib.contracts import FiscalJob, JobResult


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


# Reconciliation look-ups are journaled too, but they are no device operation of their own; a card reversal
# is none of seed 000's action types either: journaled, not listed (the job's failed result tells of it).
UNLISTED = ("FindReceipt", "FindCharge", "FindReversal", "Reversal")


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
    timeout it means "the card may have been charged: ask the terminal by reference". ``reversing`` is
    written when a charged job fails for good, with the failed result held back until the card is given
    back: after a crash or a fault it means "the sale may have been reversed: ask the terminal"."""

    NONE = "none"
    CHARGING = "charging"
    APPROVED = "approved"
    DECLINED = "declined"
    REVERSING = "reversing"
    REVERSED = "reversed"


class ChargeRow(BaseModel):
    job_id: str
    state: ChargeState
    terminal: str
    amount: int
    approval_code: str | None
    rrn: str | None
    failure: JobResult | None = None  # the failed result held back while ``reversing``
    failure_code: str | None = None


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




def row_to_job(row: tuple[object, ...]) -> JobRow:
    values = dict(zip(JobRow.model_fields, row, strict=True))
    if values["result"] is not None:
        values["result"] = JobResult.model_validate_json(str(values["result"]))
    return JobRow.model_validate(values)


def iso_ms(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def job_to_entry(row: JobRow) -> JobEntry:
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


def row_to_operation_entry(row: tuple[Any, ...]) -> JournalEntry:
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


def job_to_last_result(row: JobRow) -> LastResult:
    return LastResult(
        job_id=row.job_id,
        order_id=row.order_id,
        state=row.state,
        status=row.result.status.value if row.result else None,
        fiscal_number=row.fiscal_number,
        reason=row.result.reason.value if row.result and row.result.reason else None,
        at=row.result_ms or row.updated_ms,
    )
