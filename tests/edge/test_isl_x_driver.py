"""The Datecs X driver on the X emulator (both written from the X doc, bg.isl.dt.x.protocol-v2.02-en, neither
importing the other) through a pseudo-terminal: a sale with split tender, change and a line discount, a refund as
the 2Bh storno naming the original, X and Z reports, cash in and out, a non-fiscal receipt, status warnings from
the eight status bytes, and the refusals a negative error code carries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_isl_every_sale import COFFEE, TEA, card, cash, refund, sale

from edge.config import FiscalDeviceConfig
from edge.drivers import create_driver
from edge.drivers.base import InvalidJob, OperationRefused, PaperOut
from edge.drivers.isl.datecs_x import DATECS_X, DatecsXDriver
from edge.drivers.isl.driver import DeviceRefused
from edge.drivers.isl.frame_x import X_FRAMING
from edge.drivers.isl.link import IslLink, SerialTransport
from edge.drivers.isl.sales import open_book
from edge.emulators.isl.device import FiscalPrinter
from edge.emulators.isl.server import PtyServer, TcpServer

LINES = [COFFEE, TEA]  # 20 %: the emulator's group 2 (Б), X doc p.9 TaxCd '2'


class Emulated:
    def __init__(self, state: Path, model: str = "FP-700X") -> None:
        self.state = state
        self.printer = FiscalPrinter(model)
        self.server = PtyServer(self.printer).start()
        self.driver = self.fresh()

    def fresh(self) -> DatecsXDriver:
        link = IslLink(SerialTransport(self.server.path, 115200), answer_timeout=0.15, retries=1, framing=X_FRAMING)
        return DatecsXDriver(link, open_book(self.state), DATECS_X, "FP700X", "Front")

    def close(self) -> None:
        self.driver.close()
        self.server.stop()


@pytest.fixture
def emulated(tmp_path: Path) -> Iterator[Emulated]:
    device = Emulated(tmp_path)
    yield device
    device.close()


def test_a_sale_with_split_tender_change_and_a_line_discount_is_one_receipt(emulated: Emulated) -> None:
    printer = emulated.printer
    line = COFFEE.model_copy(update={"discount": 50, "amount": 650})
    record = emulated.driver.print_receipt(sale("job-1", [line, TEA], [cash(500, tendered=1000), card(430)], buyer_tax_id="BG123456789"))

    [receipt] = printer.fiscal_receipts()
    assert receipt.lines == (("Coffee", "B", 650), ("Tea", "B", 280)) and receipt.total == 930
    assert receipt.paid == (("cash", 1000), ("credit_card", 430))  # X doc p.11: PaidMode 0 cash, 1 credit card
    assert printer.cash == 500  # 10.00 handed over, 5.00 change
    assert any("SALE ID job-1" in text for text in receipt.texts) and "BUYER TAX ID BG123456789" in receipt.texts
    assert record.unique_sale_number == receipt.unp == "DT000600-0001-0000001"
    assert record.fiscal_number == f"{receipt.number:07d}" and record.fiscal_memory_number == printer.fiscal_memory
    assert emulated.driver.find_receipt("job-1") == record


def test_a_refund_is_the_2Bh_storno_naming_the_originals_number_time_memory_and_unp(emulated: Emulated) -> None:
    printer, driver = emulated.printer, emulated.driver
    original = driver.print_receipt(sale("job-1", LINES, [cash(980)]))
    record = driver.print_receipt(refund("job-2", original, [COFFEE]))

    first, storno = printer.journal
    assert (storno.kind, storno.total, storno.lines) == ("storno", 700, (("Coffee", "B", 700),))
    assert storno.storno is not None
    at = datetime.fromtimestamp(original.printed_at, UTC)
    assert at == first.at  # the original's date-time is the printer's own
    # X doc p.7: Storno 1 is a refund; DateTime "DD-MM-YY hh:mm:ss"; NSale the original's UNP (p.8).
    assert (storno.storno.reason, storno.storno.number, storno.storno.at) == ("1", first.number, at.strftime("%d-%m-%y %H:%M:%S"))
    assert storno.storno.fiscal_memory == printer.fiscal_memory and storno.storno.unp == first.unp
    assert printer.day_storno["B"] == 700 and record.fiscal_number == f"{storno.number:07d}"
    assert driver.find_receipt("job-2") == record


def test_a_refund_above_the_original_is_refused_before_anything_is_sent(emulated: Emulated) -> None:
    original = emulated.driver.print_receipt(sale("job-1", [TEA], [cash(280)]))
    sent = len(emulated.printer.commands)
    with pytest.raises(InvalidJob):
        emulated.driver.print_receipt(refund("job-2", original, [COFFEE], original_total=280))
    assert emulated.printer.commands[sent:] == []


def test_x_and_z_reports_carry_the_days_sales_and_the_z_clears_them(emulated: Emulated) -> None:
    emulated.driver.print_receipt(sale("job-1", LINES, [cash(980)]))
    x = emulated.driver.x_report()
    z = emulated.driver.z_report()
    assert (x.kind, x.amount_cents, z.kind, z.number, z.amount_cents) == ("X", 980, "Z", 1, 980)
    assert [d.kind for d in emulated.printer.journal][-2:] == ["x_report", "z_report"]
    assert emulated.printer.day_sales["B"] == 0 and emulated.driver.x_report().amount_cents == 0


def test_cash_in_and_out_move_the_drawer_and_an_overdraw_is_refused(emulated: Emulated) -> None:
    driver = emulated.driver
    deposit = driver.cash_in(2000)
    withdrawal = driver.cash_out(500)
    assert (deposit.amount_cents, withdrawal.amount_cents) == (2000, 500)
    assert emulated.printer.cash == 1500 and "CASH IN DRAWER 15.00" in withdrawal.full_text
    with pytest.raises(OperationRefused):  # the device answers a negative error code (X doc p.5)
        driver.cash_out(9999)
    assert emulated.printer.cash == 1500


def test_a_non_fiscal_receipt_prints_each_line(emulated: Emulated) -> None:
    document = emulated.driver.non_fiscal_receipt(["Table 4", "Thank you"])
    service = emulated.printer.journal[-1]
    assert service.kind == "service" and service.texts == ("Table 4", "Thank you")
    assert document.number == f"{service.number:07d}"


def test_status_reads_warnings_from_the_eight_status_bytes(emulated: Emulated) -> None:
    faults = emulated.printer.faults
    faults.paper_near_end = True  # X doc p.46: 2.1
    faults.ej_near_end = True  # 2.4
    faults.fm_near_full = True  # 4.3
    faults.cover_open = True  # 0.6
    status = emulated.driver.status()
    assert status.online and not status.paper_out
    assert set(status.warnings) == {"W_PAPER_NEAR_END", "W_JOURNAL_NEAR_FULL", "W_FISCAL_MEMORY_NEAR_FULL", "W_COVER_OPEN"}
    assert status.device == "DATECS:DT000600"


def test_paper_out_refuses_the_sale_and_nothing_is_printed(emulated: Emulated) -> None:
    emulated.printer.faults.paper_out = True  # X doc p.46: 2.0, a '#' error
    with pytest.raises(PaperOut):
        emulated.driver.print_receipt(sale("job-1", LINES, [cash(980)]))
    assert emulated.printer.journal == [] and emulated.printer.open is None
    assert emulated.driver.find_receipt("job-1") is None


def test_a_refusal_names_the_devices_error_code(emulated: Emulated) -> None:
    """X doc p.5: a failed command answers {ErrorCode}<SEP>, beside the 1.1 bit; a 38h before payment is refused so."""
    driver = emulated.driver
    driver._ask(0x30, "1\t0000\tDT000600-0001-0000009\t1\t\t")
    with pytest.raises(DeviceRefused, match="error code -111001"):
        driver._ask(0x38)
    driver._ask(0x3C)
    assert [d.kind for d in emulated.printer.journal] == ["cancelled"]


@pytest.mark.parametrize("connection", ["serial", "tcp"])
def test_an_x_model_from_the_config_gets_the_x_driver_over_serial_or_tcp(tmp_path: Path, connection: str) -> None:
    """``create_driver`` picks the X dialect by model (edge/drivers/__init__.py DRIVEN); X doc p.3: RS232 or LAN."""
    printer = FiscalPrinter("DP-25X")
    server = PtyServer(printer).start() if connection == "serial" else TcpServer(printer).start()
    details = {"type": "serial", "port": server.path, "baud_rate": 115200} if isinstance(server, PtyServer) else \
        {"type": "tcp", "host": "127.0.0.1", "port": server.port}
    config = FiscalDeviceConfig(manufacturer="DATECS", model="DP25X", connection=details,
                                timeouts={"answer_seconds": 0.15, "busy_seconds": 0.6, "retries": 2})
    driver = create_driver(config, tmp_path)
    try:
        assert isinstance(driver, DatecsXDriver)
        record = driver.print_receipt(sale("job-1", LINES, [cash(980)]))
        assert record.unique_sale_number == printer.fiscal_receipts()[0].unp
    finally:
        driver.close()
        server.stop()
