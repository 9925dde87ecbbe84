"""The fiscal day on a fake clock (no sleeping): the scheduled Z once per slot, through the journaled operation path,
never twice after a restart; a Z the register made by itself journaled once and warned; the 24 h and clock warnings.

Everything real but the clock: the journal, the settings, the device hub, the simulated register's own memory."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from edge_harness import make_job

from edge.config import DeviceWarningsConfig, EdgeConfig, ZReportConfig
from edge.emulators.simulated.models import STATE_FILE
from edge.emulators.simulated.register import SimulatedRegister
from edge.fiscal_day.service import FiscalDay
from edge.hub import DeviceHub
from edge.journal import ActionType, Journal
from edge.operations import OperationRequest, Operations
from edge.store import SettingsStore

ZONE = "Europe/Sofia"  # UTC+2 in December


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Till:
    """One edge's fiscal-day parts over a state directory; ``restart`` opens them again, as a new process would."""

    def __init__(self, state_dir: Path, clock: FakeClock, z_report: ZReportConfig) -> None:
        self.state_dir, self.clock, self.z_report = state_dir, clock, z_report
        config = EdgeConfig.model_validate({
            "api_base": "http://127.0.0.1:9", "edge_key": "k", "state_dir": str(state_dir),
            "fiscal_device": {"manufacturer": "Simulated", "model": "Simulated"},
        })
        self.store = SettingsStore.open(state_dir, config)
        self._open()

    def _open(self) -> None:
        self.journal = Journal(self.state_dir / "journal.sqlite")
        self.hub = DeviceHub(self.store, self.state_dir)
        self.operations = Operations(self.journal, self.hub, None)
        self.day = FiscalDay(self.journal, self.hub, self.operations, self.state_dir, ZONE, self.z_report, DeviceWarningsConfig(), clock=self.clock)

    def restart(self) -> None:
        self.close()
        self._open()

    def close(self) -> None:
        self.hub.close()
        self.journal.close()

    def z_entries(self) -> list[Any]:
        return [e for e in self.journal.entries(0, 2**62) if e.action_type.value == "ZReport"]

    def warnings(self) -> list[str]:
        [view] = self.day.statuses()
        return view.status.warnings

    def print_sale(self, job_id: str) -> None:
        with self.hub.printing() as found:
            assert found is not None
            found[1].print_receipt(make_job(job_id))


def local(hour: int, minute: int, day: int = 7) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC) - timedelta(hours=2)  # Sofia local -> UTC


@pytest.fixture
def register(tmp_path: Path) -> Iterator[SimulatedRegister]:
    reg = SimulatedRegister(tmp_path / STATE_FILE)
    yield reg
    reg.close()


def make_till(tmp_path: Path, clock: FakeClock, **z: Any) -> Till:
    return Till(tmp_path, clock, ZReportConfig.model_validate(z))


def test_the_scheduled_z_runs_once_per_slot_and_never_twice_after_a_restart(tmp_path: Path, register: SimulatedRegister) -> None:
    clock = FakeClock(local(23, 54))
    till = make_till(tmp_path, clock, at="23:55")
    try:
        till.day.tick()
        assert register.z_reports() == [] and till.z_entries() == []  # not yet: the slot is a minute away

        clock.advance(minutes=1, seconds=5)
        till.day.tick()
        [z] = register.z_reports()
        [entry] = till.z_entries()
        assert entry.success and entry.fiscal_number == f"{z.z_number:04d}"
        assert entry.description == f"Scheduled Z report (23:55 {ZONE}) on Fiscal printer"

        clock.advance(minutes=1)
        till.day.tick()
        till.restart()
        till.day.tick()
        assert len(register.z_reports()) == 1 and len(till.z_entries()) == 1

        clock.now = local(23, 56, day=8)  # the next day's slot
        till.day.tick()
        till.day.tick()
        assert len(register.z_reports()) == 2 and len(till.z_entries()) == 2
    finally:
        till.close()


def test_a_slot_missed_beyond_the_catch_up_window_is_not_made_the_next_morning(tmp_path: Path, register: SimulatedRegister) -> None:
    clock = FakeClock(local(23, 55) + timedelta(minutes=31))
    till = make_till(tmp_path, clock, at="23:55", catch_up_minutes=30)
    try:
        till.day.tick()
        assert register.z_reports() == []
        clock.now = local(23, 55) + timedelta(minutes=29)
        till.day.tick()
        assert len(register.z_reports()) == 1
    finally:
        till.close()


def test_a_z_cut_short_by_a_crash_is_never_asked_for_again(tmp_path: Path, register: SimulatedRegister) -> None:
    """The journal holds a started Z (the process died during the device call, which did make it): the restarted edge
    does not make a second one, and the Z counter settles the cut-short entry as made."""
    clock = FakeClock(local(23, 56))
    till = make_till(tmp_path, clock, at="23:55")
    try:
        till.day.tick()  # the counter's baseline is seen... and the slot's Z is made
        till.close()
        journal = Journal(tmp_path / "journal.sqlite")
        printer = till.store.get().fiscal(None)
        assert printer is not None
        journal.begin_operation(ActionType.Z_REPORT, "Fiscal printer", printer.device.id, None, {}, "cut short")
        journal.close()
        register.z_report()  # what the device did before the crash
        till._open()
        clock.now = local(23, 56, day=8)
        till.day.tick()
        assert len(register.z_reports()) == 3  # the first night's, the cut-short one, the second night's
        entries = till.z_entries()
        assert [e.state for e in entries] == ["succeeded", "succeeded", "succeeded"]
        assert [e.fiscal_number for e in entries] == ["0001", "0002", "0003"]
        assert till.warnings() == []  # the crash's Z was ours, not the device's own
    finally:
        till.close()


def test_a_z_the_register_made_by_itself_is_journaled_once_and_warned(tmp_path: Path, register: SimulatedRegister) -> None:
    clock = FakeClock(local(12, 0))
    till = make_till(tmp_path, clock)
    try:
        till.day.tick()  # baseline: counter 0
        register.z_report()  # the device closes its day by itself
        till.day.tick()
        till.restart()
        till.day.tick()
        [entry] = till.z_entries()
        assert entry.success and entry.fiscal_number == "0001" and "made by the device itself" in (entry.description or "")
        assert "W_Z_REPORT_BY_DEVICE" in till.warnings()
        clock.advance(hours=25)
        assert "W_Z_REPORT_BY_DEVICE" not in till.warnings()
    finally:
        till.close()


def test_z_due_comes_before_the_24_hour_limit_and_goes_with_the_z(tmp_path: Path, register: SimulatedRegister) -> None:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    till = make_till(tmp_path, clock, due_warning_hours=22)
    try:
        till.print_sale("job-1")  # the day opens with its first receipt, on the register's clock
        assert "W_Z_REPORT_DUE" not in till.warnings()
        clock.advance(hours=21, minutes=59)
        assert "W_Z_REPORT_DUE" not in till.warnings()
        clock.advance(minutes=2)
        assert "W_Z_REPORT_DUE" in till.warnings()
        till.operations.run(OperationRequest(action_type=ActionType.Z_REPORT))
        assert "W_Z_REPORT_DUE" not in till.warnings()
    finally:
        till.close()


def test_clock_drift_and_register_warnings_come_from_the_simulator_faults(tmp_path: Path, register: SimulatedRegister) -> None:
    till = make_till(tmp_path, FakeClock(datetime.now(UTC)))
    try:
        assert till.warnings() == []
        register.set_faults(clock_offset_seconds=-61, paper_near_end=True, fiscal_memory_near_full=True, cover_open=True)
        assert set(till.warnings()) == {"W_CLOCK_DRIFT", "W_PAPER_NEAR_END", "W_FISCAL_MEMORY_NEAR_FULL", "W_COVER_OPEN"}
        register.set_faults(clock_offset_seconds=55, paper_near_end=False, fiscal_memory_near_full=False, cover_open=False, link_loss=True)
        assert till.warnings() == ["W_DEVICE_UNREACHABLE"]
    finally:
        till.close()
