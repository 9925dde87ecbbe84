"""The Daisy family (eXpert, Perfect, Compact) of the ISL emulator: Daisy doc = bg.isl.dy.protocol-v1.0-bg.txt."""

from __future__ import annotations

import pytest
from isl_emulator_wire import Wire

from edge.emulators.isl.device import FiscalPrinter

UNP = "DY000600-OP01-0000001"  # the Daisy document's own example (Daisy doc p.13)
OPEN_D = f"1,1,{UNP}"  # {ClerkNum},{Password},{UnicSaleNum} (Daisy doc p.13)
SYNTAX, NOT_ALLOWED, WRONG_PASSWORD = "0.0", "1.1", "1.6"


@pytest.fixture
def daisy() -> Wire:
    return Wire(FiscalPrinter("eXpert SX"))


def test_open_and_the_wrong_password_bit(daisy: Wire) -> None:
    assert SYNTAX in daisy.send(0x30, f"1,1234567,{UNP}").bits()  # at most 6 digits (Daisy doc p.13)
    assert daisy.send(0x30, f"1,2,{UNP}").bits() >= {WRONG_PASSWORD, NOT_ALLOWED}  # 1.6 (Daisy doc p.5)
    answer = daisy.send(0x30, OPEN_D)
    assert answer.text == "0001,0001" and answer.bit(2, 3) and not answer.bit(1, 6)


def test_open_without_data_or_with_the_till_is_a_syntax_error(daisy: Wire) -> None:
    assert SYNTAX in daisy.send(0x30).bits()
    assert SYNTAX in daisy.send(0x30, f"1,1,1,{UNP}").bits()
    assert SYNTAX in daisy.send(0x30, "1,1,DY000600-op01-0000001").bits()  # capital letters or digits


def test_sales_take_cyrillic_groups_and_dollar_discounts(daisy: Wire) -> None:
    daisy.send(0x30, OPEN_D)
    assert SYNTAX in daisy.send(0x31, "Tea\tB1.00").bits()  # Latin
    assert SYNTAX in daisy.send(0x31, b"Tea\t\xc11.00;-0.10").bits()  # ";" is Datecs'
    assert daisy.send(0x31, b"Tea\t\xc11.00$-0.10").data == b""  # $Netto (Daisy doc p.15)
    assert daisy.send(0x31, b"Cake\t\xc12.00,-50.00").data == b""  # ,Percent
    assert NOT_ALLOWED in daisy.send(0x31, b"Gum\t\xc12.00,-5$-0.10").bits()  # both at once
    assert [a for _, _, a in daisy.printer.open.lines] == [90, 100]  # type: ignore[union-attr]


def test_long_texts_are_cut_not_refused(daisy: Wire) -> None:
    daisy.send(0x30, OPEN_D)
    daisy.send(0x31, "x" * 50 + "\tБ1.00")
    daisy.send(0x36, "y" * 50)
    receipt = daisy.printer.open
    assert receipt is not None and receipt.lines[0][0] == "x" * 30 and receipt.texts == ["y" * 30]  # #COMMENT_LEN#


def test_a_minus_sale_corrects_an_earlier_one(daisy: Wire) -> None:
    daisy.send(0x30, OPEN_D)
    daisy.send(0x31, b"Tea\t\xc11.00")
    assert NOT_ALLOWED in daisy.send(0x31, b"Tea\t\xc1-2.00").bits()  # no such sale (Daisy doc p.15)
    assert daisy.send(0x31, b"Tea\t\xc1-1.00").data == b""
    assert daisy.printer.open.total == 0  # type: ignore[union-attr]


def test_exact_payment_answers_d_and_overpayment_r(daisy: Wire) -> None:
    daisy.send(0x30, OPEN_D)
    daisy.send(0x31, b"Tea\t\xc19.10")
    assert daisy.send(0x35, "\tC5.00").text == "D4.10"
    assert daisy.send(0x35, "\tP4.10").text == "D0.00"  # "paid <= total" is D (Daisy doc p.18)
    assert daisy.send(0x38).text == "0001,0001"
    assert daisy.printer.journal[-1].paid == (("card", 500), ("cash", 410))
    daisy.send(0x30, "1,1,DY000600-OP01-0000002")
    daisy.send(0x31, b"Tea\t\xc11.00")
    assert daisy.send(0x35, "\tP2.00").text == "R1.00"


@pytest.mark.parametrize(("code", "name"), [("N", "check"), ("C", "card"), ("D", "payment3"), ("U", "payment3"), ("B", "payment4"), ("E", "payment4")])
def test_payment_codes(daisy: Wire, code: str, name: str) -> None:
    daisy.send(0x30, OPEN_D)
    daisy.send(0x31, b"Tea\t\xc11.00")
    daisy.send(0x35, f"\t{code}1.00")
    daisy.send(0x38)
    assert daisy.printer.journal[-1].paid == ((name, 100),)


def test_subtotal_absolute_change_with_dollar(daisy: Wire) -> None:
    daisy.send(0x30, OPEN_D)
    daisy.send(0x31, b"Tea\t\xc110.00")
    assert daisy.send(0x33, "10$-1.00").text.startswith("9.00,0.00,9.00,")  # as ErpNet.FP sends it


def test_cancel_is_82h_at_any_point(daisy: Wire) -> None:
    daisy.send(0x30, OPEN_D)
    daisy.send(0x31, b"Tea\t\xc11.00")
    daisy.send(0x35, "\tP0.50")
    assert "0.1" in daisy.send(0x3C).bits()  # 3Ch is Datecs'
    assert daisy.send(0x82).text == "0001,0001"  # Daisy doc p.41
    assert daisy.printer.open is None and daisy.printer.journal[-1].kind == "cancelled"


def test_daily_report_answers_17_fields(daisy: Wire) -> None:
    daisy.send(0x30, OPEN_D)
    daisy.send(0x31, b"Tea\t\xc19.10")
    daisy.send(0x35, "\t")
    daisy.send(0x38)
    fields = daisy.send(0x45, "2").text.split(",")  # X (Daisy doc p.23-24)
    assert len(fields) == 17 and fields[0] == "0001" and fields[2] == "9.10"
    assert len(daisy.send(0x45).text.split(",")) == 17  # Z, no data
    assert daisy.printer.z_number == 1
    assert daisy.send(0x45, "9").data == b""


def test_storno_is_opened_by_30h(daisy: Wire) -> None:
    answer = daisy.send(0x30, f"1,1,{UNP}\tR1,15,30-03-18 16:13\t02000600")  # Daisy doc p.13
    assert answer.text == "0001,0001"
    origin = daisy.printer.open.storno  # type: ignore[union-attr]
    assert (origin.reason, origin.number, origin.at, origin.fiscal_memory) == ("1", 15, "30-03-18 16:13", "02000600")  # type: ignore[union-attr]
    daisy.send(0x31, b"Tea\t\xc11.00")
    assert NOT_ALLOWED in daisy.send(0x35, "\tC1.00").bits()  # storno: cash only (Daisy doc p.18)
    daisy.send(0x35, "\tP1.00")
    daisy.send(0x38)
    assert daisy.printer.journal[-1].kind == "storno"
    assert daisy.send(0x45, "2").text.split(",")[10] == "1.00"  # StTax2


def test_transaction_status_with_ten_digit_amounts(daisy: Wire) -> None:
    daisy.send(0x30, OPEN_D)
    daisy.send(0x31, b"Tea\t\xc19.10")
    daisy.send(0x35, "\tP5.00")
    assert daisy.send(0x4C, "T").text == "1,0001,0000000910,0000000500,0000000410"  # Daisy doc p.26


def test_status_4ah_takes_no_option(daisy: Wire) -> None:
    assert SYNTAX in daisy.send(0x4A, "W").bits()
    assert daisy.send(0x4A).data[2] & 0x40  # 2.6 printing allowed


def test_error_code_in_status_byte_3(daisy: Wire) -> None:
    daisy.printer.faults.error_code = 0x2A
    assert daisy.send(0x4A).status[3] == 0x80 | 0x2A  # Daisy doc p.5-6


def test_device_info_and_constants(daisy: Wire) -> None:
    fields = daisy.send(0x5A, "1").text.split(",")
    assert fields[0].split(" ")[0] == "eXpertSX" and len(fields[0].split(" ")) == 4
    assert fields[3:] == ["6", "DY000600", "02000600"]
    constants = daisy.send(0x80).text.split(",")
    assert len(constants) == 26 and constants[9] == "30"  # P10 comment length (Daisy doc p.40)


def test_tax_rates_mark_disabled_groups_minus_one(daisy: Wire) -> None:
    assert daisy.send(0x61).text == "0.00,20.00,20.00,9.00,-1.00,-1.00,-1.00,-1.00"


def test_cash_in_out_with_text(daisy: Wire) -> None:
    assert daisy.send(0x46, "5.00,Float").text == "P,5.00,5.00,0.00"  # Daisy doc p.25
    assert daisy.send(0x46).text == "P,5.00,5.00,0.00"


def test_passwords_may_not_repeat(daisy: Wire) -> None:
    assert NOT_ALLOWED in daisy.send(0x65, "1,1,2").bits()  # operator 2 has "2" (Daisy doc p.31)
    assert daisy.send(0x65, "1,1,77").data == b""
    assert daisy.send(0x30, f"1,77,{UNP}").text == "0001,0001"


def test_invoices_and_unknown_receipt_types(daisy: Wire) -> None:
    assert NOT_ALLOWED in daisy.send(0x30, f"{OPEN_D}\tI").bits()  # no invoice number range (Daisy doc p.14)
    assert SYNTAX in daisy.send(0x30, f"{OPEN_D}\tX").bits()
    assert SYNTAX in daisy.send(0x30, f"{OPEN_D}\tR1,15,2018-03-30\t02000600").bits()
