"""The edge's durable journal: what happened to every job, device operation and queue message.

SQLite in WAL mode with ``synchronous=FULL``: every state change below is committed,
on disk before the next device call (``edge/journal/store.py`` says which share one
fsync, and why that is as safe). A job moves

    received -> printing -> printed | failed -> reported
                    \\-> received (device proved nothing was printed; or a card-paid job held while its charge is reversed)
    any -> rejected (poison, or refused for good by the cloud)

and a sale taken at the till (``sales``, ``edge/journal/sales.py``) the same way, then ``uploaded``.

``printing`` is written *before* the device is called and left only when the
device has answered, so after a crash it means "a receipt may exist: ask the
device before printing again".
"""

from edge.journal.records import (
    AWAITING_ACK,
    BACKLOG,
    DEVICE_WORK,
    SETTLED,
    ActionType,
    ChargeRow,
    ChargeState,
    InboundMessage,
    JobEntry,
    JobRow,
    JobState,
    JournalEntry,
    JournalSummary,
    LastResult,
    MessageRow,
    iso_ms,
    now_ms,
)
from edge.journal.sales import SaleRow, SaleState
from edge.journal.store import Journal

__all__ = [
    "AWAITING_ACK", "BACKLOG", "DEVICE_WORK", "SETTLED", "ActionType", "ChargeRow", "ChargeState", "InboundMessage",
    "JobEntry", "JobRow", "JobState", "Journal", "JournalEntry", "JournalSummary", "LastResult", "MessageRow", "iso_ms",
    "now_ms", "SaleRow", "SaleState",
]
