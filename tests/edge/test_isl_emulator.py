"""The ISL emulator's framing (all families) and the Datecs C family (DP-25), bytes in and bytes out.

C doc = bg.isl.dt.c.protocol-v2.04BG-bg.txt, P doc = bg.isl.dt.p.protocol-v1.00BG-en.txt,
Daisy doc = bg.isl.dy.protocol-v1.0-bg.txt (../shared/references/devices/).
"""

from __future__ import annotations

import time

import pytest
from isl_emulator_wire import Wire, parse, request

from edge.emulators.isl.device import FiscalPrinter
from edge.emulators.isl.families import UnknownModel

OPEN_C = "1,1,DT000600-0001-0000001,1"  # C doc p.10: <OpCode>,<OpPwd>,<NSale>,<TillNmb>
SYNTAX, INVALID, GENERAL, NOT_ALLOWED = "0.0", "0.1", "0.5", "1.1"


@pytest.fixture
def dp25() -> Wire:
    return Wire(FiscalPrinter("DP25"))


def sell(wire: Wire, line: bytes = b"Coffee\t\xc19.10") -> None:
    assert wire.send(0x31, line).bits() & {SYNTAX, NOT_ALLOWED} == set()


# -- framing (C doc p.4-5, P doc p.7-8, Daisy doc p.3-4) --------------------------------------------


def test_status_request_as_raw_bytes_gets_a_well_formed_answer(dp25: Wire) -> None:
    # 4Ah with no data, SEQ 20h: LEN = 4 + 20h = 24h; BCC = 24h+20h+4Ah+05h = 93h -> 30 30 39 33 (C doc p.5).
    raw = dp25.raw(b"\x01\x24\x20\x4a\x05\x30\x30\x39\x33\x03")
    answer = parse(raw)
    assert (answer.seq, answer.cmd) == (0x20, 0x4A)
    assert answer.data == answer.status  # 4Ah answers the six status bytes themselves (C doc p.20)
    assert raw[1] == 0x20 + 3 + 6 + 1 + 6 + 1  # LEN..05 counted: LEN SEQ CMD DATA(6) 04 STATUS(6) 05
    assert answer.status == bytes([0x80, 0x80, 0x80, 0x80, 0x86, 0x9A])  # 4.1 4.2; 5.1 5.3 5.4 (C doc p.3)


def test_bad_checksum_is_nak_and_runs_nothing(dp25: Wire) -> None:
    frame = bytearray(request(0x21, 0x26))
    frame[-2] ^= 1
    assert dp25.raw(bytes(frame)) == b"\x15"  # NAK 15h (C doc p.4)
    assert dp25.printer.open is None and dp25.printer.commands == []


def test_a_control_byte_in_the_data_is_nak(dp25: Wire) -> None:
    assert dp25.raw(request(0x21, 0x36, b"a\x07b")) == b"\x15"  # DATA is 20h-FFh, 09h, 0Ah (C doc p.5)


def test_seq_beyond_7fh_is_nak_on_datecs_but_taken_by_daisy(dp25: Wire) -> None:
    assert dp25.raw(request(0x80, 0x71)) == b"\x15"  # C doc p.5: SEQ 20h-7Fh
    assert parse(Wire(FiscalPrinter("Compact S")).raw(request(0xFE, 0x71))).seq == 0xFE  # Daisy doc p.3: 20h-FFh


def test_data_longer_than_213_bytes_is_nak(dp25: Wire) -> None:
    assert dp25.raw(request(0x21, 0x36, b"a" * 214)) == b"\x15"  # C doc p.5: 0-213 bytes host to device
    assert parse(dp25.raw(request(0x22, 0x36, b"a" * 213))).cmd == 0x36


def test_unknown_command_answers_no_data_and_the_invalid_command_bit(dp25: Wire) -> None:
    answer = dp25.send(0x7E)
    assert answer.data == b"" and {INVALID, GENERAL} <= answer.bits()  # C doc p.5, status 0.1 and 0.5 (p.3)


def test_same_seq_repeats_the_last_answer_without_running_the_command(dp25: Wire) -> None:
    first = dp25.raw(request(0x30, 0x26))  # opens a service receipt
    again = dp25.raw(request(0x30, 0x27))  # same SEQ, another command: C doc p.5, "takes no action"
    assert again == first
    assert dp25.printer.open is not None and dp25.printer.commands == [0x26]
    assert parse(dp25.raw(request(0x31, 0x27))).data == b"0001"  # a new SEQ runs


def test_daisy_repeats_only_for_the_same_seq_and_command() -> None:
    wire = Wire(FiscalPrinter("Compact M"))
    first = wire.raw(request(0x90, 0x26))  # Daisy SEQ runs to FFh (Daisy doc p.3)
    assert wire.raw(request(0x90, 0x26)) == first  # Daisy doc p.4: same SEQ and CMD
    assert parse(wire.raw(request(0x90, 0x27))).data == b"000001"  # same SEQ, other CMD: runs
    assert wire.printer.commands == [0x26, 0x27]


def test_the_repeat_memory_is_the_devices_not_the_connections() -> None:
    printer = FiscalPrinter("DP-25")
    first = Wire(printer).raw(request(0x44, 0x26))
    assert Wire(printer).raw(request(0x44, 0x27)) == first  # a reconnect with the old SEQ gets the old answer


def test_a_half_frame_is_dropped_and_the_resent_frame_answered(dp25: Wire, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("edge.emulators.isl.wire.STALE_SECONDS", 0.05)
    assert dp25.raw(request(0x21, 0x26)[:5]) == b""
    time.sleep(0.1)
    assert parse(dp25.raw(request(0x21, 0x26))).data == b"0001"


def test_frames_split_across_chunks_and_noise_between_them(dp25: Wire) -> None:
    stream = b"\xff\x00" + request(0x21, 0x71) + b"\x7f" + request(0x22, 0x71)
    out = b"".join(dp25.raw(stream[i : i + 3]) for i in range(0, len(stream), 3))
    assert out.count(b"\x03") == 2 and parse(out[: out.index(b"\x03") + 1]).data == b"0000000"


@pytest.mark.parametrize("model", ["DP-25X", "FP-700X", "DP25 MX"])
def test_x_protocol_models_speak_the_x_family_not_c(model: str) -> None:
    printer = FiscalPrinter(model)
    assert printer.family.key == "X" and len(printer.status()) == 8  # X doc p.4: eight status bytes


def test_an_unknown_model_is_refused() -> None:
    with pytest.raises(UnknownModel):
        FiscalPrinter("DP-99")


# -- C family: opening (C doc p.10), operators (p.23) -------------------------------------------------


def test_open_takes_unp_before_the_till(dp25: Wire) -> None:
    answer = dp25.send(0x30, OPEN_C)
    assert answer.text == "0001,0001" and answer.bit(2, 3)  # AllReceipt,FiscReceipt; 2.3 fiscal receipt open
    assert dp25.printer.open is not None and dp25.printer.open.unp == "DT000600-0001-0000001"


def test_open_with_the_till_before_the_unp_is_a_syntax_error(dp25: Wire) -> None:
    answer = dp25.send(0x30, "1,1,1,DT000600-0001-0000001")
    assert answer.data == b"" and {SYNTAX, GENERAL} <= answer.bits() and dp25.printer.open is None


def test_open_without_data_is_a_syntax_error_on_c(dp25: Wire) -> None:
    assert SYNTAX in dp25.send(0x30).bits()  # only the P document has a 30h without data


def test_open_without_unp_is_the_second_syntax(dp25: Wire) -> None:
    assert dp25.send(0x30, "1,1,1").text == "0001,0001" and dp25.printer.open.unp is None  # type: ignore[union-attr]


def test_factory_password_of_operator_n_is_n_and_a_wrong_one_is_refused(dp25: Wire) -> None:
    assert dp25.send(0x30, "7,0000,1").bits() >= {NOT_ALLOWED} and dp25.printer.open is None
    assert dp25.send(0x30, "7,7,1").text == "0001,0001"  # C doc p.23: passwords equal the operator numbers


def test_password_change_65h(dp25: Wire) -> None:
    assert dp25.send(0x65, "2,2,4321").bits() & {SYNTAX, NOT_ALLOWED} == set()  # C doc p.23
    assert NOT_ALLOWED in dp25.send(0x30, "2,2,1").bits()
    assert dp25.send(0x30, "2,4321,1").text == "0001,0001"


# -- sales (C doc p.11) --------------------------------------------------------------------------------


def test_tax_groups_are_cyrillic_cp1251_only(dp25: Wire) -> None:
    dp25.send(0x30, OPEN_C)
    assert SYNTAX in dp25.send(0x31, b"Coffee\tB9.10").bits()  # Latin B
    sell(dp25, b"Coffee\t\xc19.10")  # Cyrillic Б = C1h (C doc p.1)
    assert dp25.printer.open.lines == [("Coffee", "B", 910)]  # type: ignore[union-attr]


def test_a_disabled_group_is_not_allowed(dp25: Wire) -> None:
    dp25.send(0x30, OPEN_C)
    assert NOT_ALLOWED in dp25.send(0x31, b"Gum\t\xc41.00").bits()  # Д: disabled, "DT" in 61h


def test_quantity_and_discounts(dp25: Wire) -> None:
    dp25.send(0x30, OPEN_C)
    sell(dp25, b"Tea\t\xc12.50*3")
    sell(dp25, b"Cake\t\xc110.00,-10.00")  # Perc
    sell(dp25, b"Soda\t\xc13.00;-0.50")  # Abs
    assert [a for _, _, a in dp25.printer.open.lines] == [750, 900, 250]  # type: ignore[union-attr]
    assert NOT_ALLOWED in dp25.send(0x31, b"Gum\t\xc11.00;-2.00").bits()  # discount larger than the sale
    assert SYNTAX in dp25.send(0x31, b"Gum\t\xc11.00$-0.10").bits()  # "$" is Daisy's


def test_item_text_is_22_bytes(dp25: Wire) -> None:
    dp25.send(0x30, OPEN_C)
    sell(dp25, "Я" * 22 + "\n" + "b" * 22 + "\tБ1.00")
    assert SYNTAX in dp25.send(0x31, "Я" * 23 + "\tБ1.00").bits()


def test_at_most_120_sales(dp25: Wire) -> None:
    dp25.send(0x30, OPEN_C)
    for _ in range(120):
        sell(dp25, b"x\t\xc10.01")
    assert NOT_ALLOWED in dp25.send(0x31, b"x\t\xc10.01").bits()


def test_no_sale_after_payment_started(dp25: Wire) -> None:
    dp25.send(0x30, OPEN_C)
    sell(dp25)
    dp25.send(0x35, "\tP5.00")
    assert NOT_ALLOWED in dp25.send(0x31, b"x\t\xc11.00").bits()


# -- subtotal, payment, text, close, cancel (C doc p.12-16) -------------------------------------------


def test_subtotal_answers_whole_stotinki(dp25: Wire) -> None:
    dp25.send(0x30, OPEN_C)
    sell(dp25)
    assert dp25.send(0x33, "10").text == "910,0,910,0,0,0,0,0,0"  # SubTotal,TaxA..TaxH, no decimal point


def test_subtotal_percent_discount(dp25: Wire) -> None:
    dp25.send(0x30, OPEN_C)
    sell(dp25, b"x\t\xc110.00")
    assert dp25.send(0x33, "11,-10.00").text.startswith("900,0,900,")


@pytest.mark.parametrize(("code", "name"), [("P", "cash"), ("N", "credit"), ("C", "card"), ("D", "nzok"), ("I", "voucher"), ("J", "coupon")])
def test_payment_codes(dp25: Wire, code: str, name: str) -> None:
    dp25.send(0x30, OPEN_C)
    sell(dp25)
    assert dp25.send(0x35, f"\t{code}9.10").text == "R+0"  # C doc p.13
    dp25.send(0x38)
    assert dp25.printer.journal[-1].paid == ((name, 910),)


def test_partial_payment_then_change(dp25: Wire) -> None:
    dp25.send(0x30, OPEN_C)
    sell(dp25)
    assert dp25.send(0x35, "\tC5.00").text == "D+410"  # still due
    assert dp25.send(0x35, "\tP+10.00").text == "R+590"  # change
    assert SYNTAX in dp25.send(0x35, "\tX1.00").bits()


def test_empty_payment_pays_everything_in_cash(dp25: Wire) -> None:
    dp25.send(0x30, OPEN_C)
    sell(dp25)
    dp25.send(0x35, "\t")
    dp25.send(0x38)
    assert dp25.printer.journal[-1].paid == (("cash", 910),) and dp25.printer.cash == 910


def test_fiscal_text_is_cut_at_36_bytes(dp25: Wire) -> None:
    dp25.send(0x30, OPEN_C)
    dp25.send(0x36, "x" * 40)
    assert dp25.printer.open.texts == ["x" * 36]  # type: ignore[union-attr]


def test_close_needs_full_payment(dp25: Wire) -> None:
    dp25.send(0x30, OPEN_C)
    sell(dp25)
    assert NOT_ALLOWED in dp25.send(0x38).bits()
    dp25.send(0x35, "\tP1.00")
    assert NOT_ALLOWED in dp25.send(0x38).bits()
    dp25.send(0x35, "\t")
    close = dp25.send(0x38)
    assert close.text == "0001,0001" and not close.bit(2, 3)
    assert dp25.send(0x71).text == "0000001"  # C doc p.27


def test_cancel_is_3ch_before_payment_only(dp25: Wire) -> None:
    dp25.send(0x30, OPEN_C)
    sell(dp25)
    assert dp25.send(0x3C).bits() & {SYNTAX, NOT_ALLOWED, INVALID} == set()
    assert dp25.printer.journal[-1].kind == "cancelled"
    dp25.send(0x30, "1,1,DT000600-0001-0000002,1")
    sell(dp25)
    dp25.send(0x35, "\tP1.00")
    assert NOT_ALLOWED in dp25.send(0x3C).bits()  # C doc p.16
    assert INVALID in dp25.send(0x82).bits()  # 82h is Daisy's


def test_customer_info_39h_is_not_a_cancel(dp25: Wire) -> None:
    dp25.send(0x30, OPEN_C)
    assert NOT_ALLOWED in dp25.send(0x39, "123456789\t0").bits()  # C doc p.15: only on an invoice
    assert dp25.printer.open is not None


# -- storno (C doc p.10) and the EJ read (C doc p.30) -----------------------------------------------------


def test_storno_names_the_original_receipt(dp25: Wire) -> None:
    # DocDateTime "3003181613" is the document's own example (30 March 2018 16:13).
    answer = dp25.send(0x2E, "1,1,DT000600-0001-0000009,1,1,15,3003181613,02000600")
    assert answer.text == "0001,0001" and dp25.printer.open.storno.number == 15  # type: ignore[union-attr]
    sell(dp25)
    dp25.send(0x35, "\t")
    dp25.send(0x38)
    assert dp25.printer.journal[-1].kind == "storno" and dp25.printer.day_storno["B"] == 910
    assert SYNTAX in dp25.send(0x2E, "1,1,,1,1,15,3003181613,0200060").bits()  # FMNumber is 8 digits


def test_the_ej_gives_back_a_receipts_unp(dp25: Wire) -> None:
    dp25.send(0x30, OPEN_C)
    sell(dp25)
    dp25.send(0x35, "\t")
    dp25.send(0x38)
    found = dp25.send(0x7D, "0,1,1").text.split(",")  # prepare document 1, fiscal
    assert found[0] == "P" and found[1] == "1" and found[3] == "1"
    assert dp25.send(0x7D, "5").text == "P,3,1,1,DT000600-0001-0000001,2"  # option 5: nSale (C doc p.30-31)
    lines = []
    while (line := dp25.send(0x7D, "1").text) != "F":
        lines.append(line)
    assert "P,УНП: DT000600-0001-0000001" in lines
    assert dp25.send(0x7D, "0,5,1").text == "F"


def test_the_journal_counts_receipts_per_unp(dp25: Wire) -> None:
    for _ in range(2):  # the same sale printed twice (a driver that lost track) shows as two receipts
        dp25.send(0x30, OPEN_C)
        sell(dp25)
        dp25.send(0x35, "\t")
        dp25.send(0x38)
    assert [d.number for d in dp25.printer.receipts_by_unp()["DT000600-0001-0000001"]] == [1, 2]


# -- service receipts, reports, cash, status, info ------------------------------------------------------


def test_service_receipt_texts_are_40_bytes(dp25: Wire) -> None:
    assert dp25.send(0x26).text == "0001"  # C doc p.8
    assert dp25.send(0x2A, "1\t" + "a" * 40).bits() & {SYNTAX, NOT_ALLOWED} == set()
    assert SYNTAX in dp25.send(0x2A, "a" * 41).bits()
    assert NOT_ALLOWED in dp25.send(0x30, OPEN_C).bits()  # a receipt is open
    assert dp25.send(0x27).text == "0001" and dp25.printer.journal[-1].texts == ("a" * 40,)


def test_reports_answer_signed_stotinki_and_z_resets_the_day(dp25: Wire) -> None:
    dp25.send(0x30, OPEN_C)
    sell(dp25)
    dp25.send(0x35, "\t")
    dp25.send(0x38)
    assert dp25.send(0x45, "2").text == "0001,+910,+0,+910,+0,+0,+0,+0,+0,+0"  # X (C doc p.18)
    assert dp25.send(0x45).text == "0001,+910,+0,+910,+0,+0,+0,+0,+0,+0"  # Z without data
    assert dp25.send(0x45, "2").text == "0002,+0,+0,+0,+0,+0,+0,+0,+0,+0"
    assert SYNTAX in dp25.send(0x45, "1").bits()


def test_cash_in_and_out(dp25: Wire) -> None:
    assert dp25.send(0x46, "10.00").text == "P,1000,1000,0"  # C doc p.19, whole stotinki
    assert dp25.send(0x46, "-20.00").text == "F,1000,1000,0"  # more than the drawer holds
    assert dp25.send(0x46, "-4.00").text == "P,600,1000,400"
    assert dp25.send(0x46).text == "P,600,1000,400"


def test_transaction_status_4ch(dp25: Wire) -> None:
    assert dp25.send(0x4C, "T").text == "0,0000,+00000000,+00000000"
    dp25.send(0x30, OPEN_C)
    sell(dp25)
    dp25.send(0x35, "\tP5.00")
    assert dp25.send(0x4C, "T").text == "1,0001,+00000910,+00000500"  # C doc p.20: 9 bytes with a sign


def test_current_receipt_67h(dp25: Wire) -> None:
    dp25.send(0x30, OPEN_C)
    sell(dp25)
    assert dp25.send(0x67).text == "P,1,0,910,0,0,0,0,0,0,0,0000000000,0"  # C doc p.24


def test_diagnostic_info_carries_serial_and_fiscal_memory(dp25: Wire) -> None:
    fields = dp25.send(0x5A, "0").text.split(",")
    assert fields[0] == "DP-25" and fields[2] == "FFFF" and fields[4:] == ["DT000600", "02000600"]
    assert SYNTAX in dp25.send(0x5A).bits()  # <Calc> is required (C doc p.22)


def test_tax_rates_61h(dp25: Wire) -> None:
    assert dp25.send(0x61).text == "0.00,20.00,20.00,9.00,DT,DT,DT,DT"


def test_clock_read_and_set(dp25: Wire) -> None:
    assert dp25.send(0x3D, "31-12-30 23:59:58").data == b""  # C doc p.16
    assert dp25.send(0x3E).text.startswith("31-12-30 23:59")
    assert SYNTAX in dp25.send(0x3D, "2030-12-31 23:59").bits()
    assert NOT_ALLOWED in (dp25.send(0x46, "1.00"), dp25.send(0x3D, "01-01-20 00:00"))[1].bits()  # before the EJ's last
