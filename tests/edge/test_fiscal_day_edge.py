"""The fiscal day through a running edge: warnings the simulator and the ISL emulator raise in GET /manage/status and
the CLI, a Z the device made by itself journaled and warned, and the scheduled Z made once even across a restart."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from edge_harness import Stack, wait_for

from edge.emulators.isl.device import FiscalPrinter
from edge.emulators.isl.server import PtyServer

ZONE = "Europe/Sofia"


def _warnings(stack: Stack) -> list[str]:
    status = stack.manage("status").json()
    [view] = status["devices"]
    assert view["status"] == status["device"] and view["name"] == "Fiscal printer"
    return view["status"]["warnings"]


def _z_entries(stack: Stack) -> list[dict[str, Any]]:
    entries = stack.manage("get_journal_entries", {"start_time": 0, "end_time": time.time_ns() // 1_000_000}).json()
    return [e for e in entries if e["action_type"] == "ZReport"]


def test_each_simulator_fault_is_its_warning_in_status_and_the_cli(stack: Stack) -> None:
    stack.start_edge()
    assert _warnings(stack) == []
    for faults, warning in (
        ({"paper_near_end": True}, "W_PAPER_NEAR_END"),
        ({"cover_open": True}, "W_COVER_OPEN"),
        ({"fiscal_memory_near_full": True}, "W_FISCAL_MEMORY_NEAR_FULL"),
        ({"paper_out": True}, "W_PAPER_OUT"),
        ({"clock_offset_seconds": 3600}, "W_CLOCK_DRIFT"),
        ({"link_loss": True}, "W_DEVICE_UNREACHABLE"),
    ):
        assert stack.manage("simulator/set_faults", faults).status_code == 200
        assert warning in _warnings(stack), faults
        stack.manage("simulator/set_faults", dict.fromkeys(faults, 0 if warning == "W_CLOCK_DRIFT" else False))
        assert warning not in _warnings(stack)

    stack.manage("simulator/set_faults", {"paper_near_end": True})
    shown = stack.cli("status", "--config", str(stack.config_dir / "edge.toml"))
    assert shown.returncode == 0 and "W_PAPER_NEAR_END" in shown.stdout, shown.stderr


def test_a_z_the_register_made_by_itself_is_journaled_once_and_warned(stack: Stack) -> None:
    stack.start_edge()
    assert _warnings(stack) == []  # the Z counter's baseline is read
    assert httpx.post(f"{stack.manage_url}/simulator/close_day", json={}).status_code == 401  # the local token's call
    assert stack.manage("simulator/close_day", {}).json()["z_number"] == 1
    assert "W_Z_REPORT_BY_DEVICE" in _warnings(stack)
    assert "W_Z_REPORT_BY_DEVICE" in _warnings(stack)
    [entry] = _z_entries(stack)
    assert entry["success"] is True and entry["fiscal_number"] == "0001" and "made by the device itself" in entry["description"]


def test_the_scheduled_z_is_made_once_and_not_again_after_a_restart(stack: Stack) -> None:
    slot = (datetime.now(ZoneInfo(ZONE)) - timedelta(minutes=1)).strftime("%H:%M")
    stack.extra_toml = f'[z_report]\nat = "{slot}"\ncheck_seconds = 0.2\n'
    edge = stack.start_edge(time_zone=ZONE)
    wait_for(lambda: len(stack.register().z_reports()) == 1, what="the scheduled Z")
    [entry] = wait_for(lambda: [e for e in _z_entries(stack) if e["success"]] or None, what="the Z journaled")
    assert entry["description"] == f"Scheduled Z report ({slot} {ZONE}) on Fiscal printer" and entry["fiscal_number"] == "0001"
    assert edge.stop() == 0

    stack.start_edge(time_zone=ZONE)
    assert _warnings(stack) == []
    time.sleep(1.0)  # the restarted edge's first ticks, which find the slot done in the journal
    assert len(stack.register().z_reports()) == 1 and len(_z_entries(stack)) == 1


def test_a_datecs_printers_status_bits_and_its_own_z_reach_the_status(stack: Stack) -> None:
    """Device bytes end to end: the emulated FP-800 raises 2.1 (low paper, P doc p.4) and its clock runs 5 minutes
    late; a Z made on its own keyboard moves 40h's record, and the edge journals it as the device's."""
    printer = FiscalPrinter("FP800")
    printer.execute(0x45, b"0")  # a printer in service has closed days before
    pty = PtyServer(printer).start()
    try:
        stack.device_toml = (
            '[fiscal_device]\nmanufacturer = "DATECS"\nmodel = "FP800"\n'
            f'[fiscal_device.connection]\ntype = "serial"\nport = "{pty.path}"\nbaud_rate = 115200\n'
            "[fiscal_device.timeouts]\nanswer_seconds = 0.2\nretries = 2"
        )
        stack.start_edge()
        assert _warnings(stack) == []
        printer.faults.paper_near_end = True
        printer.clock_offset = timedelta(minutes=-5)
        assert set(_warnings(stack)) == {"W_PAPER_NEAR_END", "W_CLOCK_DRIFT"}
        printer.execute(0x45, b"0")
        assert "W_Z_REPORT_BY_DEVICE" in _warnings(stack)
        [entry] = _z_entries(stack)
        assert entry["fiscal_number"] == "0002" and "made by the device itself" in entry["description"]
    finally:
        pty.stop()
