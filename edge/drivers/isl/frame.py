"""The framing shared by Datecs and Daisy fiscal printers ("ISL" protocol), as the host speaks it.

Host to printer::

    01 LEN SEQ CMD DATA 05 BCC(4) 03

Printer to host::

    01 LEN SEQ CMD DATA 04 STATUS(6) 05 BCC(4) 03

``LEN`` is the number of bytes from LEN to the 05 postamble, inclusive, plus 20h. ``SEQ``
runs 20h..7Fh and is echoed in the answer. ``BCC`` is the 16-bit sum of the bytes from LEN to
05 inclusive, one nibble per byte, each plus 30h. Between frames the printer may send the
single bytes NAK (15h: "resend with the same SEQ") and SYN (16h: "still working, wait").

Learnt from the Datecs FP-550/FP-800 programming interface (v1.00BG) and the ErpNet.FP
drivers; written from scratch.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple, Protocol

PREAMBLE = 0x01
TERMINATOR = 0x03
SEPARATOR = 0x04
POSTAMBLE = 0x05
NAK = 0x15
SYN = 0x16
OFFSET = 0x20
SEQ_FIRST = 0x20
SEQ_LAST = 0x7F
STATUS_LENGTH = 6
MAX_HOST_DATA = 213  # C doc p.5
MAX_DEVICE_DATA = 218
BCC_LENGTH = 4


class FrameError(Exception):
    """Bytes that should have been a frame are not a valid one."""


class ChecksumMismatch(FrameError):
    """The frame's BCC does not match its contents."""


class MalformedFrame(FrameError):
    """The frame's markers, length, sequence or status bytes are out of the protocol's ranges."""


# A nibble plus 30h is its hex digit, but 0Ah..0Fh become ":;<=>?" rather than "abcdef".
_HEX_TO_BCC = bytes.maketrans(b"abcdef", b":;<=>?")


def bcc(fragment: bytes) -> bytes:
    """The four checksum bytes of ``fragment`` (LEN through 05)."""
    return (b"%04x" % (sum(fragment) & 0xFFFF)).translate(_HEX_TO_BCC)


def next_seq(seq: int) -> int:
    """The sequence number after ``seq``, wrapping from 7Fh back to 20h."""
    return SEQ_FIRST if seq >= SEQ_LAST else seq + 1


_CONTROL_BYTE = re.compile(rb"[\x00-\x08\x0b-\x1f]")


def _check_data(data: bytes, limit: int) -> None:
    if len(data) > limit:
        raise MalformedFrame(f"data of {len(data)} bytes exceeds the {limit}-byte limit")
    if _CONTROL_BYTE.search(data):
        bad = sorted(set(_CONTROL_BYTE.findall(data)))
        raise MalformedFrame(f"data holds control byte(s) {', '.join(f'{b[0]:02X}h' for b in bad)}")


def _check_header(seq: int, cmd: int) -> None:
    if not SEQ_FIRST <= seq <= SEQ_LAST:
        raise MalformedFrame(f"sequence {seq:02X}h is outside 20h..7Fh")
    if not 0x20 <= cmd <= 0xFF:
        raise MalformedFrame(f"command {cmd:02X}h is outside 20h..FFh")


def encode_request(seq: int, cmd: int, data: bytes = b"") -> bytes:
    """A host-to-printer frame."""
    _check_header(seq, cmd)
    _check_data(data, MAX_HOST_DATA)
    body = b"%c%c%c%b\x05" % (OFFSET + 4 + len(data), seq, cmd, data)
    return b"\x01%b%b\x03" % (body, bcc(body))


def _check_status(status: bytes) -> None:
    if len(status) != STATUS_LENGTH or min(status) < 0x80:
        raise MalformedFrame(f"status must be {STATUS_LENGTH} bytes of 80h..FFh, got {status.hex(' ')}")


def frame_length(len_byte: int) -> int:
    """Total bytes of a frame, preamble to terminator, given its LEN byte."""
    return 1 + (len_byte - OFFSET) + BCC_LENGTH + 1


def _unwrap(frame: bytes, minimum_inner: int) -> bytes:
    """Check preamble, length, BCC and terminator; return LEN..05 inclusive."""
    if len(frame) < 2 or frame[0] != PREAMBLE:
        raise MalformedFrame("frame does not start with the 01h preamble")
    if frame[1] < OFFSET + minimum_inner or len(frame) != frame_length(frame[1]):
        raise MalformedFrame(f"length byte {frame[1]:02X}h does not match a frame of {len(frame)} bytes")
    if frame[-1] != TERMINATOR:
        raise MalformedFrame("frame does not end with the 03h terminator")
    body = frame[1 : -1 - BCC_LENGTH]
    if body[-1] != POSTAMBLE:
        raise MalformedFrame("no 05h postamble before the checksum")
    if frame[-1 - BCC_LENGTH : -1] != bcc(body):
        raise ChecksumMismatch(f"checksum {frame[-5:-1].hex()} does not match {bcc(body).hex()}")
    return body


class Response(NamedTuple):
    """One per exchange: a named tuple is immutable too and several times cheaper to build than a frozen dataclass."""

    seq: int
    cmd: int
    data: bytes
    status: bytes


def decode_response(frame: bytes) -> Response:
    body = _unwrap(frame, 4 + 1 + STATUS_LENGTH)
    seq, cmd = body[1], body[2]
    if body[-1 - STATUS_LENGTH - 1] != SEPARATOR:
        raise MalformedFrame("no 04h separator before the status bytes")
    data, status = body[3 : -2 - STATUS_LENGTH], body[-1 - STATUS_LENGTH : -1]
    _check_header(seq, cmd)
    _check_data(data, MAX_DEVICE_DATA)
    _check_status(status)
    return Response(seq, cmd, data, status)


class Signal(str, Enum):
    NAK = "nak"
    SYN = "syn"


class FrameReader:
    """Splits a byte stream into whole frames and NAK/SYN signals.

    Bytes outside a frame that are neither signal nor preamble are counted as garbage and
    dropped. A frame is complete when as many bytes as its LEN announces have arrived; it is
    returned raw, to be decoded (and possibly refused) by the caller.
    """

    def __init__(self) -> None:
        self._partial = bytearray()
        self.garbage = 0

    @property
    def in_frame(self) -> bool:
        """True while part of a frame has arrived and the rest has not."""
        return bool(self._partial)

    def feed(self, chunk: bytes) -> list[bytes | Signal]:
        """A frame that arrives whole is one slice; one in pieces is taken a slice at a time once its LEN byte is in."""
        events: list[bytes | Signal] = []
        partial = self._partial
        pos, end = 0, len(chunk)
        while pos < end:
            if not partial and chunk[pos] == PREAMBLE and end - pos > 1 and chunk[pos + 1] >= OFFSET + 4:
                size = frame_length(chunk[pos + 1])
                if end - pos >= size:
                    events.append(chunk[pos : pos + size])
                    pos += size
                    continue
            if partial:
                if len(partial) == 1:
                    if chunk[pos] < OFFSET + 4:
                        self.garbage += 2
                        partial.clear()
                        pos += 1
                        continue
                    partial.append(chunk[pos])
                    pos += 1
                piece = chunk[pos : pos + frame_length(partial[1]) - len(partial)]
                partial += piece
                pos += len(piece)
                if len(partial) == frame_length(partial[1]):
                    events.append(bytes(partial))
                    partial.clear()
                continue
            byte = chunk[pos]
            pos += 1
            if byte == PREAMBLE:
                partial.append(byte)
            elif byte == NAK:
                events.append(Signal.NAK)
            elif byte == SYN:
                events.append(Signal.SYN)
            else:
                self.garbage += 1
        return events

    def reset(self) -> None:
        self._partial.clear()


def is_whole(chunk: bytes) -> bool:
    """Whether ``chunk`` is exactly one frame by its LEN byte (the usual read: the whole answer at once)."""
    return len(chunk) > 1 and chunk[0] == PREAMBLE and len(chunk) == frame_length(chunk[1])


class StreamReader(Protocol):
    garbage: int

    @property
    def in_frame(self) -> bool: ...

    def feed(self, chunk: bytes) -> list[bytes | Signal]: ...


@dataclass(frozen=True)
class Framing:
    """What the link needs of a family's frame format: ISL here, Datecs X in ``frame_x``."""

    seq_first: int
    seq_last: int
    encode_request: Callable[[int, int, bytes], bytes]
    decode_response: Callable[[bytes], Response]
    is_whole: Callable[[bytes], bool]
    reader: Callable[[], StreamReader]

    def next_seq(self, seq: int) -> int:
        return self.seq_first if seq >= self.seq_last else seq + 1


ISL_FRAMING = Framing(SEQ_FIRST, SEQ_LAST, encode_request, decode_response, is_whole, FrameReader)
