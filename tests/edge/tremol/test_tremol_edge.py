"""The edge process configured for a Tremol device prints through a real pseudo-terminal and, killed right after
the device call, reconciles on restart instead of printing again."""

from __future__ import annotations

from edge_harness import Stack, make_job, wait_for

from edge.emulators.tremol.device import TremolDevice
from edge.emulators.tremol.server import PtyServer
from edge.faults import CRASH_EXIT_CODE


def test_edge_prints_on_a_tremol_device_and_reconciles_a_crash(stack: Stack) -> None:
    device = TremolDevice("S21")
    device.passwords[1] = "4321"  # a password the shop set, given in the config
    pty = PtyServer(device).start()
    try:
        stack.device_toml = (
            '[fiscal_device]\nmanufacturer = "Tremol"\nmodel = "S21"\noperator_password = "4321"\n'
            f'[fiscal_device.connection]\ntype = "serial"\nport = "{pty.path}"\nbaud_rate = 115200\n'
            "[fiscal_device.timeouts]\nanswer_seconds = 0.2\nretries = 2"
        )
        crashing = stack.start_edge(crash_at="after_device_call")
        stack.send(make_job("job-tr"))
        assert crashing.wait_exit() == CRASH_EXIT_CODE

        restarted = stack.start_edge()
        wait_for(lambda: stack.settled("job-tr"), timeout=20, what="job settled on the Tremol device")
        receipts = [d for d in device.journal if d.kind == "fiscal"]
        assert len(receipts) == 1 and "#SALE ID job-tr#" in receipts[0].lines
        [result] = stack.cloud.results
        assert result.fiscal is not None and result.fiscal.device == "Tremol:ZK000601" and result.fiscal.fiscal_number == "000001"
        assert result.fiscal.unique_sale_number == receipts[0].unp
        assert restarted.stop() == 0
        assert "job_reconciled_printed" in [e["event"] for e in restarted.events()]
    finally:
        pty.stop()
