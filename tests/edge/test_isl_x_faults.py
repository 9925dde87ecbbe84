"""Link faults on Datecs X, the driver against the emulator through a pseudo-terminal: NAK, a bad checksum, half a
frame, garbage and SYN are survived by sending the same frame again under the same SEQ, which the printer answers
without running the command twice (X doc pp.3-4); silence is a typed failure and never a second receipt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from isl_x_fake import answer_frame
from test_isl_every_sale import COFFEE, TEA, cash, sale

from edge.drivers.isl.commands import Command
from edge.drivers.isl.datecs_x import DATECS_X, DatecsXDriver
from edge.drivers.isl.driver import DeviceSilent, ReceiptInterrupted
from edge.drivers.isl.frame import Signal
from edge.drivers.isl.frame_x import X_FRAMING, XFrameReader
from edge.drivers.isl.link import IslLink, SerialTransport
from edge.drivers.isl.sales import open_book
from edge.emulators.isl.device import FiscalPrinter
from edge.emulators.isl.server import PtyServer


class Emulated:
    def __init__(self, state: Path) -> None:
        self.state = state
        self.printer = FiscalPrinter("DP-25X")
        self.server = PtyServer(self.printer).start()
        self.driver = self.fresh()

    def fresh(self) -> DatecsXDriver:
        link = IslLink(SerialTransport(self.server.path, 115200), answer_timeout=0.15, busy_timeout=2.0, retries=2, framing=X_FRAMING)
        return DatecsXDriver(link, open_book(self.state), DATECS_X, "DP25X", "Front")


@pytest.fixture
def emulated(tmp_path: Path) -> Iterator[Emulated]:
    device = Emulated(tmp_path)
    yield device
    device.driver.close()
    device.server.stop()


@pytest.mark.parametrize("fault", ["nak", "corrupt_checksum", "truncate", "garbage"])
def test_a_spoilt_answer_is_asked_again_and_the_command_runs_once(emulated: Emulated, fault: str) -> None:
    emulated.driver.status()  # the link is primed; the next answer is the one spoilt
    setattr(emulated.server.faults, fault, 1)
    emulated.driver.cash_in(2000)
    assert emulated.printer.cash == 2000 and [d.kind for d in emulated.printer.journal] == ["cash"]
    assert getattr(emulated.server.faults, fault) == 0


def test_syn_bytes_while_busy_extend_the_wait(emulated: Emulated) -> None:
    emulated.server.faults.syn = 4  # X doc p.3: SYN every 60 ms until the answer is ready
    emulated.driver.print_receipt(sale("job-1", [COFFEE, TEA], [cash(980)]))
    assert len(emulated.printer.fiscal_receipts()) == 1


def test_a_silent_printer_is_offline_and_prints_nothing(emulated: Emulated) -> None:
    emulated.server.faults.silent = True
    assert emulated.driver.status().online is False
    with pytest.raises(DeviceSilent):
        emulated.driver.print_receipt(sale("job-1", [COFFEE, TEA], [cash(980)]))
    assert emulated.printer.journal == []


def test_silence_in_the_middle_of_a_receipt_is_reconciled_and_printed_once(emulated: Emulated) -> None:
    emulated.server.faults.drop_after = Command.SALE  # the first 31h runs, then the line is dead
    with pytest.raises(ReceiptInterrupted):
        emulated.driver.print_receipt(sale("job-1", [COFFEE, TEA], [cash(980)]))
    emulated.driver.close()
    assert emulated.printer.open is not None

    emulated.server.faults.silent = False
    emulated.driver = emulated.fresh()
    assert emulated.driver.find_receipt("job-1") is None  # the unpaid receipt was cancelled (3Ch, X doc p.15)
    emulated.driver.print_receipt(sale("job-1", [COFFEE, TEA], [cash(980)]))
    assert [d.kind for d in emulated.printer.journal] == ["cancelled", "fiscal"]


def test_the_reader_takes_frames_a_byte_at_a_time_between_signals_and_noise() -> None:
    frame = answer_frame(0x21, 0x4A, b"0\t", bytes([0x80] * 8))
    reader = XFrameReader()
    events = [event for byte in b"\x16\x99" + frame[:7] + frame[7:] + b"\x15" for event in reader.feed(bytes([byte]))]
    assert events == [Signal.SYN, frame, Signal.NAK] and reader.garbage == 1 and not reader.in_frame


def test_a_preamble_followed_by_no_length_is_dropped_as_garbage() -> None:
    reader = XFrameReader()
    assert reader.feed(b"\x01\x20\x30") == [] and reader.garbage == 3 and not reader.in_frame  # 01 20, then 30 alone


def test_a_receipt_the_cashier_cancelled_after_the_link_died_is_printed_again_once(emulated: Emulated) -> None:
    """The variable UNP names the job's sale (it was opened), but the EJ has a cancelled receipt (type 8), not a fiscal
    one (type 1), where the job's receipt would be: not printed (X doc p.44, pp.35-36)."""
    emulated.server.faults.drop_after = Command.SALE
    with pytest.raises(ReceiptInterrupted):
        emulated.driver.print_receipt(sale("job-1", [COFFEE, TEA], [cash(980)]))
    emulated.driver.close()
    emulated.printer.execute(0x3C, b"")  # cancelled at the keyboard, not by the driver
    assert emulated.printer.execute(0xFF, b"UNP\t\t\t")[0] == b"0\tDT000600-0001-0000001\t"

    emulated.server.faults.silent = False
    emulated.driver = emulated.fresh()
    assert emulated.driver.find_receipt("job-1") is None
    record = emulated.driver.print_receipt(sale("job-1", [COFFEE, TEA], [cash(980)]))
    assert [d.kind for d in emulated.printer.journal] == ["cancelled", "fiscal"]
    assert record.unique_sale_number == "DT000600-0001-0000002"
