"""Every command the Tremol driver sends, byte for byte, as the Tremol document builds it (pages cited), and the
document's answers read back; the emulator answers the same frames with the same bytes.

The frames are built here from p.6's rule (STX, LEN = 20h + bytes of LEN..DATA, NBL, CMD, DATA, the XOR of LEN..DATA
as two nibbles plus 30h, LF), not with the driver's code; p.6's own example of the checksum (B5h -> 3Bh 35h) and
p.7's acknowledgement are checked as printed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tremol_support import TEA, EmulatedPort, card, cash, driver_on, refund, sale

from chalicelib.contracts import JobLine
from edge.drivers.base import DeviceError
from edge.drivers.tremol.frame import (
    Acknowledgement,
    FrameReader,
    Message,
    checksum,
    decode_answer,
    encode_request,
)
from edge.emulators.tremol.device import TremolDevice
from edge.emulators.tremol.endpoint import TremolEndpoint
from edge.emulators.tremol.wire import HostFrame


def cs(body: bytes) -> bytes:
    """p.6: XOR of the bytes, high nibble + 30h, low nibble + 30h."""
    x = 0
    for b in body:
        x ^= b
    return bytes((0x30 + (x >> 4), 0x30 + (x & 15)))


def frame(nbl: int, cmd: int, data: bytes = b"") -> bytes:
    """p.6: <STX><LEN><NBL><CMD><DATA><CS><CS><ETX>, LEN counting LEN, NBL, CMD and DATA, plus 20h."""
    body = bytes((0x20 + 3 + len(data), nbl, cmd)) + data
    return b"\x02" + body + cs(body) + b"\x0a"


def ack(nbl: int, status: bytes = b"00") -> bytes:
    """p.7: <ACK><NBL><STE><STE><CS><CS><ETX>, CS over NBL and the two status digits."""
    return b"\x06" + bytes((nbl,)) + status + cs(bytes((nbl,)) + status) + b"\x0a"


def test_the_checksum_is_the_documents_example_and_a_status_request_is_seven_bytes() -> None:
    assert checksum(b"\xb5") == b"\x3b\x35"  # p.6: B5h -> 3Bh 35h
    assert checksum(b"\x80\x35") == b"\x3b\x35"  # any bytes whose XOR is B5h
    # 20h with NBL 21h: LEN 23h, XOR 23h^21h^20h = 22h -> "22" (p.6, p.10).
    assert encode_request(0x21, 0x20) == bytes.fromhex("0223212032320a") == frame(0x21, 0x20)


def test_the_documents_acknowledgement_and_message_are_read() -> None:
    assert ack(0x21) == bytes.fromhex("0621303032310a")  # NBL 21h, "00": XOR 21h -> "21" (p.7)
    assert decode_answer(ack(0x21)) == Acknowledgement(0x21, "0", "0")
    assert decode_answer(ack(0x2A, b"34")) == Acknowledgement(0x2A, "3", "4")  # p.7: clock failure, syntax error
    answer = frame(0x22, 0x71, b"000123")  # p.72: 71h answers the six-digit receipt counter
    assert decode_answer(answer) == Message(0x22, 0x71, b"000123")
    reader = FrameReader()
    assert reader.feed(b"\x15\x0e" + answer[:5]) and reader.pending  # p.8: NAK and RETRY alone; half a frame waits
    assert reader.feed(answer[5:]) == [Message(0x22, 0x71, b"000123")]


# One cash receipt of two lines on a fresh driver, each command's data as its page gives it.
RECEIPT = [
    (0x60, b""),  # p.25: serial and FM numbers
    (0x62, b""),  # p.25: VAT rates
    (0x71, b""),  # p.72: last receipt number
    (0x30, b"1;0000;1;1;0$ZK000601-0001-0000001"),  # p.39: OperNum;OperPass;detailed;with VAT;step by step$UNP
    (0x31, "Coffee;Б;3.50*2".encode("cp1251")),  # p.47: NamePLU;VAT class Б;Price*Quantity
    (0x31, "Tea;Б;2.80*1".encode("cp1251")),
    (0x37, b"SALE ID job-1"),  # p.54
    (0x33, b"0;0"),  # p.50: no printing, no display
    (0x35, b"0;0;9.80"),  # p.53: payment 0 (cash);with change;amount
    (0x38, b""),  # p.54
    (0x72, b"B"),  # p.74: the last receipt's QR data
]


def test_a_cash_sale_sends_the_documents_frames_and_the_emulator_acknowledges_them(port: EmulatedPort, tmp_path: Path) -> None:
    driver = driver_on(port, tmp_path, first_nbl=0x21)
    record = driver.print_receipt(sale("job-1"))
    driver.close()

    assert port.written == [frame(0x21 + i, cmd, data) for i, (cmd, data) in enumerate(RECEIPT)]
    assert (record.fiscal_number, record.unique_sale_number, record.fiscal_memory_number) == ("000001", "ZK000601-0001-0000001", "50000601")


def test_the_emulator_answers_the_documents_frames_with_the_documents_bytes(device: TremolDevice) -> None:
    endpoint, out = TremolEndpoint(device), []
    for nbl, (cmd, data) in enumerate([*RECEIPT[:2], (0x20, b""), RECEIPT[2]], start=0x21):
        endpoint.receive(frame(nbl, cmd, data), out.append)
    assert out[0] == frame(0x21, 0x60, b"ZK000601;50000601")  # p.25: SerialNumber[8];FMNumber[8]
    assert out[1] == frame(0x22, 0x62, b"00.00%;20.00%;20.00%;09.00%;00.00%;00.00%;00.00%;00.00%")  # p.25: ##.##%
    assert len(out[2]) == 4 + 7 + 3 and all(b & 0x80 for b in out[2][4:11])  # p.10: seven status bytes, bit 7 set
    assert out[3] == frame(0x24, 0x71, b"000000")  # p.72
    endpoint.receive(frame(0x25, 0x31, "Tea;Б;2.80".encode("cp1251")), out.append)
    assert out[4] == ack(0x25, b"02")  # p.7: a sale with no receipt open is an illegal command (32)
    endpoint.receive(frame(0x26, 0x30, b"1;0000;1;1;0"), out.append)
    endpoint.receive(frame(0x27, 0x31, "Tea;Б;2.80".encode("cp1251")), out.append)
    endpoint.receive(frame(0x28, 0x38), out.append)
    assert out[5:] == [ack(0x26), ack(0x27), ack(0x28, b"52")]  # p.7: 35 payment residue: the receipt is not paid
    endpoint.receive(frame(0x29, 0x35, b"0;0;1.00"), out.append)
    endpoint.receive(frame(0x2A, 0x38), out.append)
    assert out[8:] == [ack(0x29), ack(0x2A, b"52")]  # 1.00 of 2.80 paid: still refused
    endpoint.receive(frame(0x2B, 0x35, b'0;0;"'), out.append)  # p.54: pay the exact sum due
    endpoint.receive(frame(0x2C, 0x38), out.append)
    assert out[10:] == [ack(0x2B), ack(0x2C)]
    endpoint.receive(frame(0x2D, 0x20), out.append)
    endpoint.receive(b"\x02\x23\x2e\x20\x30\x30\x0a", out.append)  # a bad checksum (p.8)
    assert out[-1] == b"\x15"  # NAK


def test_split_tender_with_change_a_line_discount_and_the_buyer_tax_id(port: EmulatedPort, tmp_path: Path, device: TremolDevice) -> None:
    discounted = JobLine(name="Coffee;large|hot", quantity=2, unit_price=350, vat_rate=20, discount=50, amount=650)
    job = sale("job-2", [discounted, TEA], [cash(500, tendered=1000), card(430)], buyer_tax_id="BG123456789")
    driver = driver_on(port, tmp_path, first_nbl=0x21)
    driver.print_receipt(job)
    driver.close()

    sent = [w[3:-3] for w in port.written]  # CMD and DATA of each frame
    assert sent[4] == b"\x31" + "Coffee,large/hot;Б;3.50*2:-0.50".encode("cp1251")  # p.47: ':' value discount, '-' for discount
    assert b"\x37BUYER TAX ID BG123456789" in sent
    # p.53: the card first, then the cash with what was handed over; the device gives the change (5.00).
    assert [s for s in sent if s[:1] == b"\x35"] == [b"\x357;0;4.30", b"\x350;0;10.00"]
    assert device.journal[-1].change == 500 and device.journal[-1].total == 930


def test_a_refund_opens_a_storno_naming_the_original(port: EmulatedPort, tmp_path: Path, device: TremolDevice) -> None:
    driver = driver_on(port, tmp_path, first_nbl=0x21)
    original = driver.print_receipt(sale("job-1"))
    mark = len(port.written)
    driver.print_receipt(refund("job-r", original, [TEA]))
    driver.close()

    moment = f"{device.journal[0].at:%d-%m-%y %H:%M:%S}"
    opened = [w[4:-3] for w in port.written[mark:] if w[3] == 0x30]
    # p.40: OperNum;OperPass;detailed;with VAT;'@' step by step;reason 1 (goods return);RcpNum;"DD-MM-YY HH:MM:SS";FMNum;URN
    assert opened == [f"1;0000;1;1;@;1;1;{moment};50000601;ZK000601-0001-0000001".encode()]
    assert [d.kind for d in device.journal] == ["fiscal", "storno"] and device.journal[1].total == 280


@pytest.mark.parametrize(("kind", "data"), [("X", b"X"), ("Z", b"Z")])
def test_daily_reports_read_the_day_then_print(kind: str, data: bytes, port: EmulatedPort, tmp_path: Path) -> None:
    driver = driver_on(port, tmp_path, first_nbl=0x21)
    driver.print_receipt(sale("job-1"))
    mark = len(port.written)
    report = driver.z_report() if kind == "Z" else driver.x_report()
    driver.close()

    sent = [(w[3], w[4:-3]) for w in port.written[mark:]]
    expected = [(0x6D, b"")] + ([(0x73, b"")] if kind == "Z" else []) + [(0x7C, data)] + ([(0x73, b"")] if kind == "Z" else [])
    assert sent == expected  # p.59 6Dh, p.76 73h, p.80 7Ch 'X'/'Z'
    assert report.amount_cents == 980 and report.number == (1 if kind == "Z" else None)


def test_cash_in_out_and_non_fiscal_text(port: EmulatedPort, tmp_path: Path) -> None:
    driver = driver_on(port, tmp_path, first_nbl=0x21)
    driver.cash_in(1500)
    driver.cash_out(500)
    driver.non_fiscal_receipt(["Shift note"])
    driver.close()

    sent = [(w[3], w[4:-3]) for w in port.written]
    assert (0x3B, b"1;0000;0;15.00") in sent and (0x3B, b"1;0000;0;-5.00") in sent  # p.55: minus for paid out
    assert sent[-4:] == [(0x2E, b"1;0000;0;0"), (0x37, b"Shift note"), (0x2F, b""), (0x71, b"")]  # p.38, p.54


def test_the_emulator_refuses_frames_the_driver_would_never_send(device: TremolDevice) -> None:
    answers = {data: device.answer(HostFrame(0x21, 0x30, data))[0] for data in (b"1;9999;1;1;0", b"1;0000;1;1;0$BAD")}
    assert answers[b"1;9999;1;1;0"] == ack(0x21, b"92")  # p.7: 39 incorrect password
    assert answers[b"1;0000;1;1;0$BAD"] == ack(0x21, b"04")  # p.39: the UNP's NRA format; else 34 syntax error


def _sent(port: EmulatedPort, mark: int = 0) -> list[tuple[int, bytes]]:
    return [(w[3], w[4:-3]) for w in port.written[mark:]]


def test_an_open_receipt_refuses_the_open_and_is_cancelled_first(port: EmulatedPort, tmp_path: Path, device: TremolDevice) -> None:
    with device.lock:
        device.open_receipt("1;0000;1;1;0")
        device.sell("Stray;Б;1.00")
    driver = driver_on(port, tmp_path, first_nbl=0x21)
    driver.print_receipt(sale("job-1"))
    driver.close()

    sent = _sent(port)
    assert port.written[3] == frame(0x24, 0x30, b"1;0000;1;1;0$ZK000601-0001-0000001")
    assert sent[4:9] == [
        (0x20, b""),  # p.7: refused 4 (opened fiscal receipt): the status (p.10) says a fiscal receipt is open
        (0x72, b""),  # p.72: not paid
        (0x39, b""),  # p.55: cancel
        (0x71, b""),  # p.72: the number before, again
        (0x30, b"1;0000;1;1;0$ZK000601-0001-0000002"),  # a new plan, a new unique number
    ]


def test_a_reconcile_reads_the_receipt_after_the_planned_number(port: EmulatedPort, tmp_path: Path, device: TremolDevice) -> None:
    port.cut_at, port.before = 10, False  # 38h runs, its answer is lost, the line dies
    driver = driver_on(port, tmp_path, first_nbl=0x21)
    with pytest.raises(DeviceError):
        driver.print_receipt(sale("job-1"))
    driver.close()

    fresh = EmulatedPort(device)
    again = driver_on(fresh, tmp_path, first_nbl=0x40)
    record = again.find_receipt("job-1")
    again.close()
    # p.10 status (nothing open), p.72 last number, p.74 72h 'b' of the receipt after the planned number.
    assert _sent(fresh) == [(0x60, b""), (0x20, b""), (0x71, b""), (0x72, b"b;000001")]
    assert record is not None and record.fiscal_number == "000001"


def test_a_receipt_left_part_paid_is_paid_as_planned(port: EmulatedPort, tmp_path: Path, device: TremolDevice) -> None:
    port.cut_at, port.before = 10, True  # the second 35h never arrives
    driver = driver_on(port, tmp_path, first_nbl=0x21)
    with pytest.raises(DeviceError):
        driver.print_receipt(sale("job-1", payments=[card(480), cash(500)]))
    driver.close()

    fresh = EmulatedPort(device)
    again = driver_on(fresh, tmp_path, first_nbl=0x40)
    assert again.find_receipt("job-1") is not None
    again.close()
    # p.72 the receipt (payment begun, not finalized), p.73 72h 'P' what is paid, the planned 35h, 38h, then the proof.
    assert _sent(fresh) == [(0x60, b""), (0x20, b""), (0x72, b""), (0x72, b"P"), (0x35, b"0;0;5.00"), (0x38, b""),
                            (0x71, b""), (0x72, b"b;000001")]
    answers = TremolEndpoint(device)
    out: list[bytes] = []
    answers.receive(frame(0x50, 0x72, b"P"), out.append)  # p.73: valid after the receipt is closed too: the last one's
    assert out == [frame(0x50, 0x72, b"P;0;5.00;0.00;0.00;0.00;0.00;0.00;0.00;4.80;0.00;0.00;0.00;0.00")]
