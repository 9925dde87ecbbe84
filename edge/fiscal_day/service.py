"""The fiscal day of every fiscal device: ``tick`` runs the scheduled Z and notices a Z the device made by
itself; ``statuses`` adds the warnings the edge derives to each device's own.

Exactly once: the slot is written down before its Z is asked for, and the Z goes through ``Operations`` like a
manual one, so it is journaled before the device is called; a slot counts as done as soon as the journal holds
a Z of that device begun since (by the schedule or by hand; finished, or cut short by a crash: a Z that may have
been made is never asked for again). A Z the device
made itself shows as its Z counter moving past the last value seen with no Z of ours to explain it: it is
journaled (``source: device``), once, since the journal is read for it first.

Two clocks: ``clock`` is the wall clock the schedule and the warnings run on (a test's fake one); journal
entries are compared only with instants taken on the journal's own clock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import structlog
from pydantic import BaseModel

from edge.config import DeviceWarningsConfig, ZReportConfig
from edge.drivers.base import DeviceStatus
from edge.fiscal_day.schedule import latest_slot
from edge.fiscal_day.state import DayState, DeviceDay
from edge.hub import DeviceHub
from edge.journal import ActionType, Journal, JournalEntry, now_ms
from edge.operations import OperationFailed, OperationRequest, Operations
from edge.store import FiscalDeviceEntry

log = structlog.get_logger("edge.fiscal_day")

RETRY_AFTER = timedelta(minutes=5)  # a scheduled Z the device refused for now (paper out…) is asked again
BY_DEVICE_WARNING = timedelta(hours=24)  # how long W_Z_REPORT_BY_DEVICE stays up after such a Z was seen
MAX_JOURNALED_GAP = 31  # a counter that jumps further (a device swapped or reset) is taken as a new baseline


def utc_now() -> datetime:
    return datetime.now(UTC)


class DeviceView(BaseModel):
    """A fiscal device as the management API and the operator's page show it."""

    id: str
    name: str
    status: DeviceStatus


class FiscalDay:
    def __init__(self, journal: Journal, hub: DeviceHub, operations: Operations, state_dir: Path, zone_name: str,
                 z_report: ZReportConfig, warnings: DeviceWarningsConfig, clock: Callable[[], datetime] = utc_now) -> None:
        self._journal = journal
        self._hub = hub
        self._operations = operations
        self._state = DayState(state_dir)
        self._zone = ZoneInfo(zone_name)
        self._zone_name = zone_name
        self._z = z_report
        self._limits = warnings
        self._clock = clock
        self._tick_lock = threading.Lock()  # one tick at a time
        self._observe_lock = threading.Lock()  # one reading of the Z counters at a time (a tick's, a status request's)
        self._retry_at: dict[str, datetime] = {}

    # -- the loop's step -------------------------------------------------------------------

    def tick(self) -> None:
        """Look at every fiscal device once: journal a Z it made by itself, then make the scheduled Z if due."""
        with self._tick_lock:
            for entry, _status in self._observed():
                self._scheduled_z(entry)

    def statuses(self) -> list[DeviceView]:
        """Every fiscal device with its status and all its warnings, the device's own and the edge's; reading them
        also notices a Z the device made by itself."""
        views = []
        for entry, status in self._observed():
            assert entry.device.id is not None
            views.append(DeviceView(id=entry.device.id, name=entry.settings.name, status=self.with_warnings(entry.device.id, status)))
        return views

    def _observed(self) -> list[tuple[FiscalDeviceEntry, DeviceStatus]]:
        with self._observe_lock:
            found = self._hub.statuses()
            for entry, status in found:
                if status.online and status.z_counter is not None:
                    self._observe_counter(entry, status.z_counter)
        return found

    def with_warnings(self, device_id: str, status: DeviceStatus) -> DeviceStatus:
        now = self._clock()
        day = self._state.get(device_id)
        derived = []
        if not status.online and not status.busy:
            derived.append("W_DEVICE_UNREACHABLE")
        if status.clock_offset_seconds is not None and abs(status.clock_offset_seconds) > self._limits.clock_drift_seconds:
            derived.append("W_CLOCK_DRIFT")
        if self._z_due(status, day, now):
            derived.append("W_Z_REPORT_DUE")
        if day.by_device_at is not None and now - _instant(day.by_device_at) < BY_DEVICE_WARNING:
            derived.append("W_Z_REPORT_BY_DEVICE")
        return status.model_copy(update={"warnings": [*status.warnings, *(w for w in derived if w not in status.warnings)]})

    # -- the Z the device made by itself -----------------------------------------------------

    def _observe_counter(self, entry: FiscalDeviceEntry, counter: int) -> None:
        device_id = entry.device.id
        assert device_id is not None
        day = self._state.get(device_id)
        seen = {"z_counter": counter, "z_seen_at": _ms(self._clock()), "z_seen_journal_ms": now_ms()}
        if day.z_counter is None or counter < day.z_counter or counter - day.z_counter > MAX_JOURNALED_GAP:
            if day.z_counter is not None:
                log.warning("z_counter_reset", device_id=device_id, was=day.z_counter, now=counter)
            self._state.put(device_id, day.model_copy(update=seen))
            return
        if counter == day.z_counter:
            return
        ours = self._own_z_reports(device_id, day.z_seen_journal_ms or 0)
        by_device = day.model_copy(update=seen)
        for number in range(day.z_counter + 1, counter + 1):
            if self._explained(ours, number):
                continue
            self._journal_device_z(entry, number)
            by_device = by_device.model_copy(update={"by_device_at": seen["z_seen_at"], "by_device_number": number})
        self._state.put(device_id, by_device)

    def _own_z_reports(self, device_id: str, since_journal_ms: int) -> list[JournalEntry]:
        return [e for e in self._journal.entries(since_journal_ms, now_ms())
                if e.action_type is ActionType.Z_REPORT and e.device_id == device_id and e.state != "failed"]

    def _explained(self, ours: list[JournalEntry], number: int) -> bool:
        """Whether a journaled Z is this closure: by its number, else the oldest one the device gave no number for
        (an answer that could not be read, or a Z cut short by a crash, which the device proves made)."""
        text = f"{number:04d}"
        if any(e.fiscal_number == text for e in ours):
            return True
        for unnumbered in (e for e in ours if e.fiscal_number is None):
            ours.remove(unnumbered)
            if unnumbered.state == "started":
                self._journal.finish_operation(unnumbered.id, success=True, number=text,
                                               full_text=f"Z REPORT {text}\n(cut short; the device's Z counter shows it was made)")
            return True
        return False

    def _journal_device_z(self, entry: FiscalDeviceEntry, number: int) -> None:
        text = f"{number:04d}"
        description = f"Z report No {text} made by the device itself, not by this edge"
        op = self._journal.begin_operation(ActionType.Z_REPORT, entry.settings.name, entry.device.id, None,
                                           {"action_type": ActionType.Z_REPORT.value, "source": "device", "z_counter": number}, description)
        self._journal.finish_operation(op, success=True, number=text, full_text=f"Z REPORT {text}\n({description})")
        log.warning("z_report_by_device", device_id=entry.device.id, number=number)

    # -- the scheduled Z ------------------------------------------------------------------

    def _scheduled_z(self, entry: FiscalDeviceEntry) -> None:
        at = self._z.local_time()
        if at is None:
            return
        device_id = entry.device.id
        assert device_id is not None
        now = self._clock()
        slot = latest_slot(now, at, self._zone)
        if now - slot > timedelta(minutes=self._z.catch_up_minutes):
            return
        if self._retry_at.get(device_id, slot) > now:
            return
        day = self._state.get(device_id)
        if day.slot == slot.isoformat() and day.slot_journal_ms is not None:
            if self._own_z_reports(device_id, day.slot_journal_ms):
                return  # made, or cut short by a crash and so perhaps made: never asked for twice
        else:
            self._state.put(device_id, day.model_copy(update={"slot": slot.isoformat(), "slot_journal_ms": now_ms()}))
        request = OperationRequest(action_type=ActionType.Z_REPORT, device_id=device_id)
        description = f"Scheduled Z report ({self._z.at} {self._zone_name}) on {entry.settings.name}"
        try:
            outcome = self._operations.run(request, description=description)
        except OperationFailed as exc:
            # Refused for good (nothing to close, fiscal memory full): not again for this slot; else in a while.
            retry = now + RETRY_AFTER if exc.error.transient else slot + timedelta(minutes=self._z.catch_up_minutes + 1)
            self._retry_at[device_id] = retry
            log.warning("scheduled_z_failed", device_id=device_id, code=exc.error.code, error=str(exc), retry_at=retry.isoformat())
            return
        self._retry_at.pop(device_id, None)
        log.info("scheduled_z_done", device_id=device_id, number=outcome.entry.fiscal_number, slot=slot.isoformat())

    # -- the 24 h limit -------------------------------------------------------------------

    def _z_due(self, status: DeviceStatus, day: DeviceDay, now: datetime) -> bool:
        """The day is older than ``due_warning_hours``: it opened when the device says (its first receipt or its
        shift), else no later than the moment its Z counter last moved; a day with no receipt yet is never due."""
        if status.receipts_since_z == 0:
            return False
        if status.day_opened_at is not None:
            opened = datetime.fromtimestamp(status.day_opened_at, UTC)
        elif day.z_seen_at is not None:
            opened = _instant(day.z_seen_at)
        else:
            return False
        return now - opened >= timedelta(hours=self._z.due_warning_hours)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _instant(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC)
