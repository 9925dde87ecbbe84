"""The emulator's receipts paid in parts, per family, through the documented bytes: one 35h per payment, what each
family answers while something is due and for the change (C doc p.13, P doc pp.19-20, Daisy doc pp.17-18), no close
before the whole sum is paid (C doc p.15, P doc p.20, Daisy doc p.19); and the storno's references."""

from __future__ import annotations

import pytest
from isl_emulator_wire import Wire

from edge.emulators.isl.device import FiscalPrinter

SYNTAX, NOT_ALLOWED = "0.0", "1.1"
# Per model: the open (C doc p.10, P doc p.16, Daisy doc p.13), a 9.80 sale in the 20 % group Б, and the card code.
FAMILIES = {
    "DP-25": ("1,1,DT000600-0001-0000001,1", "Tea\tБ9.80", "C"),
    "FP-800": ("1,0000,1,DT000600-0001-0000001", "Tea\tB9.80", "D"),
    "eXpert SX": ("1,1,DY000600-0001-0000001", "Tea\tБ9.80", "C"),
}
# What 35h answers: cash 5.00 leaves 4.80 due, then 10.00 more gives 5.20 change. C answers signed stotinki,
# P signed decimals ("up to 9 digits with a sign", C doc p.13, P doc p.20), Daisy decimals (Daisy doc p.18).
ANSWERS = {"DP-25": ("D+480", "R+520"), "FP-800": ("D+4.80", "R+5.20"), "eXpert SX": ("D4.80", "R5.20")}


@pytest.mark.parametrize("model", FAMILIES)
def test_payments_add_up_and_the_last_one_gives_the_change(model: str) -> None:
    wire = Wire(FiscalPrinter(model))
    opening, sale, card = FAMILIES[model]
    wire.send(0x30, opening)
    wire.send(0x31, sale)
    due = wire.send(0x35, "\tP5.00")
    assert NOT_ALLOWED in wire.send(0x38).bits()  # 4.80 still due: no close
    change = wire.send(0x35, "\tP10.00")
    assert (due.text, change.text) == ANSWERS[model]
    assert NOT_ALLOWED in wire.send(0x35, f"\t{card}1.00").bits()  # paid in full: no more payments
    wire.send(0x38)
    receipt = wire.printer.journal[-1]
    assert receipt.kind == "fiscal" and receipt.paid == (("cash", 1500),) and wire.printer.cash == 980


@pytest.mark.parametrize("model", FAMILIES)
def test_a_card_and_a_cash_payment_close_the_receipt_only_together(model: str) -> None:
    wire = Wire(FiscalPrinter(model))
    opening, sale, card = FAMILIES[model]
    wire.send(0x30, opening)
    wire.send(0x31, sale)
    wire.send(0x35, f"\t{card}4.80")
    assert NOT_ALLOWED in wire.send(0x38).bits()
    wire.send(0x35, "\tP5.00")
    assert wire.send(0x38).bits() & {SYNTAX, NOT_ALLOWED} == set()
    assert wire.printer.journal[-1].paid == (("card", 480), ("cash", 500)) and wire.printer.cash == 500


def test_a_daisy_storno_names_its_fiscal_memory() -> None:
    """Daisy doc p.13: ...{Tab}{FiskMem}, the fiscal memory that holds the original."""
    wire = Wire(FiscalPrinter("eXpert SX"))
    assert SYNTAX in wire.send(0x30, "1,1,DY000600-0001-0000001\tR0,1,07-12-26 17:45:00\t").bits()
    assert wire.printer.open is None


def test_a_p_storno_without_its_own_unp_takes_the_next_sale_number() -> None:
    """P doc p.16: once set, an omitted UNP is the last one's sequence plus one, for a storno as for a sale (30h
    without data then reads it back, P doc p.17)."""
    wire = Wire(FiscalPrinter("FP-800"))
    wire.send(0x30, "1,0000,1,DT000600-0001-0000007")
    wire.send(0x31, "Tea\tB9.80")
    wire.send(0x35, "\t")
    wire.send(0x38)
    wire.send(0x2E, "1,0000,1,R1,DT000600-0001-0000007,071226174500,02000600")
    assert wire.printer.open is not None and wire.printer.open.unp == "DT000600-0001-0000008"
    assert wire.send(0x30).text == "0000008"
