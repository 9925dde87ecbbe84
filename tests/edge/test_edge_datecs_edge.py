"""The edge process configured for a Datecs printer prints through a real pseudo-terminal, and reconciles after a crash."""

from __future__ import annotations

from edge_harness import Stack, make_job, wait_for

from edge.emulators.isl.device import FiscalPrinter
from edge.emulators.isl.server import PtyServer
from edge.faults import CRASH_EXIT_CODE


def test_edge_prints_on_a_datecs_printer_and_reconciles_a_crash(stack: Stack) -> None:
    printer = FiscalPrinter("DP25")
    printer.passwords[1] = "4321"  # a password the shop set (65h), given in the config
    pty = PtyServer(printer).start()
    try:
        stack.device_toml = (
            '[fiscal_device]\nmanufacturer = "DATECS"\nmodel = "DP25"\noperator_password = "4321"\n'
            f'[fiscal_device.connection]\ntype = "serial"\nport = "{pty.path}"\nbaud_rate = 115200\n'
            "[fiscal_device.timeouts]\nanswer_seconds = 0.2\nretries = 2"
        )
        crashing = stack.start_edge(crash_at="after_device_call")
        stack.send(make_job("job-dt"))
        assert crashing.wait_exit() == CRASH_EXIT_CODE

        restarted = stack.start_edge()
        wait_for(lambda: stack.settled("job-dt"), timeout=20, what="job settled on the Datecs printer")
        assert len(printer.receipts_with_text("job-dt")) == 1
        [result] = stack.cloud.results
        assert result.fiscal is not None and result.fiscal.device == "DATECS:DT000600" and result.fiscal.fiscal_number == "0000001"
        assert restarted.stop() == 0
        assert "job_reconciled_printed" in [e["event"] for e in restarted.events()]
    finally:
        pty.stop()
