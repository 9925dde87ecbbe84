"""Every kind of sale from the ISL driver on the emulator written independently from the same documents, per family,
through a pseudo-terminal: a refund's storno naming the original, split tender with change, a discounted line, the
buyer's tax id; and a crash between two payments finished once by a restarted driver."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_isl_every_sale import COFFEE, TEA, card, cash, refund, sale

from edge.drivers.isl.commands import Command
from edge.drivers.isl.daisy import DAISY, DaisyDriver
from edge.drivers.isl.datecs import DATECS_C, DATECS_P, DatecsCDriver, DatecsPDriver
from edge.drivers.isl.driver import IslDriver, ReceiptInterrupted
from edge.drivers.isl.link import IslLink, SerialTransport
from edge.drivers.isl.sales import open_book
from edge.emulators.isl.device import FiscalPrinter
from edge.emulators.isl.server import PtyServer

FAMILY_DRIVERS = {"DP25": (DATECS_C, DatecsCDriver), "FP800": (DATECS_P, DatecsPDriver), "eXpert SX": (DAISY, DaisyDriver)}
# The emulator's 20 % group is Б (А 0 %): the emulator's README.
LINES = [COFFEE, TEA]
# The storno reason each family's document calls a return: C doc p.10 DocType 1, P doc p.16 StType R, Daisy doc p.13 Reason 0.
RETURN = {"DP25": "1", "FP800": "R", "eXpert SX": "0"}


class Emulated:
    def __init__(self, model: str, state: Path) -> None:
        self.model, self.state = model, state
        self.printer = FiscalPrinter(model)
        self.server = PtyServer(self.printer).start()
        self.driver = self.fresh()

    def fresh(self) -> IslDriver:
        dialect, kind = FAMILY_DRIVERS[self.model]
        link = IslLink(SerialTransport(self.server.path, 115200), answer_timeout=0.15, retries=1)
        return kind(link, open_book(self.state), dialect, self.model, "Front")


@pytest.fixture(params=list(FAMILY_DRIVERS))
def emulated(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Emulated]:
    device = Emulated(request.param, tmp_path)
    yield device
    device.driver.close()
    device.server.stop()


def test_a_refund_is_a_storno_the_emulator_files_with_the_originals_references(emulated: Emulated) -> None:
    printer, driver = emulated.printer, emulated.driver
    original = driver.print_receipt(sale("job-1", LINES, [cash(980)]))
    record = driver.print_receipt(refund("job-2", original, [COFFEE]))

    first, storno = printer.journal
    assert (storno.kind, storno.total, storno.lines) == ("storno", 700, (("Coffee", "B", 700),))
    assert storno.storno is not None
    at = datetime.fromtimestamp(original.printed_at, UTC)
    assert (storno.storno.reason, storno.storno.number, storno.storno.fiscal_memory) == (RETURN[emulated.model], first.number, printer.fiscal_memory)
    assert storno.storno.at == at.strftime("%d-%m-%y %H:%M:%S" if emulated.model == "eXpert SX" else "%d%m%y%H%M%S")
    assert at == first.at  # the original's date-time is the printer's own
    # The original's UNP: P's StUNP beside the storno's own next one (P doc p.16), C's NSale (C doc p.10), Daisy's
    # UnicSaleNum (Daisy doc p.13; ErpNet.FP: "the same number, which was on the original receipt").
    named = storno.unp if emulated.model == "eXpert SX" else storno.storno.unp
    assert named == first.unp and (storno.unp == record.unique_sale_number != first.unp) == (emulated.model == "FP800")
    assert record.fiscal_number == f"{storno.number:07d}" and printer.day_storno["B"] == 700
    assert driver.find_receipt("job-2") == record


def test_split_tender_with_change_is_paid_as_the_job_says(emulated: Emulated) -> None:
    printer = emulated.printer
    emulated.driver.print_receipt(sale("job-1", LINES, [cash(500, tendered=1000), card(480)]))
    [receipt] = printer.fiscal_receipts()
    assert receipt.total == 980 and receipt.paid == (("card", 480), ("cash", 1000))
    assert printer.cash == 500  # 10.00 handed over, 5.00 change


def test_a_discounted_line_and_the_buyers_tax_id_reach_the_receipt(emulated: Emulated) -> None:
    line = COFFEE.model_copy(update={"discount": 50, "amount": 650})
    emulated.driver.print_receipt(sale("job-1", [line], [card(650)], buyer_tax_id="BG123456789"))
    [receipt] = emulated.printer.fiscal_receipts()
    assert receipt.lines == (("Coffee", "B", 650),) and receipt.total == 650
    assert "BUYER TAX ID BG123456789" in receipt.texts


def test_a_crash_between_two_payments_is_finished_once_by_the_restarted_driver(emulated: Emulated) -> None:
    """The link dies right after the first 35h: the receipt is open and part paid. A Datecs printer cannot cancel it
    (C doc p.16, P doc p.22); the restarted driver pays what the plan still owes and closes it, once."""
    printer, server = emulated.printer, emulated.server
    server.faults.drop_after = Command.TOTAL
    with pytest.raises(ReceiptInterrupted):
        emulated.driver.print_receipt(sale("job-1", LINES, [cash(500), card(480)]))
    emulated.driver.close()
    assert printer.open is not None and printer.open.paid == {"cash": 500}

    server.faults.silent = False
    emulated.driver = emulated.fresh()
    found = emulated.driver.find_receipt("job-1")
    [receipt] = printer.fiscal_receipts()
    assert found is not None and found.fiscal_number == f"{receipt.number:07d}"
    assert receipt.paid == (("card", 480), ("cash", 500)) and printer.open is None
    assert [d.kind for d in printer.journal] == ["fiscal"]
