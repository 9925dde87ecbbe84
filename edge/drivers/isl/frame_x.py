"""The Datecs X frame (X doc = bg.isl.dt.x.protocol-v2.02-en, pp.3-4), as the host speaks it.

Host to printer::

    01 LEN(4) SEQ CMD(4) DATA 05 BCC(4) 03

Printer to host::

    01 LEN(4) SEQ CMD(4) DATA 04 STATUS(8) 05 BCC(4) 03

The ISL frame's shape (``frame.py``) with wider fields: ``LEN`` and ``CMD`` are four bytes, one
hex nibble each plus 30h ("the sum 1AE3H is presented as 31H, 3AH, 3EH, 33H", p.4), as is ``BCC``;
``LEN`` counts the bytes after 01 up to and including 05, plus 20h; ``SEQ`` runs 20h..FFh; the
status is eight bytes of 80h..FFh. NAK (15h) asks for the same frame again, SYN (16h) says "still
working" (p.3). Parameters are separated by TAB (p.5); that is the commands' business, not the frame's.
"""

from __future__ import annotations

from edge.drivers.isl.frame import (
    NAK,
    OFFSET,
    POSTAMBLE,
    PREAMBLE,
    SEPARATOR,
    SYN,
    TERMINATOR,
    ChecksumMismatch,
    Framing,
    MalformedFrame,
    Response,
    Signal,
    bcc,
)

SEQ_FIRST = 0x20
SEQ_LAST = 0xFF  # X doc p.4: 20h-FFh
STATUS_LENGTH = 8  # X doc p.4
MAX_HOST_DATA = 213  # X doc p.4
MAX_DEVICE_DATA = 218
WORD = 4  # LEN and CMD: four nibbles each
BCC_LENGTH = 4
_HEADER = 1 + WORD + 1 + WORD  # 01 LEN SEQ CMD
_SHORTEST = _HEADER + 1 + BCC_LENGTH + 1  # a frame without data: ... 05 BCC 03


def word(value: int) -> bytes:
    """A 16-bit value as four bytes, one nibble each plus 30h (X doc p.4): 1AE3h -> 31 3A 3E 33."""
    return bytes(0x30 + ((value >> shift) & 0x0F) for shift in (12, 8, 4, 0))


def read_word(raw: bytes) -> int:
    """The value of four nibble bytes; MalformedFrame if one is outside 30h..3Fh."""
    if len(raw) != WORD or any(not 0x30 <= b <= 0x3F for b in raw):
        raise MalformedFrame(f"{raw.hex(' ')} is not four nibble bytes 30h..3Fh")
    return ((raw[0] - 0x30) << 12) | ((raw[1] - 0x30) << 8) | ((raw[2] - 0x30) << 4) | (raw[3] - 0x30)


def next_seq(seq: int) -> int:
    return SEQ_FIRST if seq >= SEQ_LAST else seq + 1


def _check_data(data: bytes, limit: int) -> None:
    if len(data) > limit:
        raise MalformedFrame(f"data of {len(data)} bytes exceeds the {limit}-byte limit")
    bad = sorted({b for b in data if b < 0x20 and b not in (0x09, 0x0A)})
    if bad:
        raise MalformedFrame(f"data holds control byte(s) {', '.join(f'{b:02X}h' for b in bad)}")


def encode_request(seq: int, cmd: int, data: bytes = b"") -> bytes:
    """A host-to-printer frame."""
    if not SEQ_FIRST <= seq <= SEQ_LAST:
        raise MalformedFrame(f"sequence {seq:02X}h is outside 20h..FFh")
    if not 0 <= cmd <= 0xFFFF:
        raise MalformedFrame(f"command {cmd} does not fit four nibbles")
    _check_data(data, MAX_HOST_DATA)
    body = word(OFFSET + WORD + 1 + WORD + len(data) + 1) + bytes([seq]) + word(cmd) + data + bytes([POSTAMBLE])
    return bytes([PREAMBLE]) + body + bcc(body) + bytes([TERMINATOR])


def frame_length(head: bytes) -> int | None:
    """Total bytes of a frame, preamble to terminator, from its first five bytes; None if LEN is not nibbles."""
    try:
        return 1 + read_word(head[1 : 1 + WORD]) - OFFSET + BCC_LENGTH + 1
    except MalformedFrame:
        return None


def is_whole(chunk: bytes) -> bool:
    """Whether ``chunk`` is exactly one frame by its length field (the usual read: the whole answer at once)."""
    return len(chunk) > WORD and chunk[0] == PREAMBLE and frame_length(chunk) == len(chunk)


def decode_response(frame: bytes) -> Response:
    minimum = _HEADER + 1 + STATUS_LENGTH + 1 + BCC_LENGTH + 1
    if len(frame) < minimum or frame[0] != PREAMBLE:
        raise MalformedFrame("not a Datecs X answer frame")
    if frame_length(frame) != len(frame):
        raise MalformedFrame(f"length field does not match a frame of {len(frame)} bytes")
    if frame[-1] != TERMINATOR:
        raise MalformedFrame("frame does not end with the 03h terminator")
    body = frame[1 : -1 - BCC_LENGTH]
    if body[-1] != POSTAMBLE:
        raise MalformedFrame("no 05h postamble before the checksum")
    if frame[-1 - BCC_LENGTH : -1] != bcc(body):
        raise ChecksumMismatch(f"checksum {frame[-5:-1].hex()} does not match {bcc(body).hex()}")
    seq, cmd = body[WORD], read_word(body[WORD + 1 : 2 * WORD + 1])
    if body[-2 - STATUS_LENGTH] != SEPARATOR:
        raise MalformedFrame("no 04h separator before the status bytes")
    data, status = body[2 * WORD + 1 : -2 - STATUS_LENGTH], body[-1 - STATUS_LENGTH : -1]
    if not SEQ_FIRST <= seq <= SEQ_LAST:
        raise MalformedFrame(f"sequence {seq:02X}h is outside 20h..FFh")
    _check_data(data, MAX_DEVICE_DATA)
    if min(status) < 0x80:
        raise MalformedFrame(f"status must be {STATUS_LENGTH} bytes of 80h..FFh, got {status.hex(' ')}")
    return Response(seq, cmd, data, status)


class XFrameReader:
    """Splits a byte stream into whole X frames and NAK/SYN signals, as ``frame.FrameReader`` does for ISL."""

    def __init__(self) -> None:
        self._partial = bytearray()
        self.garbage = 0

    @property
    def in_frame(self) -> bool:
        return bool(self._partial)

    def feed(self, chunk: bytes) -> list[bytes | Signal]:
        events: list[bytes | Signal] = []
        for byte in chunk:
            partial = self._partial
            if partial:
                partial.append(byte)
                if len(partial) <= 1 + WORD:
                    too_short = len(partial) == 1 + WORD and (frame_length(partial) or 0) < _SHORTEST
                    if not 0x30 <= byte <= 0x3F or too_short:  # LEN is nibbles of a possible length: this was no frame
                        self.garbage += len(partial)
                        partial.clear()
                    continue
                if len(partial) == frame_length(partial):
                    events.append(bytes(partial))
                    partial.clear()
            elif byte == PREAMBLE:
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


X_FRAMING = Framing(SEQ_FIRST, SEQ_LAST, encode_request, decode_response, is_whole, XFrameReader)
