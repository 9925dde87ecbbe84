"""The ISL frame as the device sees it: host frames in, answer frames out.

Host to device: ``01 LEN SEQ CMD DATA 05 BCC 03``; device to host:
``01 LEN SEQ CMD DATA 04 STATUS 05 BCC 03`` (C doc p.5, P doc p.7-8, Daisy doc p.3-4).
LEN counts the bytes after 01 up to and including 05, plus 20h; BCC is the 16-bit sum of
those same bytes, sent as four nibbles each plus 30h. A frame the device cannot read is
answered with NAK; SYN is sent while a long command runs (C doc p.4, Daisy doc p.3).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

STX = 0x01
SEPARATOR = 0x04
POSTAMBLE = 0x05
ETX = 0x03
NAK = 0x15
SYN = 0x16
OFFSET = 0x20
# After this long without a byte a half-received frame is dropped: the host's own
# answer timeout is 500 ms (C doc p.4), after which it sends the whole frame again.
STALE_SECONDS = 0.5


@dataclass(frozen=True)
class HostFrame:
    """A well-formed request."""

    seq: int
    cmd: int
    data: bytes


@dataclass(frozen=True)
class BadFrame:
    """Bytes that started like a frame but are not one (wrong BCC, length or terminator)."""

    raw: bytes


def checksum(body: bytes) -> bytes:
    """BCC over ``body`` (LEN .. 05 inclusive): four nibbles, each plus 30h (C doc p.5)."""
    total = sum(body) & 0xFFFF
    return bytes(0x30 + ((total >> shift) & 0x0F) for shift in (12, 8, 4, 0))


def encode_answer(seq: int, cmd: int, data: bytes, status: bytes) -> bytes:
    """The device's packed answer (C doc p.5; Daisy doc p.4 gives the same layout)."""
    length = 1 + 1 + 1 + len(data) + 1 + len(status) + 1 + OFFSET
    body = bytes([length, seq, cmd]) + data + bytes([SEPARATOR]) + status + bytes([POSTAMBLE])
    return bytes([STX]) + body + checksum(body) + bytes([ETX])


def _data_is_valid(data: bytes) -> bool:
    # DATA: 20h-FFh and additionally 09h and 0Ah (C doc p.5, P doc p.7).
    return all(b >= 0x20 or b in (0x09, 0x0A) for b in data)


class FrameReader:
    """Cuts host frames out of a byte stream; bytes outside a frame are skipped."""

    def __init__(self, max_data: int, seq_range: range) -> None:
        self._buffer = bytearray()
        self._max_data = max_data
        self._seq_range = seq_range
        self._last_byte_at = 0.0

    def feed(self, chunk: bytes) -> list[HostFrame | BadFrame]:
        now = time.monotonic()
        if self._buffer and now - self._last_byte_at > STALE_SECONDS:
            self._buffer.clear()
        self._last_byte_at = now
        self._buffer += chunk
        events: list[HostFrame | BadFrame] = []
        while True:
            start = self._buffer.find(STX)
            if start < 0:
                self._buffer.clear()
                return events
            del self._buffer[:start]
            if len(self._buffer) < 2:
                return events
            length = self._buffer[1] - OFFSET
            if length < 4 or length - 4 > self._max_data:
                events.append(BadFrame(bytes(self._buffer[:2])))
                del self._buffer[:2]
                continue
            total = 1 + length + 4 + 1
            if len(self._buffer) < total:
                return events
            raw = bytes(self._buffer[:total])
            del self._buffer[:total]
            events.append(self._decode(raw, length))

    def _decode(self, raw: bytes, length: int) -> HostFrame | BadFrame:
        body = raw[1 : 1 + length]
        seq, cmd, data = body[1], body[2], body[3:-1]
        if (
            body[-1] != POSTAMBLE
            or raw[-1] != ETX
            or raw[1 + length : -1] != checksum(body)
            or seq not in self._seq_range
            or cmd < OFFSET
            or not _data_is_valid(data)
        ):
            return BadFrame(raw)
        return HostFrame(seq, cmd, data)
