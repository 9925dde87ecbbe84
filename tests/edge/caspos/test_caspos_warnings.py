"""Caspos warnings from getInfo, isConnectedPrinter and the shift's age (seed 002), against the emulated register."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from edge.config import DeviceWarningsConfig, ZReportConfig
from edge.drivers.caspos.driver import CasposDriver
from edge.emulators.caspos.server import CasposRegister


def test_printer_and_token_state_are_warnings(register: CasposRegister, driver: CasposDriver) -> None:
    assert driver.status().warnings == []
    register.printer_connected = False
    register.token_state = "BLOCKED"
    assert driver.status().warnings == ["W_PRINTER_NOT_CONNECTED", "W_TOKEN_NOT_ACTIVE"]


def test_the_shift_age_is_the_day_and_no_open_shift_is_nothing_to_close(register: CasposRegister, driver: CasposDriver) -> None:
    closed = driver.status()
    assert closed.day_opened_at is None and closed.receipts_since_z == 0
    register.open_shift_now()
    assert register.shift is not None
    register.shift.opened = register.now() - timedelta(hours=22, minutes=5)
    status = driver.status()
    assert status.day_opened_at is not None and abs(time.time() - (22 * 3600 + 300) - status.day_opened_at) <= 3


def test_a_shift_open_past_the_warning_hours_is_a_z_due(register: CasposRegister, driver: CasposDriver, tmp_path: Path) -> None:
    """The edge's rule on the device's status: W_Z_REPORT_DUE after ``due_warning_hours`` of an open shift."""
    from edge.fiscal_day.service import FiscalDay

    register.open_shift_now()
    assert register.shift is not None
    register.shift.opened = register.now() - timedelta(hours=22, minutes=5)
    # Only the warning rule is used: no journal, hub or operations.
    day = FiscalDay(None, None, None, tmp_path, "Asia/Baku", ZReportConfig(), DeviceWarningsConfig())  # type: ignore[arg-type]
    assert "W_Z_REPORT_DUE" in day.with_warnings("caspos-1", driver.status()).warnings
    register.shift.opened = register.now() - timedelta(hours=21)  # another shift (its shift_open_time differs)
    assert "W_Z_REPORT_DUE" not in day.with_warnings("caspos-1", driver.status()).warnings
