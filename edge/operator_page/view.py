"""What the operator's page shows, gathered from the edge's parts into plain values (no HTML here)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from edge.fiscal_day.service import DeviceView
from edge.journal import ActionType, Journal, JournalEntry, now_ms
from edge.operator_page.words import in_words

RECENT = 10
STATE_WORDS = {"started": "in progress", "succeeded": "done", "failed": "failed"}
ACTION_WORDS = {
    ActionType.PRINT_RECEIPT: "Receipt", ActionType.Z_REPORT: "Z report (day closed)", ActionType.X_REPORT: "X report",
    ActionType.NON_FISCAL_RECEIPT: "Text slip", ActionType.DEPOSIT: "Cash in", ActionType.WITHDRAW: "Cash out",
    ActionType.SALE: "Card payment", ActionType.SETTLEMENT: "Card settlement", ActionType.FISCAL_MEMORY_REPORT: "Fiscal memory report",
}


class DeviceCard(BaseModel):
    id: str
    name: str
    model: str
    state: str  # "Ready", "Busy" or "Not answering"
    ok: bool
    warnings: list[str]  # in words


class Row(BaseModel):
    at: str
    what: str
    number: str
    amount: str
    outcome: str
    ok: bool


class PageView(BaseModel):
    cloud_online: bool
    shop_id: str | None
    devices: list[DeviceCard]
    waiting_to_print: int
    waiting_to_send: int
    recent: list[Row]
    zone: str


def device_card(view: DeviceView) -> DeviceCard:
    status = view.status
    state = "Busy" if status.busy else "Ready" if status.online else "Not answering"
    words = [in_words(code) for code in status.warnings]
    return DeviceCard(id=view.id, name=view.name, model=f"{status.manufacturer} {status.model}", state=state,
                      ok=status.online and not words, warnings=words)


def recent_rows(journal: Journal, zone: ZoneInfo) -> list[Row]:
    end = now_ms()
    entries = journal.entries(end - int(timedelta(days=1).total_seconds() * 1000), end)[-RECENT:]
    return [_row(entry, zone) for entry in reversed(entries)]


def _row(entry: JournalEntry, zone: ZoneInfo) -> Row:
    at = datetime.fromtimestamp(entry.started_at / 1000, zone).strftime("%d.%m %H:%M")
    amount = "" if entry.amount_cents is None else f"{entry.amount_cents // 100}.{entry.amount_cents % 100:02d}"
    outcome = STATE_WORDS[entry.state] if entry.success or not entry.error_message else f"failed: {entry.error_message}"
    return Row(at=at, what=ACTION_WORDS.get(entry.action_type, entry.action_type.value), number=entry.fiscal_number or "",
               amount=amount, outcome=outcome, ok=entry.state != "failed")
