"""The Datecs P family (FP-800, FP-650...) of the ISL emulator: P doc = bg.isl.dt.p.protocol-v1.00BG-en.txt."""

from __future__ import annotations

import pytest
from isl_emulator_wire import Wire

from edge.emulators.isl.device import FiscalPrinter

UNP = "DT000600-OP01-0001000"  # the P document's own example (P doc p.16)
OPEN_P = f"1,0000,1,{UNP}"  # <OpNum>,<Password>,<TillNum>[,<Invoice>][,<UNP>] (P doc p.16)
SYNTAX, NOT_ALLOWED = "0.0", "1.1"


@pytest.fixture
def fp800() -> Wire:
    return Wire(FiscalPrinter("FP-800"))


def paid_receipt(wire: Wire, line: str = "Coffee\tA9.10") -> None:
    wire.send(0x30, OPEN_P)
    wire.send(0x31, line)
    wire.send(0x35, "\t")
    assert wire.send(0x38).bits() & {SYNTAX, NOT_ALLOWED} == set()


def test_open_without_data_answers_the_last_sale_number(fp800: Wire) -> None:
    assert fp800.send(0x30).text == "0000000"  # P doc p.17
    paid_receipt(fp800)
    assert fp800.send(0x30).text == "0001000"
    assert fp800.printer.open is None


def test_the_unp_is_counted_on_when_omitted(fp800: Wire) -> None:
    assert NOT_ALLOWED in fp800.send(0x30, "1,0000,1").bits()  # must be set once first (P doc p.16)
    paid_receipt(fp800)
    assert fp800.send(0x30, "1,0000,1").text == "0002,0002"
    assert fp800.printer.open.unp == "DT000600-OP01-0001001"  # type: ignore[union-attr]


def test_the_unp_carries_the_devices_serial(fp800: Wire) -> None:
    assert NOT_ALLOWED in fp800.send(0x30, "1,0000,1,DT999999-OP01-0001000").bits()
    assert SYNTAX in fp800.send(0x30, "1,0000,1,DT000600-OP1-0001000").bits()


def test_passwords_are_4_to_8_digits_and_three_wrong_lock_the_printer(fp800: Wire) -> None:
    assert SYNTAX in fp800.send(0x30, f"1,000,1,{UNP}").bits()  # P doc p.16: 4-8 digits
    for _ in range(3):
        assert NOT_ALLOWED in fp800.send(0x30, f"1,1111,1,{UNP}").bits()
    assert NOT_ALLOWED in fp800.send(0x30, OPEN_P).bits()  # locked (P doc p.17)
    fp800.printer.power_cycle()
    assert fp800.send(0x30, OPEN_P).text == "0001,0001"


def test_latin_and_cyrillic_groups_are_both_taken(fp800: Wire) -> None:
    fp800.send(0x30, OPEN_P)
    fp800.send(0x31, "Tea\tB1.00")  # Latin B (P doc p.1)
    fp800.send(0x31, b"Cake\t\xc12.00*1.5#kg")  # Cyrillic Б, with a unit (P doc p.17)
    assert fp800.printer.open.lines == [("Tea", "B", 100), ("Cake", "B", 300)]  # type: ignore[union-attr]


def test_amounts_are_decimals(fp800: Wire) -> None:
    fp800.send(0x30, OPEN_P)
    fp800.send(0x31, "Coffee\tB9.10")
    assert fp800.send(0x33, "00").text == "9.10,0.00,9.10,0.00,0.00,0.00,0.00,0.00,0.00"
    assert fp800.send(0x35, "\tD5.00").text == "D+4.10"  # D is the debit card on P (P doc p.19)
    assert fp800.send(0x35, "\tP5.00").text == "R+0.90"
    fp800.send(0x38)
    assert fp800.printer.journal[-1].paid == (("card", 500), ("cash", 500))
    assert fp800.send(0x46).text == "P,4.10,0.00,0.00"  # cash in, change out; the card part stays out


def test_no_subtotal_after_payment(fp800: Wire) -> None:
    fp800.send(0x30, OPEN_P)
    fp800.send(0x31, "Coffee\tB9.10")
    fp800.send(0x35, "\tP1.00")
    assert NOT_ALLOWED in fp800.send(0x33, "00").bits()  # P doc p.20


def test_fiscal_text_takes_a_font_prefix(fp800: Wire) -> None:
    fp800.send(0x30, OPEN_P)
    fp800.send(0x36, "\t1BHjob-7")  # [<Tab><Font>[<Flags>]]<Text> (P doc p.13, p.20)
    assert SYNTAX in fp800.send(0x36, "\t1BBjob").bits()  # a flag may appear once
    assert fp800.printer.open.texts == ["job-7"]  # type: ignore[union-attr]


def test_x_report_answers_decimals_with_a_sign(fp800: Wire) -> None:
    paid_receipt(fp800)
    assert fp800.send(0x45, "2").text == "0001,+9.10,+9.10,+0.00,+0.00,+0.00,+0.00,+0.00,+0.00,+0.00"  # P doc p.23
    assert fp800.send(0x45, "0N").text.startswith("0001,+9.10")


def test_storno_names_number_unp_date_and_fiscal_memory(fp800: Wire) -> None:
    paid_receipt(fp800)
    answer = fp800.send(0x2E, f"1,0000,1,R1,{UNP},300318161300,02000600")  # P doc p.16
    assert answer.bits() & {SYNTAX, NOT_ALLOWED} == set() and answer.bit(1, 4)  # 1.4 storno receipt open (P doc p.4)
    origin = fp800.printer.open.storno  # type: ignore[union-attr]
    assert (origin.reason, origin.number, origin.unp) == ("R", 1, UNP)  # type: ignore[union-attr]
    assert SYNTAX in Wire(FiscalPrinter("FP-800")).send(0x2E, f"1,0000,1,X1,{UNP},300318161300,02000600").bits()


def test_storno_of_a_whole_receipt_from_the_journal(fp800: Wire) -> None:
    paid_receipt(fp800)
    assert NOT_ALLOWED in fp800.send(0x2E, "1,0000,1,E9").bits()  # not in the journal
    assert fp800.send(0x2E, "1,0000,1,E1").text == "0002,0002"
    storno = fp800.printer.journal[-1]
    assert storno.kind == "storno" and storno.lines == (("Coffee", "A", 910),) and fp800.printer.cash == 0


def test_cancel_3ch(fp800: Wire) -> None:
    fp800.send(0x30, OPEN_P)
    fp800.send(0x31, "x\tA1.00")
    assert fp800.send(0x3C).data == b"" and fp800.printer.journal[-1].kind == "cancelled"  # P doc p.22


def test_ej_structured_read_finds_the_unp(fp800: Wire) -> None:
    paid_receipt(fp800)
    assert fp800.send(0x77, "W,1").text == f"U,{UNP},1,1,0,1"  # P doc p.39-40
    assert fp800.send(0x77, "w").text.startswith("R,1,0.00,9.10,")
    rest = []
    while (line := fp800.send(0x77, "w").text) != "F":
        rest.append(line)
    assert rest[-1] == "*,"


def test_ej_text_read_and_information(fp800: Wire) -> None:
    paid_receipt(fp800)
    assert fp800.send(0x77, "R,1").text == "P,FISCAL 0000001"  # P doc p.38
    lines = []
    while (line := fp800.send(0x77, "N").text) != "F":
        lines.append(line)
    assert f"P,УНП: {UNP}" in lines and lines[-1] == "*,"
    assert fp800.send(0x77, "I").text.endswith(",1,0,1,1")  # C1,C2,D1,D2


def test_status_4ah_l_and_diagnostic(fp800: Wire) -> None:
    assert fp800.send(0x4A, "L").text == "0"  # P doc p.25
    fields = fp800.send(0x5A, "*1").text.split(",")  # P doc p.29
    assert fields[0] == "FP-800" and fields[1].startswith("1.00BG ") and len(fields[3]) == 16
    assert fields[4:] == ["DT000600", "02000600"]


def test_payment_letters_of_p(fp800: Wire) -> None:
    fp800.send(0x30, OPEN_P)
    fp800.send(0x31, "x\tA1.00")
    assert fp800.send(0x35, "\tr1.00").text == "R+0.00"  # bank transfer (P doc p.20)
    fp800.send(0x38)
    assert fp800.printer.journal[-1].paid == (("bank_transfer", 100),)


def test_a_refused_opening_leaves_the_sale_number_alone(fp800: Wire) -> None:
    paid_receipt(fp800)
    fp800.printer.faults.paper_out = True
    assert "2.0" in fp800.send(0x30, "1,0000,1,DT000600-OP01-0001005").bits()
    fp800.printer.faults.paper_out = False
    assert fp800.send(0x30).text == "0001000"  # still the last issued one (P doc p.17)


def test_invoices_are_refused_for_want_of_a_number_range(fp800: Wire) -> None:
    assert NOT_ALLOWED in fp800.send(0x30, f"1,0000,1,I,{UNP}").bits()  # P doc p.16, 42h p.23
    assert NOT_ALLOWED in fp800.send(0x2E, "1,0000,1,I12,E1").bits()
    assert SYNTAX in fp800.send(0x2E, "1,0000,1,I12,X1").bits()
