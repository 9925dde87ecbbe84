"""The edge's heartbeat as the cloud receives it (the fake cloud validates each body with the contract):
sent at once when ``edge run`` starts, with the version, each fiscal device's status and the warning codes
its driver reads from the device's status bits, and the backlog of jobs, results and till sales not yet
uploaded (the journal's ``pending_sales``)."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from edge_harness import Stack, make_job, wait_for

import edge
from edge.backoff import RetryGate
from edge.cloud import CloudClient
from edge.config import load_config
from edge.emulators.isl.device import FiscalPrinter
from edge.emulators.isl.server import PtyServer
from edge.fiscal_day.service import FiscalDay
from edge.heartbeat import HeartbeatSender, device_readings
from edge.hub import DeviceHub
from edge.journal import InboundMessage, Journal
from edge.operations import Operations
from edge.runner import run_edge
from edge.session import CloudLink
from edge.store import SettingsStore


@contextmanager
def datecs(stack: Stack) -> Iterator[FiscalPrinter]:
    """A Datecs FP-2000 (the ISL "P" family) emulated behind a pseudo-terminal, the stack's fiscal device."""
    printer = FiscalPrinter("FP-2000")
    pty = PtyServer(printer).start()
    stack.device_toml = (
        '[fiscal_device]\nname = "Till printer"\nmanufacturer = "DATECS"\nmodel = "FP2000"\n'
        f'[fiscal_device.connection]\ntype = "serial"\nport = "{pty.path}"\nbaud_rate = 115200\n'
        "[fiscal_device.timeouts]\nanswer_seconds = 0.2\nretries = 2"
    )
    try:
        yield printer
    finally:
        pty.stop()


@contextmanager
def sender(stack: Stack) -> Iterator[tuple[HeartbeatSender, Journal]]:
    """The heartbeat of an edge that is not polling: its journal, devices and cloud link, nothing else."""
    config = load_config(stack.write_config())
    stack.state_dir.mkdir(parents=True, exist_ok=True)
    journal = Journal(config.journal_path)
    hub = DeviceHub(SettingsStore.open(config.state_dir, config), config.state_dir)
    client = CloudClient(config.api_root, config.edge_key, 5.0)
    link = CloudLink(client, RetryGate(0.1, 0.5), 0.8)
    try:
        fiscal_day = FiscalDay(journal, hub, Operations(journal, hub, config.smtp), config.state_dir, config.time_zone,
                               config.z_report, config.device_warnings)
        beats = HeartbeatSender(link, client, lambda: device_readings(hub, fiscal_day), journal, journal.pending_sales,
                                lambda: "1.0.0", threading.Event())
        yield beats, journal
    finally:
        hub.close()
        client.close()
        journal.close()


def test_a_running_edge_beats_at_once_with_its_device(stack: Stack) -> None:
    stop = threading.Event()
    with datecs(stack):
        config = load_config(stack.write_config())
        runner = threading.Thread(target=run_edge, args=(config, stop, io.StringIO()), daemon=True)
        runner.start()
        try:
            [beat, *_] = wait_for(lambda: stack.cloud.heartbeats, timeout=20, what="a heartbeat")
        finally:
            stop.set()
            runner.join(timeout=20)
    assert not runner.is_alive()
    assert beat.version == edge.__version__
    [device] = beat.devices
    assert (device.name, device.manufacturer, device.model, device.status.value, device.warnings) == \
        ("Till printer", "DATECS", "FP2000", "online", [])
    assert beat.backlog.model_dump() == {"jobs": 0, "results": 0, "sales": 0}


def test_warnings_come_from_the_device_status_bits(stack: Stack) -> None:
    """Status byte 2 bit 1 (paper near end) and byte 0 bit 6 (cover open), Datecs P protocol document p.4-5,
    reach the cloud as the §5 codes."""
    with datecs(stack) as printer, sender(stack) as (beats, _):
        printer.faults.paper_near_end = True
        assert beats.send()
        printer.faults.cover_open = True
        assert beats.send()
        printer.faults.paper_near_end = printer.faults.cover_open = False
        assert beats.send()
    assert [set(b.devices[0].warnings) for b in stack.cloud.heartbeats] == [
        {"W_PAPER_NEAR_END"}, {"W_PAPER_NEAR_END", "W_COVER_OPEN"}, set()]


def test_a_device_that_does_not_answer_is_reported_unreachable(stack: Stack) -> None:
    stack.device_toml = ('[fiscal_device]\nmanufacturer = "DATECS"\nmodel = "DP25"\n'
                         '[fiscal_device.connection]\ntype = "serial"\nport = "/dev/no-such-port"\n'
                         "[fiscal_device.timeouts]\nanswer_seconds = 0.2\nretries = 1")
    with sender(stack) as (beats, _):
        assert beats.send()
    [device] = stack.cloud.heartbeats[0].devices
    assert (device.status.value, device.warnings) == ("offline", ["W_DEVICE_UNREACHABLE"])


def test_the_backlog_counts_the_journals_jobs_and_till_sales(stack: Stack) -> None:
    with sender(stack) as (beats, journal):
        for n in range(2):
            job = make_job(f"job-{n}")
            journal.accept(job, InboundMessage(message_id=f"m-{n}", receipt_handle=f"h-{n}", body=job.model_dump_json()))
        for n in range(3):
            journal.begin_sale(f"till-{n}", make_job(f"sale-{n}"), f"fingerprint-{n}", {})
        assert beats.send()
    assert stack.cloud.heartbeats[0].backlog.model_dump() == {"jobs": 2, "results": 0, "sales": 3}


def test_a_refused_token_renews_the_session_and_a_cloud_outage_is_survived(stack: Stack) -> None:
    with sender(stack) as (beats, _):
        assert beats.send()
        stack.cloud.revoke_tokens()
        assert beats.send(), "a new session, then the heartbeat"
        assert stack.cloud.sessions == 2 and stack.cloud.unauthorized == 1
        stack.cloud.mode = "503"
        assert not beats.send()
        stack.cloud.mode = None
        assert beats.send()
    assert len(stack.cloud.heartbeats) == 3


@pytest.mark.parametrize("warnings, reported", [
    (["W_PAPER_NEAR_END", "W_PAPER_NEAR_END", "paper low", "W_" + "X" * 60, "E_FAULT"], ["W_PAPER_NEAR_END"]),
    ([f"W_CODE_{n}" for n in range(20)], [f"W_CODE_{n}" for n in range(16)]),
])
def test_a_drivers_odd_warnings_never_stop_the_heartbeat(stack: Stack, monkeypatch: pytest.MonkeyPatch,
                                                         warnings: list[str], reported: list[str]) -> None:
    from edge.drivers.simulated import SimulatedDriver

    real = SimulatedDriver.status
    monkeypatch.setattr(SimulatedDriver, "status", lambda self: real(self).model_copy(update={"warnings": warnings}))
    with sender(stack) as (beats, _):
        assert beats.send()
    assert stack.cloud.heartbeats[0].devices[0].warnings == reported
