"""Device warnings (DESIGN §5) from each driver's real status: the ISL emulator raises a status bit on the wire,
the driver reads it back as a warning; the Z counter (40h) and the device clock (3Eh) reach the status too."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from edge.drivers.isl.daisy import DAISY, DaisyDriver
from edge.drivers.isl.datecs import DATECS_C, DATECS_P, DatecsCDriver, DatecsPDriver
from edge.drivers.isl.driver import IslDriver
from edge.drivers.isl.link import IslLink, SerialTransport
from edge.drivers.isl.sales import open_book
from edge.emulators.isl.device import FiscalPrinter
from edge.emulators.isl.server import PtyServer

DRIVERS = {"DP25": (DATECS_C, DatecsCDriver), "FP800": (DATECS_P, DatecsPDriver), "eXpert SX": (DAISY, DaisyDriver)}

# (model, emulator fault, warning): each bit the family's document has (C doc p.3, P doc pp.4-5, Daisy doc pp.4-6).
BITS = [
    ("FP800", "paper_near_end", "W_PAPER_NEAR_END"), ("eXpert SX", "paper_near_end", "W_PAPER_NEAR_END"),
    ("FP800", "cover_open", "W_COVER_OPEN"),
    ("DP25", "fm_near_full", "W_FISCAL_MEMORY_NEAR_FULL"), ("FP800", "fm_near_full", "W_FISCAL_MEMORY_NEAR_FULL"),
    ("eXpert SX", "fm_near_full", "W_FISCAL_MEMORY_NEAR_FULL"),
    ("DP25", "paper_out", "W_PAPER_OUT"), ("eXpert SX", "paper_out", "W_PAPER_OUT"),
    ("DP25", "clock_not_set", "W_CLOCK_NOT_SET"),
    ("FP800", "low_battery", "W_CLOCK_BATTERY_LOW"),
    ("DP25", "ej_near_end", "W_JOURNAL_NEAR_FULL"), ("FP800", "ej_very_near_end", "W_JOURNAL_NEAR_FULL"),
    ("DP25", "ej_end", "W_JOURNAL_FULL"), ("eXpert SX", "ej_end", "W_JOURNAL_FULL"),
    ("DP25", "tax_terminal_silent", "W_TAX_TERMINAL_FAULT"), ("eXpert SX", "tax_terminal_silent", "W_TAX_TERMINAL_FAULT"),
    ("DP25", "unsent_documents", "W_DOCUMENTS_NOT_SENT"),
    ("FP800", "printing_unit_fault", "W_PRINTER_FAULT"), ("eXpert SX", "printing_unit_fault", "W_PRINTER_FAULT"),
    ("FP800", "printhead_overheated", "W_PRINTHEAD_OVERHEATED"),
    ("eXpert SX", "cutter_error", "W_CUTTER_FAULT"),
    ("DP25", "fm_full", "W_FISCAL_MEMORY_FULL"), ("FP800", "fm_write_error", "W_FISCAL_MEMORY_ERROR"),
]


@pytest.fixture
def wired(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[FiscalPrinter, IslDriver]]:
    model = request.param
    printer = FiscalPrinter(model)
    server = PtyServer(printer).start()
    dialect, kind = DRIVERS[model]
    driver = kind(IslLink(SerialTransport(server.path, 115200), answer_timeout=0.15, retries=1), open_book(tmp_path), dialect, model, "Front")
    try:
        yield printer, driver
    finally:
        driver.close()
        server.stop()


@pytest.mark.parametrize(("wired", "fault", "warning"), BITS, indirect=["wired"])
def test_each_status_bit_the_emulator_raises_is_its_warning(wired: tuple[FiscalPrinter, IslDriver], fault: str, warning: str) -> None:
    printer, driver = wired
    assert driver.status().warnings == []
    setattr(printer.faults, fault, True)
    status = driver.status()
    assert status.online and warning in status.warnings
    setattr(printer.faults, fault, False)
    assert warning not in driver.status().warnings


@pytest.mark.parametrize("wired", list(DRIVERS), indirect=True)
def test_status_reads_the_z_counter_and_the_clock_offset(wired: tuple[FiscalPrinter, IslDriver]) -> None:
    printer, driver = wired
    before = driver.status()
    assert before.z_counter == (0 if printer.family.key == "DAISY" else None)  # C/P answer F before the first record
    assert before.clock_offset_seconds is not None and abs(before.clock_offset_seconds) <= 2
    printer.execute(0x45, b"0")  # a Z made on the device's own keyboard
    printer.clock_offset = timedelta(minutes=-7)
    after = driver.status()
    assert after.z_counter == 1
    assert after.clock_offset_seconds is not None and abs(after.clock_offset_seconds + 420) <= 2
    assert driver.z_report().number == 2 and driver.status().z_counter == 2
