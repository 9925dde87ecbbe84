"""Every command the Datecs X driver sends, byte for byte against the X doc (bg.isl.dt.x.protocol-v2.02-en), on a
scripted port (``isl_x_fake``); the frame against the document's own example (p.4); and the driver's answer to a
refusal by error code, by status bit, and to an answer that is not the documented layout."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from isl_x_fake import FM, SERIAL, XFakePort
from test_isl_every_sale import COFFEE, TEA, card, cash, refund, sale

from chalicelib.contracts import FiscalRecord
from edge.drivers.base import DeviceError, InvalidJob, PaperOut
from edge.drivers.isl.datecs_x import DATECS_X, DatecsXDriver
from edge.drivers.isl.driver import DeviceRefused, GarbledAnswer
from edge.drivers.isl.frame_x import X_FRAMING, decode_response, encode_request, word
from edge.drivers.isl.link import IslLink
from edge.drivers.isl.sales import open_book


def driver_on(port: XFakePort, state: Path) -> DatecsXDriver:
    link = IslLink(port, answer_timeout=0.05, busy_timeout=0.3, retries=1, first_seq=0x20, framing=X_FRAMING)
    return DatecsXDriver(link, open_book(state), DATECS_X, "FP700X", "Front")


# -- the frame (X doc p.4) --------------------------------------------------------------------------------------------


def test_a_length_or_command_word_is_four_nibbles_plus_30h() -> None:
    assert word(0x1AE3) == bytes([0x31, 0x3A, 0x3E, 0x33])  # X doc p.4: "1AE3H is presented as 31H, 3AH, 3EH, 33H"


def test_the_documents_example_255_language_is_framed_as_p4_says() -> None:
    """X doc p.4: "255,language[\\t][\\t][\\t]" puts 6C 61 6E 67 75 61 67 65 09 09 09 in the data field. LEN = 4 (LEN)
    + 1 (SEQ) + 4 (CMD) + 11 (DATA) + 1 (05) = 21, plus 20h = 35h: 30 30 33 35; CMD FFh: 30 30 3F 3F; the BCC sums
    LEN..05: 30+30+33+35+20+30+30+3F+3F + the data (02DFh) + 05 = 052Ah: 30 35 32 3A."""
    expected = bytes.fromhex("01 30303335 20 30303f3f 6c616e6775616765090909 05 3035323a 03")
    assert encode_request(0x20, 0xFF, bytes.fromhex("6C 61 6E 67 75 61 67 65 09 09 09")) == expected


def test_an_answer_frame_carries_eight_status_bytes_after_04() -> None:
    """The device's "0<SEP>" to FFh under SEQ 20h: LEN 21 + 20h = 35h; BCC 0608h (X doc p.4)."""
    frame = bytes.fromhex("01 30303335 20 30303f3f 3009 04 8080808080808080 05 30363038 03")
    answer = decode_response(frame)
    assert (answer.seq, answer.cmd, answer.data, answer.status) == (0x20, 0xFF, b"0\t", bytes([0x80] * 8))


# -- the commands -----------------------------------------------------------------------------------------------------

# One cash sale of Coffee 2 × 3.50 and Tea 1 × 2.80 at 20 % (the device's group 2, 32h answers TaxB 20.00).
SALE = [
    (0x5A, b"1\t"),  # X doc p.24: {Param}<SEP> with the checksum: Answer(1), the serial number and FM number
    (0x32, b""),  # p.10: the VAT rates
    (0xFF, b"nBon\t\t\t"),  # p.44-45: the global number of receipts before the open
    (0xFF, b"UNP\t\t\t"),  # p.44: the last printed UNP, DT000600-0001-0000004, so this sale is ...0005
    (0x30, b"1\t0000\tDT000600-0001-0000005\t1\t\t"),  # p.9 syntax 2: OpCode, OpPwd, NSale, TillNmb, Invoice empty
    (0x31, b"Coffee\t2\t3.50\t2.000\t0\t\t0\t"),  # p.9-10: PluName, TaxCd, Price, Quantity, DiscountType 0, value empty, Dept 0
    (0x31, b"Tea\t2\t2.80\t1.000\t0\t\t0\t"),
    (0x36, b"SALE ID job-1\t\t\t\t\t\t"),  # p.12: Text, Bold, Italic, DoubleH, Underline, alignment
    (0x33, b"0\t0\t\t\t"),  # p.10: Print 0, Display 0, no discount
    (0x35, b"0\t9.80\t\t"),  # p.11: PaidMode 0 cash, Amount, Type empty
    (0x38, b""),  # p.14
    (0x3E, b""),  # p.16: the receipt's date-time
]


def test_a_cash_sale_is_sent_as_the_x_doc_lays_out_each_command(tmp_path: Path) -> None:
    port = XFakePort()
    driver = driver_on(port, tmp_path)
    record = driver.print_receipt(sale("job-1", [COFFEE, TEA], [cash(980)]))
    assert port.sent() == SALE
    assert port.requests[0] == (0x4A, b"")  # p.20: the status request that goes first on a new link
    assert (record.fiscal_number, record.unique_sale_number, record.fiscal_memory_number) == ("0000006", f"{SERIAL}-0001-0000005", FM)


def test_a_line_discount_is_discount_type_4_and_split_tender_one_35h_each(tmp_path: Path) -> None:
    port = XFakePort()
    port.queue(0x33, "0\t6\t9.30\t0.00\t9.30\t0.00\t0.00\t0.00\t0.00\t0.00\t0.00\t")
    port.queue(0x35, "0\tD\t4.30\t")
    line = COFFEE.model_copy(update={"discount": 50, "amount": 650})
    driver_on(port, tmp_path).print_receipt(sale("job-1", [line, TEA], [cash(500), card(430)]))
    sent = port.sent()
    assert (0x31, b"Coffee\t2\t3.50\t2.000\t4\t0.50\t0\t") in sent  # X doc p.10: 4 discount by sum, two decimals
    assert [data for cmd, data in sent if cmd == 0x35] == [b"0\t5.00\t\t", b"1\t4.30\t\t"]  # p.11: 0 cash, 1 credit card


def test_a_refund_opens_the_2Bh_storno_with_the_originals_references(tmp_path: Path) -> None:
    port = XFakePort()
    original = FiscalRecord(device=f"DATECS:{SERIAL}", fiscal_number="0000001", printed_at=1_796_665_500,  # 07-12-26 17:45:00 UTC
                            fiscal_memory_number=FM, unique_sale_number=f"{SERIAL}-0001-0000001")
    port.queue(0x33, "0\t6\t7.00\t0.00\t7.00\t0.00\t0.00\t0.00\t0.00\t0.00\t0.00\t")
    driver_on(port, tmp_path).print_receipt(refund("job-2", original, [COFFEE]))
    # X doc p.7: OpCode, OpPwd, TillNmb, Storno 1 (refund), DocNum, DateTime, FMNumber, Invoice, ToInvoice, Reason, NSale.
    assert (0x2B, f"1\t0000\t1\t1\t1\t07-12-26 17:45:00\t{FM}\t\t\t\t{SERIAL}-0001-0000001\t".encode()) in port.sent()
    assert not any(cmd == 0x30 for cmd, _ in port.sent())


def test_reports_cash_and_a_non_fiscal_receipt(tmp_path: Path) -> None:
    port = XFakePort()
    driver = driver_on(port, tmp_path)
    z = driver.z_report()
    driver.x_report()
    driver.cash_in(2000)
    driver.cash_out(500)
    driver.non_fiscal_receipt(["Table 4"])
    assert (z.number, z.amount_cents) == (12, 980)  # p.19: nRep, TotA..TotH (StorB 7.00 is not a sale)
    assert [r for r in port.sent() if r[0] != 0xFF] == [
        (0x40, b"0\t"),  # p.17: the last fiscal record before the Z, to tell a Z made from one not
        (0x45, b"Z\t"),  # p.18: ReportType
        (0x45, b"X\t"),
        (0x46, b"0\t20.00\t"),  # p.19: Type 0 cash in, Amount
        (0x46, b"1\t5.00\t"),  # Type 1 cash out
        (0x26, b""),  # p.6
        (0x2A, b"Table 4\t\t\t\t\t\t"),  # p.7: Text, Bold, Italic, Hght, Underline, alignment
        (0x27, b""),
    ]


# -- refusals -----------------------------------------------------------------------------------------------------


def test_a_negative_error_code_with_clean_status_bits_refuses_and_nothing_more_is_sent(tmp_path: Path) -> None:
    """X doc p.5: "Answer when command fail to execute: {ErrorCode}<SEP>", a negative number (p.26)."""
    port = XFakePort()
    port.queue(0x30, "-111018\t")
    driver = driver_on(port, tmp_path)
    with pytest.raises(DeviceRefused, match="-111018"):
        driver.print_receipt(sale("job-1", [COFFEE, TEA], [cash(980)]))
    assert port.sent()[-1][0] == 0x30 and driver.find_receipt("job-1") is None  # refused: the plan is gone


def test_paper_out_in_the_status_bytes_is_a_typed_refusal(tmp_path: Path) -> None:
    port = XFakePort()
    port.queue(0x30, "", bytes([0xA0, 0x80, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80]))  # p.46: 0.5 general error, 2.0 end of paper
    with pytest.raises(PaperOut):
        driver_on(port, tmp_path).print_receipt(sale("job-1", [COFFEE, TEA], [cash(980)]))


@pytest.mark.parametrize("answer", ["FP-700X,DT000600", "x\t", ""])
def test_an_answer_without_the_error_code_field_is_garbled(tmp_path: Path, answer: str) -> None:
    port = XFakePort()
    port.queue(0x5A, answer)
    with pytest.raises(GarbledAnswer):
        driver_on(port, tmp_path).print_receipt(sale("job-1", [TEA], [cash(280)]))


def test_a_vat_rate_the_device_has_not_enabled_is_refused_before_the_open(tmp_path: Path) -> None:
    port = XFakePort()
    line = TEA.model_copy(update={"vat_rate": Decimal(5)})
    with pytest.raises(InvalidJob, match="no tax group for VAT 5"):
        driver_on(port, tmp_path).print_receipt(sale("job-1", [line], [cash(280)]))
    assert not any(cmd == 0x30 for cmd, _ in port.sent())


HOSTILE = ["", "0", "0\t", "-1\t", "0\tx\t", "0\t" + "NaN\t" * 18, "0\t" + "99999999999999999999\t" * 18, "0\tЂя\t" * 3]  # cp1251 80h and FFh


@pytest.mark.parametrize("answer", HOSTILE)
@pytest.mark.parametrize("cmd", sorted({cmd for cmd, _ in SALE}))
def test_any_hostile_answer_to_any_command_of_a_sale_is_a_typed_device_error(tmp_path: Path, cmd: int, answer: str) -> None:
    """A device reply is outside input: whatever a command is answered, the driver fails with a DeviceError or goes on."""
    port = XFakePort()
    for _ in range(3):
        port.queue(cmd, answer)
    try:
        driver_on(port, tmp_path).print_receipt(sale("job-1", [COFFEE, TEA], [cash(980)]))
    except DeviceError:
        pass
