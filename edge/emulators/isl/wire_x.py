"""The Datecs X frame as the device sees it (X doc = bg.isl.dt.x.protocol-v2.02-en, pp.3-4).

Host to device: ``01 LEN SEQ CMD DATA 05 BCC 03``; device to host: ``01 LEN SEQ CMD DATA 04 STATUS 05 BCC 03``.
LEN, CMD and BCC are four bytes each, one hex nibble per byte plus 30h (p.4: 1AE3h is 31h 3Ah 3Eh 33h);
LEN counts the bytes after 01 up to and including 05, plus 20h; BCC sums those same bytes; SEQ is
20h-FFh; STATUS is eight bytes. A frame the device cannot read is answered with NAK (p.3).
"""

from __future__ import annotations

import time

from edge.emulators.isl.wire import (
    ETX,
    OFFSET,
    POSTAMBLE,
    SEPARATOR,
    STALE_SECONDS,
    STX,
    BadFrame,
    HostFrame,
    checksum,
)

_NIBBLES = 4


def nibbles(value: int) -> bytes:
    """X doc p.4: each of the four hex digits plus 30h."""
    return bytes(0x30 + ((value >> shift) & 0x0F) for shift in (12, 8, 4, 0))


def _value(raw: bytes) -> int | None:
    if len(raw) != _NIBBLES or any(not 0x30 <= b <= 0x3F for b in raw):
        return None
    total = 0
    for b in raw:
        total = total * 16 + (b - 0x30)
    return total


def encode_answer(seq: int, cmd: int, data: bytes, status: bytes) -> bytes:
    """The device's answer frame (X doc p.4)."""
    length = _NIBBLES + 1 + _NIBBLES + len(data) + 1 + len(status) + 1 + OFFSET
    body = nibbles(length) + bytes([seq]) + nibbles(cmd) + data + bytes([SEPARATOR]) + status + bytes([POSTAMBLE])
    return bytes([STX]) + body + checksum(body) + bytes([ETX])


class FrameReader:
    """Cuts X host frames out of a byte stream; bytes outside a frame are skipped."""

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
            if len(self._buffer) < 1 + _NIBBLES:
                return events
            announced = _value(bytes(self._buffer[1 : 1 + _NIBBLES]))
            length = -1 if announced is None else announced - OFFSET
            if length < 2 * _NIBBLES + 2 or length - 2 * _NIBBLES - 2 > self._max_data:
                events.append(BadFrame(bytes(self._buffer[:1 + _NIBBLES])))
                del self._buffer[: 1 + _NIBBLES]
                continue
            total = 1 + length + _NIBBLES + 1
            if len(self._buffer) < total:
                return events
            raw = bytes(self._buffer[:total])
            del self._buffer[:total]
            events.append(self._decode(raw, length))

    def _decode(self, raw: bytes, length: int) -> HostFrame | BadFrame:
        body = raw[1 : 1 + length]
        seq, cmd, data = body[_NIBBLES], _value(body[_NIBBLES + 1 : 2 * _NIBBLES + 1]), body[2 * _NIBBLES + 1 : -1]
        if (
            body[-1] != POSTAMBLE
            or raw[-1] != ETX
            or raw[1 + length : -1] != checksum(body)
            or seq not in self._seq_range
            or cmd is None
            or any(b < 0x20 and b not in (0x09, 0x0A) for b in data)  # X doc p.4: 20h-FFh; TAB separates (p.5)
        ):
            return BadFrame(raw)
        return HostFrame(seq, cmd, data)
