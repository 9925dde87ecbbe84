"""The ISL driver against the emulator written independently from the documents, through a real pseudo-terminal
(pyserial) and real TCP. The printers' operator 1 has the password the config gives (a shop may set its own: 65h)."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import tty
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest
from edge_harness import make_job
from isl_fake import answer_frame
from pydantic import ValidationError

from edge.config import FiscalDeviceConfig
from edge.drivers import create_driver
from edge.drivers.base import (
    ClockNotSet,
    CoverOpen,
    DeviceBusy,
    FiscalMemoryError,
    FiscalMemoryFull,
    InvalidJob,
    JournalFull,
    OperationRefused,
    PaperOut,
    PrinterFault,
    UnsupportedDevice,
    UnsupportedOperation,
)
from edge.drivers.isl import link as datecs_link
from edge.drivers.isl.commands import Command
from edge.drivers.isl.daisy import DAISY, DaisyDriver
from edge.drivers.isl.datecs import DATECS_C, DATECS_P, DatecsCDriver, DatecsPDriver
from edge.drivers.isl.driver import (
    DeviceSilent,
    GarbledAnswer,
    IslDriver,
    ReceiptInterrupted,
)
from edge.drivers.isl.frame import SYN, Response
from edge.drivers.isl.link import IslLink, SerialTransport
from edge.drivers.isl.sales import open_book
from edge.emulators.isl.device import FiscalPrinter
from edge.emulators.isl.server import PtyServer, TcpServer

FAST = {"answer_seconds": 0.15, "busy_seconds": 0.6, "retries": 2}
PASSWORD = "4321"
IDLE = bytes([0x80] * 6)
FISCAL_MODE = bytes.fromhex("80 80 80 80 80 88")  # 5.3: fiscal mode (C doc p.3)
CYRILLIC_B = b"\xc1"  # Б in cp1251: the emulator's first 20 % group (А 0 %, Б 20 %)


def serial_config(path: str, manufacturer: str = "DATECS", model: str = "DP25") -> FiscalDeviceConfig:
    connection = {"type": "serial", "port": path, "baud_rate": 115200}
    return FiscalDeviceConfig(manufacturer=manufacturer, model=model, connection=connection, timeouts=FAST, operator_password=PASSWORD)


def emulated(model: str) -> FiscalPrinter:
    printer = FiscalPrinter(model)
    printer.passwords[1] = PASSWORD
    return printer


@pytest.fixture
def printer() -> FiscalPrinter:
    return emulated("DP25")


@pytest.fixture
def pty(printer: FiscalPrinter) -> Iterator[PtyServer]:
    server = PtyServer(printer).start()
    yield server
    server.stop()


@pytest.fixture
def driver(pty: PtyServer, tmp_path: Path) -> Iterator[IslDriver]:
    opened = create_driver(serial_config(pty.path), tmp_path)
    assert isinstance(opened, IslDriver)
    yield opened
    opened.close()


def test_receipt_over_a_serial_port_carries_the_job_and_reconciles(driver: IslDriver, printer: FiscalPrinter) -> None:
    record = driver.print_receipt(make_job("job-1"))

    [receipt] = printer.fiscal_receipts()
    assert record.fiscal_number == f"{receipt.number:07d}" and record.device == "DATECS:DT000600"
    assert receipt.unp == "DT000600-0001-0000001" and receipt.texts == ("SALE ID job-1",)
    assert receipt.lines == (("Coffee", "B", 1050), ("Tea", "B", 280)) and receipt.paid == (("cash", 1330),)
    assert driver.find_receipt("job-1") == record and driver.last_receipt() == record
    assert driver.find_receipt("job-never") is None
    assert driver.print_receipt(make_job("job-2")).fiscal_number == "0000002"
    assert printer.receipts_with_text("job-2")[0].unp == "DT000600-0001-0000002"


def test_the_receipt_is_the_documented_command_sequence(pty: PtyServer, driver: IslDriver, printer: FiscalPrinter) -> None:
    driver.print_receipt(make_job("job-1"))
    del printer.commands[:]
    driver.print_receipt(make_job("job-2"))
    # Identity and tax rates were read for the first receipt. The answer to the last-document query
    # carries the status bytes that say whether a receipt was left open: no separate status command.
    assert printer.commands == [
        Command.LAST_DOCUMENT_NUMBER, Command.OPEN_FISCAL_RECEIPT, Command.SALE, Command.SALE,
        Command.FISCAL_TEXT, Command.SUBTOTAL, Command.TOTAL, Command.CLOSE_FISCAL_RECEIPT, Command.READ_CLOCK,
    ]
    assert pty.bytes_in > 0 and pty.bytes_out > 0


def test_a_receipt_left_open_by_another_program_is_finished_before_the_next_one(driver: IslDriver, printer: FiscalPrinter) -> None:
    printer.execute(Command.OPEN_SERVICE_RECEIPT, b"")
    driver.print_receipt(make_job("job-1"))
    assert [d.kind for d in printer.journal] == ["service", "fiscal"]
    printer.execute(Command.OPEN_FISCAL_RECEIPT, b"2,2,DT000600-0002-0000009,1")  # C doc p.10, operator 2's factory password
    printer.execute(Command.SALE, b"Gum\t" + CYRILLIC_B + b"1.00")
    record = driver.print_receipt(make_job("job-2"))
    assert [d.kind for d in printer.journal] == ["service", "fiscal", "cancelled", "fiscal"]
    assert record.fiscal_number == f"{printer.journal[-1].number:07d}"
    assert printer.receipts_with_text("job-2")[0].unp == "DT000600-0001-0000002"


def test_line_amounts_that_are_not_price_times_quantity_travel_as_an_adjustment(driver: IslDriver, printer: FiscalPrinter) -> None:
    job = make_job("job-adj")
    lines = [job.lines[0].model_copy(update={"amount": 1000}), job.lines[1]]
    driver.print_receipt(job.model_copy(update={"lines": lines, "total": 1280, "payment": job.payment.model_copy(update={"amount": 1280})}))
    assert printer.fiscal_receipts()[0].lines[0] == ("Coffee", "B", 1000)


def test_crash_after_close_is_reconciled_as_printed_by_a_new_driver(pty: PtyServer, driver: IslDriver, printer: FiscalPrinter, tmp_path: Path) -> None:
    pty.faults.drop_after = Command.CLOSE_FISCAL_RECEIPT
    with pytest.raises(ReceiptInterrupted) as lost:
        driver.print_receipt(make_job("job-1"))
    assert lost.value.may_have_printed
    driver.close()
    pty.faults.silent = False

    restarted = create_driver(serial_config(pty.path), tmp_path)
    record = restarted.find_receipt("job-1")
    assert record is not None and record.fiscal_number == "0000001"
    assert len(printer.receipts_with_text("job-1")) == 1
    restarted.close()


def test_crash_mid_receipt_cancels_the_open_receipt_and_proves_nothing_printed(pty: PtyServer, driver: IslDriver, printer: FiscalPrinter) -> None:
    pty.faults.drop_after = Command.FISCAL_TEXT
    with pytest.raises(ReceiptInterrupted):
        driver.print_receipt(make_job("job-1"))
    assert printer.open is not None
    pty.faults.silent = False

    assert driver.find_receipt("job-1") is None
    assert printer.open is None and printer.journal[-1].kind == "cancelled"
    assert driver.find_receipt("job-1") is None  # asking again changes nothing
    assert driver.print_receipt(make_job("job-1")).fiscal_number == "0000002"
    assert len(printer.receipts_with_text("job-1")) == 1
    found = driver.find_receipt("job-1")
    assert found is not None and found.fiscal_number == "0000002"


def test_the_sale_plan_is_committed_before_the_printer_is_asked_to_open_the_receipt(printer: FiscalPrinter, driver: IslDriver, tmp_path: Path) -> None:
    seen_at_open: list[tuple[object, ...]] = []
    execute = printer.execute

    def spy(cmd: int, data: bytes) -> tuple[bytes, bytes]:
        if cmd == Command.OPEN_FISCAL_RECEIPT and data:  # the open itself, not the query of the last sale number
            with closing(sqlite3.connect(tmp_path / "isl_sales.sqlite")) as other:
                seen_at_open.extend(other.execute("SELECT job_id, seq, unp, cancelling FROM sales").fetchall())
        return execute(cmd, data)

    printer.execute = spy  # type: ignore[method-assign]
    driver.print_receipt(make_job("job-1"))
    assert seen_at_open == [("job-1", 1, "DT000600-0001-0000001", 0)]


# How the serial transport drives an open port: the descriptor itself (POSIX) or pyserial's calls (Windows).
PORT_KINDS = pytest.mark.parametrize("port_kind", [datecs_link._DescriptorPort, datecs_link._PyserialPort], ids=["descriptor", "pyserial"])


@pytest.fixture
def line() -> Iterator[tuple[int, str]]:
    """A raw pseudo-terminal: the test plays the printer on the master end; a transport opens the other end by name."""
    master, slave = os.openpty()
    tty.setraw(slave)
    yield master, os.ttyname(slave)
    os.close(master)
    os.close(slave)


def answer_priming(master: int, seq: int) -> int:
    """Play the printer for the status request a link sends first after it is opened; returns the answer's size."""
    os.read(master, 4096)
    answer = answer_frame(seq, Command.STATUS, b"", FISCAL_MODE)
    os.write(master, answer)
    return len(answer)


def request_while(printer_side: Callable[[], object], link: IslLink, cmd: int, data: bytes = b"") -> Response:
    """One request while ``printer_side`` plays the printer on another thread; the link is closed afterwards."""
    side = threading.Thread(target=printer_side)
    side.start()
    try:
        return link.request(cmd, data)
    finally:
        side.join()
        link.close()


@PORT_KINDS
def test_an_answer_that_arrives_in_pieces_is_reassembled_from_the_serial_port(port_kind: type, monkeypatch: pytest.MonkeyPatch, line: tuple[int, str]) -> None:
    monkeypatch.setattr(datecs_link, "_Port", port_kind)
    master, path = line
    answer = answer_frame(0x21, Command.LAST_DOCUMENT_NUMBER, b"0000042", FISCAL_MODE)
    primed = []

    def printer_side() -> None:
        primed.append(answer_priming(master, 0x20))
        os.read(master, 4096)
        for piece in (bytes([SYN]), answer[:1], answer[1:6], answer[6:-1], answer[-1:]):
            os.write(master, piece)
            time.sleep(0.02)

    link = IslLink(SerialTransport(path, 115200), answer_timeout=0.5, first_seq=0x20)
    response = request_while(printer_side, link, Command.LAST_DOCUMENT_NUMBER)
    assert (response.seq, response.cmd, response.data) == (0x21, Command.LAST_DOCUMENT_NUMBER, b"0000042")
    assert link.bytes_in == primed[0] + 1 + len(answer)


@PORT_KINDS
def test_the_serial_port_returns_everything_that_has_arrived_in_one_read(port_kind: type, monkeypatch: pytest.MonkeyPatch, line: tuple[int, str]) -> None:
    monkeypatch.setattr(datecs_link, "_Port", port_kind)
    master, path = line
    transport = SerialTransport(path, 115200)
    try:
        assert transport.read(0.01) == b""
        frames = answer_frame(0x21, Command.STATUS, b"", IDLE) + bytes([SYN])
        os.write(master, frames)
        time.sleep(0.05)
        assert transport.read(0.5) == frames
    finally:
        transport.close()


def test_the_answer_timeout_starts_once_the_frame_is_on_the_line(line: tuple[int, str]) -> None:
    """At 1200 baud a 50-byte frame takes 0.42 s to go out: an answer 0.3 s after the write is in time."""
    master, path = line
    answer = answer_frame(0x21, Command.SALE, b"", FISCAL_MODE)

    def printer_side() -> None:
        answer_priming(master, 0x20)
        os.read(master, 4096)
        time.sleep(0.3)
        os.write(master, answer)

    link = IslLink(SerialTransport(path, 1200), answer_timeout=0.1, retries=0, first_seq=0x20)
    assert request_while(printer_side, link, Command.SALE, b"x" * 40).cmd == Command.SALE


def test_a_late_answer_to_a_failed_request_is_discarded_before_the_next_one(line: tuple[int, str]) -> None:
    """The port is flushed after an exchange that did not end with its answer (only then can stale bytes wait)."""
    master, path = line
    late = answer_frame(0x20, Command.STATUS, b"", IDLE)
    fresh = answer_frame(0x22, Command.LAST_DOCUMENT_NUMBER, b"0000043", FISCAL_MODE)
    link = IslLink(SerialTransport(path, 115200), answer_timeout=0.2, retries=0, first_seq=0x20)
    with pytest.raises(datecs_link.NoAnswer):
        link.request(Command.STATUS)
    os.read(master, 4096)
    os.write(master, late)  # the printer answers after the host gave up
    time.sleep(0.05)
    primed = []

    def printer_side() -> None:
        primed.append(answer_priming(master, 0x21))  # the link was never primed: it sends the status request again
        os.read(master, 4096)
        os.write(master, fresh)

    response = request_while(printer_side, link, Command.LAST_DOCUMENT_NUMBER)
    assert (response.seq, response.data) == (0x22, b"0000043")
    assert link.bytes_in == primed[0] + len(fresh), "the late answer was flushed, never read"


def test_a_paid_receipt_left_open_is_closed_by_reconciliation(pty: PtyServer, driver: IslDriver, printer: FiscalPrinter) -> None:
    pty.faults.drop_after = Command.TOTAL
    with pytest.raises(ReceiptInterrupted):
        driver.print_receipt(make_job("job-1"))
    pty.faults.silent = False
    record = driver.find_receipt("job-1")
    assert record is not None and len(printer.receipts_with_text("job-1")) == 1


def test_one_corrupt_or_nak_answer_is_retried_transparently(pty: PtyServer, driver: IslDriver, printer: FiscalPrinter) -> None:
    pty.faults.corrupt_checksum = 1
    pty.faults.nak = 1
    driver.print_receipt(make_job("job-1"))
    pty.faults.truncate = 1
    pty.faults.garbage = 1
    driver.print_receipt(make_job("job-2"))
    assert [r.unp for r in printer.fiscal_receipts()] == ["DT000600-0001-0000001", "DT000600-0001-0000002"]


@pytest.mark.parametrize(
    ("fault", "error"),
    [("corrupt_checksum", GarbledAnswer), ("truncate", GarbledAnswer), ("garbage", GarbledAnswer), ("silent", DeviceSilent)],
)
def test_hostile_or_silent_printer_gives_a_typed_error_quickly(pty: PtyServer, driver: IslDriver, fault: str, error: type[Exception]) -> None:
    setattr(pty.faults, fault, True if fault == "silent" else 99)
    started = time.monotonic()
    with pytest.raises(error):
        driver.x_report()
    assert time.monotonic() - started < 2.0
    assert driver.status().online is False


def test_endless_syn_is_device_busy_within_the_bound(pty: PtyServer, driver: IslDriver) -> None:
    pty.faults.syn, pty.faults.syn_interval = 20, 0.05
    started = time.monotonic()
    with pytest.raises(DeviceBusy):
        driver.x_report()
    assert time.monotonic() - started < 2.5


def test_a_few_syn_bytes_are_waited_out(pty: PtyServer, driver: IslDriver) -> None:
    pty.faults.syn, pty.faults.syn_interval = 3, 0.1  # 0.3 s busy, longer than one 0.15 s answer timeout
    assert driver.x_report().kind == "X"


def test_paper_out_before_the_receipt_prints_nothing(driver: IslDriver, printer: FiscalPrinter) -> None:
    printer.faults.paper_out = True
    with pytest.raises(PaperOut) as out:
        driver.print_receipt(make_job("job-1"))
    assert not out.value.may_have_printed and printer.open is None
    assert driver.status().paper_out is True
    printer.faults.paper_out = False
    driver.print_receipt(make_job("job-1"))
    assert len(printer.receipts_with_text("job-1")) == 1


def test_unknown_vat_rate_and_refunds_are_invalid_before_anything_is_sent(driver: IslDriver, printer: FiscalPrinter) -> None:
    with pytest.raises(InvalidJob):
        driver.print_receipt(make_job("job-1", vat_rate="33"))
    with pytest.raises(InvalidJob):
        driver.print_receipt(make_job("job-2").model_copy(update={"is_refund": True}))
    assert Command.SALE not in printer.commands and printer.open is None


def test_reports_cash_text_and_clock(driver: IslDriver, printer: FiscalPrinter) -> None:
    driver.print_receipt(make_job("job-1"))
    assert driver.x_report().amount_cents == 1330
    cash = driver.cash_in_out(1000)
    assert (cash.accepted, cash.cash_in_drawer, cash.deposited) == (True, 2330, 1000)
    assert driver.cash_in_out(-500).withdrawn == 500
    assert driver.cash_in_out(-100_000).accepted is False
    assert driver.print_text(["Thank you", "Come again"]) == printer.doc_number
    moment = driver.read_clock()
    driver.set_clock(moment.replace(year=moment.year + 1))
    assert driver.read_clock().year == moment.year + 1
    z = driver.z_report()
    assert (z.kind, z.number, z.amount_cents) == ("Z", 1, 1330)
    assert driver.x_report().amount_cents == 0


def test_tcp_transport_default_port_and_shared_state(printer: FiscalPrinter, tmp_path: Path) -> None:
    assert FiscalDeviceConfig.model_validate({"manufacturer": "DATECS", "model": "DP25", "connection": {"type": "tcp", "host": "10.0.0.5"}}).connection.port == 3999  # type: ignore[union-attr]
    server = TcpServer(printer).start()
    try:
        connection = {"type": "tcp", "host": "127.0.0.1", "port": server.port}
        config = FiscalDeviceConfig(manufacturer="DATECS", model="DP25", connection=connection, timeouts=FAST, operator_password=PASSWORD)
        tcp_driver = create_driver(config, tmp_path)
        assert tcp_driver.print_receipt(make_job("job-tcp")).fiscal_number == "0000001"
        server.faults.silent = True
        with pytest.raises(DeviceSilent):
            tcp_driver.z_report()
        tcp_driver.close()
    finally:
        server.stop()


def test_daisy_dialect_over_a_serial_port(tmp_path: Path) -> None:
    printer = emulated("Compact M")
    server = PtyServer(printer).start()
    try:
        daisy = create_driver(serial_config(server.path, "Daisy", "Compact M"), tmp_path)
        job = make_job("job-d").model_copy(update={"payment": make_job("job-d").payment.model_copy(update={"type": "card"})})
        daisy.print_receipt(job)
        assert printer.fiscal_receipts()[0].paid == (("card", 1330),)
        server.faults.drop_after = Command.SALE
        with pytest.raises(ReceiptInterrupted):
            daisy.print_receipt(make_job("job-e"))
        server.faults.silent = False
        assert daisy.find_receipt("job-e") is None and Command.DAISY_CANCEL_FISCAL_RECEIPT in printer.commands
        daisy.close()
    finally:
        server.stop()


def test_connection_config_is_validated_strictly(tmp_path: Path) -> None:
    for bad in (
        {"type": "serial", "port": "/dev/ttyS0", "baud_rate": 12345},
        {"type": "tcp", "host": "printer;rm", "port": 3999},
        {"type": "tcp", "host": "10.0.0.5", "port": 70000},
        {"type": "http", "url": "ftp://x", "username": "u", "password": "p"},
        {"type": "usb", "port": "x"},
        {"type": "serial", "port": "/dev/ttyS0", "extra": 1},
    ):
        with pytest.raises(ValidationError):
            FiscalDeviceConfig.model_validate({"manufacturer": "DATECS", "model": "DP25", "connection": bad})
    with pytest.raises(UnsupportedDevice, match="serial or tcp"):
        create_driver(FiscalDeviceConfig(manufacturer="DATECS", model="DP25"), tmp_path)
    with pytest.raises(UnsupportedDevice, match="serial"):
        create_driver(FiscalDeviceConfig(manufacturer="Daisy", model="Compact M", connection={"type": "tcp", "host": "h"}), tmp_path)
    with pytest.raises(UnsupportedDevice, match="no connection"):
        create_driver(FiscalDeviceConfig(manufacturer="Simulated", model="Simulated", connection={"type": "tcp", "host": "h"}), tmp_path)


def test_missing_serial_port_is_unreachable_not_a_crash(tmp_path: Path) -> None:
    missing = create_driver(serial_config(str(tmp_path / "no-such-tty")), tmp_path)
    assert missing.status().online is False
    with pytest.raises(Exception) as raised:
        missing.print_receipt(make_job("job-1"))
    assert raised.value.__class__.__name__ == "DeviceUnreachable" and not raised.value.may_have_printed  # type: ignore[attr-defined]
    missing.close()


def test_emulator_decodes_what_the_driver_writes(pty: PtyServer, driver: IslDriver) -> None:
    captured: list[bytes] = []
    receive = pty.endpoint.receive
    pty.endpoint.receive = lambda chunk, send: (captured.append(chunk), receive(chunk, send))[1]  # type: ignore[method-assign]
    driver.cash_in_out(250)
    frames = b"".join(captured)
    request = frames[frames.rindex(b"\x01") :]
    assert (request[3], request[4:-6]) == (Command.CASH_IN_OUT, b"2.50")  # 01 LEN SEQ CMD DATA 05 BCC(4) 03


def test_device_operations_over_the_serial_port(driver: IslDriver, printer: FiscalPrinter) -> None:
    driver.print_receipt(make_job("job-ops"))
    text = driver.non_fiscal_receipt(["Wi-Fi: guest", "Thank you"])
    assert text.number is not None and "Wi-Fi: guest" in text.full_text
    deposit = driver.cash_in(5000)
    assert deposit.amount_cents == 5000 and "CASH IN DRAWER" in deposit.full_text
    with pytest.raises(OperationRefused):
        driver.cash_out(10**7)  # more than the drawer holds
    assert driver.cash_out(1000).amount_cents == 1000
    with pytest.raises(UnsupportedOperation) as unsupported:
        driver.fiscal_memory_report(date(2024, 1, 1), date(2024, 1, 31))
    assert unsupported.value.code == "E_UNSUPPORTED_OPERATION" and not unsupported.value.transient
    assert driver.x_report().amount_cents == 1330


FAMILY_DRIVERS = {"DP25": (DATECS_C, DatecsCDriver), "FP800": (DATECS_P, DatecsPDriver), "eXpert SX": (DAISY, DaisyDriver)}


@pytest.mark.parametrize("model", FAMILY_DRIVERS)
def test_each_family_prints_with_its_factory_operator_and_finds_out_what_a_crash_left(model: str, tmp_path: Path) -> None:
    """No operator configured: each family's factory operator and password (P doc p.31, C doc p.23, Daisy: ErpNet.FP)
    as the emulator read them from the same documents; a receipt cut off mid-way is cancelled and proven unprinted,
    one cut off after its close is found by a restarted driver through the family's own recovery commands."""
    printer = FiscalPrinter(model)
    server = PtyServer(printer).start()
    dialect, kind = FAMILY_DRIVERS[model]

    def fresh() -> IslDriver:
        return kind(IslLink(SerialTransport(server.path, 115200), answer_timeout=0.15, retries=2), open_book(tmp_path), dialect, model, "Front")

    try:
        driver = fresh()
        driver.print_receipt(make_job("job-1"))
        server.faults.drop_after = Command.FISCAL_TEXT
        with pytest.raises(ReceiptInterrupted):
            driver.print_receipt(make_job("job-2"))
        server.faults.silent = False
        assert driver.find_receipt("job-2") is None and printer.journal[-1].kind == "cancelled"

        server.faults.drop_after = Command.CLOSE_FISCAL_RECEIPT
        with pytest.raises(ReceiptInterrupted):
            driver.print_receipt(make_job("job-2"))
        driver.close()
        server.faults.silent = False
        restarted = fresh()
        found = restarted.find_receipt("job-2")
        assert found is not None and found.fiscal_number == f"{printer.fiscal_receipts()[-1].number:07d}"
        restarted.close()
    finally:
        server.stop()
    assert {unp: len(docs) for unp, docs in printer.receipts_by_unp().items()} == {
        f"{printer.serial}-0001-0000001": 1, f"{printer.serial}-0001-0000003": 1,
    }


EMULATED_FAULTS = [
    ("DP25", "paper_out", PaperOut), ("FP800", "paper_out", PaperOut), ("eXpert SX", "paper_out", PaperOut),
    ("FP800", "clock_not_set", ClockNotSet), ("eXpert SX", "clock_not_set", ClockNotSet),  # P doc p.17, Daisy doc p.14
    ("DP25", "fm_full", FiscalMemoryFull), ("FP800", "fm_full", FiscalMemoryFull), ("eXpert SX", "fm_full", FiscalMemoryFull),
    ("DP25", "fm_write_error", FiscalMemoryError), ("eXpert SX", "fm_write_error", FiscalMemoryError),
    ("DP25", "ej_end", JournalFull), ("FP800", "ej_end", JournalFull),
    ("FP800", "printing_unit_fault", PrinterFault), ("eXpert SX", "printing_unit_fault", PrinterFault),
    ("FP800", "cover_open", CoverOpen),
]


@pytest.mark.parametrize(("model", "fault", "error"), EMULATED_FAULTS)
def test_each_emulated_fault_before_a_receipt_is_its_typed_failure_and_prints_nothing(model: str, fault: str, error: type[Exception], tmp_path: Path) -> None:
    printer = FiscalPrinter(model)
    server = PtyServer(printer).start()
    dialect, kind = FAMILY_DRIVERS[model]
    driver = kind(IslLink(SerialTransport(server.path, 115200), answer_timeout=0.15, retries=1), open_book(tmp_path), dialect, model, "Front")
    try:
        setattr(printer.faults, fault, True)
        with pytest.raises(error):
            driver.print_receipt(make_job("job-1"))
        assert printer.fiscal_receipts() == [] and printer.open is None
    finally:
        driver.close()
        server.stop()


def test_a_c_printer_whose_clock_is_not_set_still_prints_and_warns(tmp_path: Path) -> None:
    """C doc p.10 does not list an unset clock among 30h's refusals; C doc p.3 0.2 still reports it."""
    printer = FiscalPrinter("DP25")
    server = PtyServer(printer).start()
    driver = DatecsCDriver(IslLink(SerialTransport(server.path, 115200), answer_timeout=0.15), open_book(tmp_path), DATECS_C, "DP25", "Front")
    try:
        printer.faults.clock_not_set = True
        driver.print_receipt(make_job("job-1"))
        assert len(printer.fiscal_receipts()) == 1 and "W_CLOCK_NOT_SET" in driver.status().warnings
    finally:
        driver.close()
        server.stop()


@pytest.mark.parametrize("model", FAMILY_DRIVERS)
def test_paper_running_out_at_the_close_is_not_a_printed_receipt_until_reconciled(model: str, tmp_path: Path) -> None:
    """Close (38h) carries no data; refused for paper (2.0) it changed nothing (C doc p.3): the job is not reported
    printed, and once paper is back the reconciliation closes the paid receipt, once."""
    printer = FiscalPrinter(model)
    server = PtyServer(printer).start()
    dialect, kind = FAMILY_DRIVERS[model]
    driver = kind(IslLink(SerialTransport(server.path, 115200), answer_timeout=0.15, retries=1), open_book(tmp_path), dialect, model, "Front")
    execute = printer.execute

    def paper_ends_at_the_close(cmd: int, data: bytes) -> tuple[bytes, bytes]:
        if cmd == Command.CLOSE_FISCAL_RECEIPT:
            printer.faults.paper_out = True
        return execute(cmd, data)

    printer.execute = paper_ends_at_the_close  # type: ignore[method-assign]
    try:
        with pytest.raises(ReceiptInterrupted, match="paper"):
            driver.print_receipt(make_job("job-1"))
        assert printer.fiscal_receipts() == [] and printer.open is not None
        printer.execute = execute  # type: ignore[method-assign]
        printer.faults.paper_out = False
        assert driver.find_receipt("job-1") is not None and len(printer.receipts_with_text("job-1")) == 1
    finally:
        driver.close()
        server.stop()


def test_a_long_cyrillic_item_name_fits_the_c_familys_22_bytes(driver: IslDriver, printer: FiscalPrinter) -> None:
    job = make_job("job-long")
    lines = [job.lines[0].model_copy(update={"name": "Кафе с мляко и канела, голямо"}), job.lines[1]]
    driver.print_receipt(job.model_copy(update={"lines": lines}))
    assert printer.fiscal_receipts()[0].lines[0][0] == "Кафе с мляко и канела,"[:22]
