"""The ISL framing byte for byte: golden frames for every command the driver sends, answers, the stream reader.
Answers are built with the test suite's own encoder (isl_fake, from C doc p.5), never the driver's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from isl_fake import answer_frame

from edge.drivers.isl.commands import Command, FieldError, format_clock, parse_clock
from edge.drivers.isl.frame import (
    NAK,
    SYN,
    ChecksumMismatch,
    FrameError,
    FrameReader,
    MalformedFrame,
    Signal,
    bcc,
    decode_response,
    encode_request,
    next_seq,
)

# (seq, command, data) -> the frame on the wire. Two were checked by hand: 24+20+4A+05 = 0093h, 24+26+38+05 = 0087h.
GOLDEN = [
    (0x20, Command.STATUS, b"", "01 24 20 4a 05 30 30 39 33 03"),
    (0x21, Command.OPEN_FISCAL_RECEIPT, b"1,0000,1,DT000600-0001-0000001",
     "01 42 21 30 31 2c 30 30 30 30 2c 31 2c 44 54 30 30 30 36 30 30 2d 30 30 30 31 2d 30 30 30 30 30 30 31 05 30 36 36 38 03"),
    (0x22, Command.SALE, b"Coffee\tA3.50*3", "01 32 22 31 43 6f 66 66 65 65 09 41 33 2e 35 30 2a 33 05 30 34 33 3f 03"),
    (0x23, Command.SUBTOTAL, b"00", "01 26 23 33 30 30 05 30 30 3e 31 03"),
    (0x24, Command.TOTAL, b"\tP13.30", "01 2b 24 35 09 50 31 33 2e 33 30 05 30 31 3d 37 03"),
    (0x25, Command.FISCAL_TEXT, b"SALE ID job-1", "01 31 25 36 53 41 4c 45 20 49 44 20 6a 6f 62 2d 31 05 30 34 31 3c 03"),
    (0x26, Command.CLOSE_FISCAL_RECEIPT, b"", "01 24 26 38 05 30 30 38 37 03"),
    (0x27, Command.CANCEL_FISCAL_RECEIPT, b"", "01 24 27 3c 05 30 30 38 3c 03"),
    (0x28, Command.OPEN_SERVICE_RECEIPT, b"", "01 24 28 26 05 30 30 37 37 03"),
    (0x29, Command.SERVICE_TEXT, b"hello", "01 29 29 2a 68 65 6c 6c 6f 05 30 32 39 35 03"),
    (0x2A, Command.CLOSE_SERVICE_RECEIPT, b"", "01 24 2a 27 05 30 30 37 3a 03"),
    (0x2B, Command.DAILY_REPORT, b"2", "01 25 2b 45 32 05 30 30 3c 3c 03"),
    (0x2C, Command.DAILY_REPORT, b"0", "01 25 2c 45 30 05 30 30 3c 3b 03"),
    (0x2D, Command.CASH_IN_OUT, b"10.00", "01 29 2d 46 31 30 2e 30 30 05 30 31 39 30 03"),
    (0x2E, Command.CASH_IN_OUT, b"-2.50", "01 29 2e 46 2d 32 2e 35 30 05 30 31 39 34 03"),
    (0x2F, Command.LAST_DOCUMENT_NUMBER, b"", "01 24 2f 71 05 30 30 3c 39 03"),
    (0x30, Command.READ_CLOCK, b"", "01 24 30 3e 05 30 30 39 37 03"),
    (0x31, Command.SET_CLOCK, b"24-11-26 10:00:00", "01 35 31 3d 32 34 2d 31 31 2d 32 36 20 31 30 3a 30 30 3a 30 30 05 30 33 3e 37 03"),
    (0x32, Command.TRANSACTION_STATUS, b"T", "01 25 32 4c 54 05 30 30 3f 3c 03"),
    (0x33, Command.DIAGNOSTIC_INFO, b"1", "01 25 33 5a 31 05 30 30 3e 38 03"),
    (0x34, Command.TAX_RATES, b"", "01 24 34 61 05 30 30 3b 3e 03"),
    (0x35, Command.DAISY_CANCEL_FISCAL_RECEIPT, b"", "01 24 35 82 05 30 30 3e 30 03"),
    (0x7F, Command.STATUS, b"", "01 24 7f 4a 05 30 30 3f 32 03"),
]


@pytest.mark.parametrize(("seq", "cmd", "data", "wire"), GOLDEN, ids=[f"{c.name}-{s:02x}" for s, c, _, _ in GOLDEN])
def test_golden_request_frames(seq: int, cmd: Command, data: bytes, wire: str) -> None:
    frame = encode_request(seq, cmd, data)
    assert frame.hex(" ") == wire


def test_golden_answer_frame() -> None:
    frame = bytes.fromhex("01 2b 20 4a 04 80 80 80 80 80 88 05 30 33 3a 36 03")
    assert answer_frame(0x20, Command.STATUS, b"", bytes.fromhex("80 80 80 80 80 88")) == frame
    answer = decode_response(frame)
    assert (answer.seq, answer.cmd, answer.data, answer.status) == (0x20, Command.STATUS, b"", bytes.fromhex("80 80 80 80 80 88"))


IDLE = bytes([0x80] * 6)
FISCAL_MODE = bytes.fromhex("80 80 80 80 80 88")  # 5.3: fiscal mode (C doc p.3)


def test_bcc_sends_each_nibble_plus_30h() -> None:
    assert bcc(bytes([0x1A, 0xC9])) == bytes([0x30, 0x30, 0x3E, 0x33])  # 00E3h
    assert bcc(bytes([0xFF] * 0x1B)) == bytes([0x31, 0x3A, 0x3E, 0x35])  # 1AE5h


def test_sequence_wraps_from_7f_to_20() -> None:
    assert next_seq(0x7E) == 0x7F and next_seq(0x7F) == 0x20


@pytest.mark.parametrize(
    ("mangle", "error"),
    [
        (lambda f: f[:-2] + bytes([f[-2] ^ 0x01]) + f[-1:], ChecksumMismatch),
        (lambda f: f[:-1] + b"\x04", MalformedFrame),
        (lambda f: f[:5] + b"\x00" + f[6:], FrameError),
        (lambda f: f[:-3], MalformedFrame),
        (lambda f: b"\x02" + f[1:], MalformedFrame),
    ],
    ids=["checksum", "terminator", "control-byte", "truncated", "preamble"],
)
def test_hostile_answers_are_typed_frame_errors(mangle: object, error: type[Exception]) -> None:
    frame = answer_frame(0x21, Command.LAST_DOCUMENT_NUMBER, b"0000007", IDLE)
    with pytest.raises(error):
        decode_response(mangle(frame))  # type: ignore[operator]


def test_status_bytes_below_80h_are_refused() -> None:
    frame = bytearray(answer_frame(0x21, Command.STATUS, b"", IDLE))
    frame[5] = 0x10
    with pytest.raises((MalformedFrame, ChecksumMismatch)):
        decode_response(bytes(frame))


def test_reader_splits_signals_garbage_and_frames_across_chunks() -> None:
    frame = answer_frame(0x22, Command.READ_CLOCK, b"24-11-26 10:00:00", IDLE)
    reader = FrameReader()
    events = reader.feed(b"\xfeNOISE" + bytes([SYN, NAK]) + frame[:7])
    assert events == [Signal.SYN, Signal.NAK] and reader.in_frame and reader.garbage == 6
    assert reader.feed(frame[7:]) == [frame]
    assert not reader.in_frame


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64], ids=lambda n: f"chunks-of-{n}")
def test_reader_reassembles_frames_split_across_any_number_of_reads(size: int) -> None:
    first = answer_frame(0x22, Command.READ_CLOCK, b"24-11-26 10:00:00", IDLE)
    second = answer_frame(0x23, Command.LAST_DOCUMENT_NUMBER, b"0000007", FISCAL_MODE)
    stream = bytes([SYN]) + first + b"\xfe" + bytes([NAK]) + second + first[:4]
    reader = FrameReader()
    events = [event for start in range(0, len(stream), size) for event in reader.feed(stream[start : start + size])]
    assert events == [Signal.SYN, first, Signal.NAK, second]
    assert reader.garbage == 1 and reader.in_frame


def test_reader_drops_a_preamble_whose_length_byte_is_too_small() -> None:
    frame = answer_frame(0x22, Command.STATUS, b"", IDLE)
    reader = FrameReader()
    assert reader.feed(b"\x01") == [] and reader.in_frame
    assert reader.feed(b"\x10" + frame) == [frame]
    assert reader.garbage == 2 and not reader.in_frame


def test_limits_are_enforced_when_encoding() -> None:
    with pytest.raises(MalformedFrame):
        encode_request(0x1F, Command.STATUS)
    with pytest.raises(MalformedFrame):
        encode_request(0x20, Command.SALE, b"x" * 214)
    with pytest.raises(MalformedFrame):
        encode_request(0x20, Command.SALE, b"a\x03b")


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("24-11-26 10:00:05", datetime(2026, 11, 24, 10, 0, 5, tzinfo=UTC)),
        (" 29-02-28 23:59:59 ", datetime(2028, 2, 29, 23, 59, 59, tzinfo=UTC)),
        ("01-01-99 00:00:00", datetime(1999, 1, 1, tzinfo=UTC)),
    ],
)
def test_the_printer_clock_is_read_as_utc(text: str, moment: datetime) -> None:
    assert parse_clock(text) == moment
    assert parse_clock(format_clock(moment)) == moment


@pytest.mark.parametrize("text", ["31-02-26 10:00:00", "24-11-26 24:00:00", "24-11-2026 10:00:00", "24/11/26 10:00:00", "1-1-26 1:02:03", ""])
def test_a_clock_answer_that_is_not_a_date_is_a_field_error(text: str) -> None:
    with pytest.raises(FieldError):
        parse_clock(text)
