"""The Datecs X emulator byte for byte against the X doc (bg.isl.dt.x.protocol-v2.02-en), through its endpoint with
frames built by the test suite (``isl_x_fake``), not by the driver: framing, the repeated SEQ, NAK, status bits, error
codes, and the receipt commands' fields."""

from __future__ import annotations

import pytest
from isl_x_fake import request_frame, split_answer

from edge.emulators.isl.device import FiscalPrinter
from edge.emulators.isl.endpoint import IslEndpoint


class XWire:
    def __init__(self, model: str = "DP-25X") -> None:
        self.printer = FiscalPrinter(model)
        self.endpoint = IslEndpoint(self.printer)
        self.seq = 0x1F

    def raw(self, chunk: bytes) -> bytes:
        out = bytearray()
        self.endpoint.receive(chunk, out.extend)
        return bytes(out)

    def send(self, cmd: int, data: str = "", seq: int | None = None) -> tuple[list[str], bytes]:
        """The answer's fields (split at TAB, the last TAB dropped) and its status bytes."""
        if seq is None:
            self.seq = 0x20 if self.seq >= 0xFF else self.seq + 1
            seq = self.seq
        got_seq, got_cmd, data_out, status = split_answer(self.raw(request_frame(seq, cmd, data)))
        assert (got_seq, got_cmd) == (seq, cmd)
        text = data_out.decode("cp1251")
        return (text[:-1].split("\t") if text else []), status


def bit(status: bytes, byte: int, number: int) -> bool:
    return bool(status[byte] >> number & 1)


@pytest.fixture
def x() -> XWire:
    return XWire()


def open_sale(x: XWire, unp: str = "DT000600-0001-0000001") -> None:
    assert x.send(0x30, f"1\t0000\t{unp}\t1\t\t")[0] == ["0", "1"]  # p.9: ErrorCode, SlipNumber


# -- framing and status (X doc pp.3-5, 46-47) ----------------------------------------------------------------------


def test_every_answer_carries_eight_status_bytes_with_the_fiscalised_bits(x: XWire) -> None:
    fields, status = x.send(0x4A)
    assert len(status) == 8 and all(b & 0x80 for b in status)  # p.46: bit 7 always 1
    assert bit(status, 5, 3) and bit(status, 5, 4) and bit(status, 4, 2)  # fiscalised, VAT set, serial and FM set
    assert fields[0] == "0" and fields[1].encode("cp1251", errors="replace") != b""  # p.20-21: {ErrorCode}{StatusBytes}


def test_a_sequence_number_up_to_ffh_is_taken_and_a_repeat_is_answered_without_running(x: XWire) -> None:
    """p.4: SEQ 20h-FFh; "If the ECR gets a message with the same <SEQ> as the last message received it will not
    perform any operation, but will repeat the last sent message"."""
    first = x.raw(request_frame(0xFE, 0x46, "0\t10.00\t"))
    again = x.raw(request_frame(0xFE, 0x46, "0\t10.00\t"))
    assert first == again and x.printer.cash == 1000 and split_answer(first)[0] == 0xFE


def test_a_frame_with_a_bad_checksum_is_answered_with_nak(x: XWire) -> None:
    frame = bytearray(request_frame(0x21, 0x4A))
    frame[-2] ^= 0x01
    assert x.raw(bytes(frame)) == b"\x15"  # p.3: NAK 15h on a checksum or form error


def test_an_unknown_command_answers_no_data_and_the_invalid_command_bit(x: XWire) -> None:
    fields, status = x.send(0x99)
    assert fields == [] and bit(status, 0, 1) and bit(status, 0, 5)  # p.4, p.46: 0.1 '#', so 0.5


def test_a_syntax_error_answers_no_data_and_the_syntax_bit(x: XWire) -> None:
    fields, status = x.send(0x31, "no tabs at all")
    assert fields == [] and bit(status, 0, 0) and bit(status, 0, 5)  # p.4: "a wrapped message is returned with zero field length"


def test_a_command_refused_in_this_state_answers_a_negative_error_code(x: XWire) -> None:
    fields, status = x.send(0x38)  # close with no receipt open
    assert len(fields) == 1 and int(fields[0]) < 0 and bit(status, 1, 1)  # p.5 {ErrorCode}; p.46 1.1 not permitted
    assert x.send(0x64, f"{fields[0]}\t")[0][:2] == ["0", fields[0]]  # p.26: 64h explains the code


def test_faults_show_in_their_x_bits(x: XWire) -> None:
    x.printer.faults.paper_near_end = True
    x.printer.faults.cover_open = True
    x.printer.faults.ej_near_end = True
    x.printer.faults.fm_full = True
    _, status = x.send(0x4A)
    assert bit(status, 2, 1) and bit(status, 0, 6) and bit(status, 2, 4)  # p.46: near paper end, cover, EJ nearly full
    assert bit(status, 4, 4) and bit(status, 4, 5)  # FM full, '*' so 4.5


# -- a receipt (X doc pp.9-15) ---------------------------------------------------------------------------------------


def test_a_sale_with_line_and_subtotal_discounts_pays_in_two_parts_and_closes(x: XWire) -> None:
    open_sale(x)
    assert x.send(0x31, "Coffee\t2\t3.50\t2.000\t4\t0.50\t0\t")[0] == ["0", "1"]  # p.10: 4 discount by sum: 6.50
    assert x.send(0x31, "Tea\t2\t2.80\t\t2\t10.00\t0\t")[0] == ["0", "1"]  # 2 discount by percentage: 2.52
    fields, _ = x.send(0x33, "1\t0\t4\t0.02\t")  # p.10-11: a subtotal discount by sum
    assert fields[:4] == ["0", "1", "9.00", "0.00"] and fields[4] == "9.00"  # SlipNumber, Subtotal, TaxA, TaxB
    assert x.send(0x35, "1\t4.00\t\t")[0] == ["0", "D", "5.00"]  # p.11: D and the residual sum
    assert x.send(0x35, "0\t10.00\t\t")[0] == ["0", "R", "5.00"]  # R and the change
    assert x.send(0x38)[0] == ["0", "1"]
    [receipt] = x.printer.fiscal_receipts()
    assert receipt.total == 900 and receipt.unp == "DT000600-0001-0000001" and x.printer.cash == 500


def test_the_discount_value_must_be_empty_without_a_type_and_a_percentage_within_99_99(x: XWire) -> None:
    open_sale(x)
    for data in ("Tea\t2\t2.80\t1\t0\t0.50\t0\t", "Tea\t2\t2.80\t1\t2\t100.00\t0\t", "Tea\t9\t2.80\t1\t\t\t0\t"):
        _, status = x.send(0x31, data)
        assert bit(status, 0, 0), data  # p.10


def test_a_storno_names_the_original_and_keeps_the_sales_unp(x: XWire) -> None:
    open_sale(x)
    x.send(0x31, "Tea\t2\t2.80\t\t\t\t0\t")
    x.send(0x35, "0\t2.80\t\t")
    x.send(0x38)
    at = x.printer.journal[0].at.strftime("%d-%m-%y %H:%M:%S")
    fields, status = x.send(0x2B, f"1\t0000\t1\t1\t1\t{at}\t{x.printer.fiscal_memory}\t\t\t\tDT000600-0001-0000001\t")
    assert fields == ["0", "2"] and bit(status, 2, 3)  # p.7-8; 2.3 fiscal receipt open
    assert x.send(0x4C)[0][:2] == ["0", "3"]  # p.21: IsOpen 3, storno for a refund
    x.send(0x31, "Tea\t2\t2.80\t\t\t\t0\t")
    x.send(0x35, "0\t2.80\t\t")
    x.send(0x38)
    assert x.send(0xFF, "UNP\t\t\t")[0] == ["0", "DT000600-0001-0000001"]  # p.44: the last sale's
    assert x.send(0xFF, "StornoUNP\t\t\t")[0] == ["0", "DT000600-0001-0000001"]
    assert x.send(0xFF, "nBon\t\t\t")[0] == ["0", "2"]
    fields, _ = x.send(0x7D, "0\t2\t6\t")  # p.35-36: the storno in the EJ, type 6
    assert fields[1] == "2" and fields[4] == "6"
    assert x.send(0x7D, "0\t2\t1\t")[0][0] != "0"  # not a fiscal receipt (type 1)


def test_a_storno_without_an_eight_digit_fm_number_or_with_a_reason_but_no_invoice_is_a_syntax_error(x: XWire) -> None:
    for data in ("1\t0000\t1\t1\t1\t07-12-26 17:45:00\t123\t\t\t\t\t", "1\t0000\t1\t1\t1\t07-12-26 17:45:00\t02000600\t\t\tWhy\t\t"):
        fields, status = x.send(0x2B, data)
        assert fields == [] and bit(status, 0, 0)  # p.7-8


def test_a_z_report_answers_the_days_totals_and_clears_them(x: XWire) -> None:
    open_sale(x)
    x.send(0x31, "Tea\t2\t2.80\t\t\t\t0\t")
    x.send(0x35, "0\t2.80\t\t")
    x.send(0x38)
    fields, _ = x.send(0x45, "Z\t")
    assert fields[:3] == ["0", "1", "0.00"] and fields[3] == "2.80" and len(fields) == 18  # p.19: nRep, TotA..H, StorA..H
    assert x.send(0x40, "0\t")[0][:4] == ["0", "1", "0.00", "2.80"]  # p.17: the last fiscal record
    assert x.send(0x45, "X\t")[0][3] == "0.00"


def test_cash_out_beyond_the_drawer_is_refused_by_error_code(x: XWire) -> None:
    assert x.send(0x46, "0\t10.00\t")[0] == ["0", "10.00", "10.00", "0.00"]  # p.19
    fields, _ = x.send(0x46, "1\t20.00\t")
    assert int(fields[0]) < 0 and x.printer.cash == 1000
    assert x.send(0x46, "1\t0\t")[0] == ["0", "10.00", "10.00", "0.00"]  # Amount 0: only the answer


def test_an_unsynchronised_clock_is_bit_0_2_and_refuses_nothing(x: XWire) -> None:
    x.printer.faults.clock_not_set = True
    open_sale(x)  # X doc p.46: 0.2 is not a '#' error, and p.9 names no refusal for it
    _, status = x.send(0x4A)
    assert bit(status, 0, 2) and not bit(status, 0, 5)
