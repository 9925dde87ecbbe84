"""The ISL link's sequence numbers across restarts and reconnects, and serial ports given as pyserial URLs."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from isl_fake import SERIAL, FakePrinter, answer_frame
from test_isl_golden import driver_on, job

from edge.config import FiscalDeviceConfig, SerialConnection
from edge.drivers import create_driver


@pytest.mark.parametrize("family", ["P", "C"])
def test_a_restarted_host_whose_first_seq_was_the_printers_last_loses_no_command(family: str, tmp_path: Path) -> None:
    """C doc p.5, P doc p.9: a frame with the previous frame's SEQ is answered with the previous answer and not run.

    The printer last ran a sale (31h) under SEQ 40h; the restarted host happens to start at 40h. Its first
    frame is the status request, which is answered with the old sale answer: the link sees another command's
    answer under its SEQ, sends the status again under 41h, and every later command runs."""
    printer = FakePrinter(family)  # type: ignore[arg-type]
    printer.last_seq, printer.last_cmd = 0x40, 0x31
    printer.last_answer = answer_frame(0x40, 0x31, b"", bytes([0x80] * 6))
    driver_on(printer, tmp_path, first_seq=0x40).print_receipt(job())

    assert printer.requests[0][:2] == (0x40, 0x4A) and printer.requests[1][:2] == (0x41, 0x4A)
    assert [cmd for _seq, cmd, _data in printer.requests[1:]] == [cmd for cmd, _data in printer.executed]
    assert printer.receipts_for(SERIAL[family]) == 1


@pytest.mark.parametrize("family", ["P", "C", "Daisy"])
def test_when_the_printers_last_frame_was_a_status_request_the_repeat_is_spent_on_the_priming_request(family: str, tmp_path: Path) -> None:
    printer = FakePrinter(family)  # type: ignore[arg-type]
    printer.last_seq, printer.last_cmd = 0x40, 0x4A
    printer.last_answer = answer_frame(0x40, 0x4A, b"", bytes([0x80] * 6))
    driver_on(printer, tmp_path, first_seq=0x40).print_receipt(job())

    assert printer.executed[0][0] == 0x5A  # the first command that matters ran: the repeat went to 4Ah
    assert printer.receipts_for(SERIAL[family]) == 1


def test_every_reconnect_starts_with_a_status_request(tmp_path: Path) -> None:
    printer = FakePrinter("C")
    driver = driver_on(printer, tmp_path)
    driver.print_receipt(job("job-1"))
    driver.link.close()
    before = len(printer.requests)
    driver.print_receipt(job("job-2"))
    assert printer.requests[before][1] == 0x4A
    assert [seq for seq, _c, _d in printer.requests] == list(range(0x20, 0x20 + len(printer.requests)))  # the counter goes on


@pytest.fixture
def device_server() -> Iterator[tuple[int, FakePrinter]]:
    """A serial device server on the LAN: a TCP port whose bytes go to and from the printer's serial line."""
    printer = FakePrinter("P")
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(0.05)
                while not stop.is_set():
                    try:
                        chunk = conn.recv(4096)
                    except TimeoutError:
                        continue
                    except OSError:
                        break
                    if not chunk:
                        break
                    printer.write(chunk)
                    conn.sendall(printer.read(0))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], printer
    stop.set()
    listener.close()
    thread.join(timeout=2)


def test_a_socket_url_as_the_serial_port_reaches_the_printer(device_server: tuple[int, FakePrinter], tmp_path: Path) -> None:
    port, printer = device_server
    device = FiscalDeviceConfig(manufacturer="DATECS", model="FP800", connection=SerialConnection(type="serial", port=f"socket://127.0.0.1:{port}"))
    driver = create_driver(device, tmp_path)
    try:
        assert driver.status().online
        record = driver.print_receipt(job())
    finally:
        driver.close()
    assert printer.receipts_for(SERIAL["P"]) == 1 and record.fiscal_number == "0000001"


def test_an_unreachable_socket_url_is_unreachable_not_a_crash(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
    device = FiscalDeviceConfig(manufacturer="DATECS", model="FP800", connection=SerialConnection(type="serial", port=f"socket://127.0.0.1:{port}"))
    driver = create_driver(device, tmp_path)
    status = driver.status()
    assert not status.online and "socket://" in (status.error or "")
    driver.close()
