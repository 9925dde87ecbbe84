"""ZFP bytes as the device sees them (Tremol doc pp.6-8): the host's frames in, acknowledgements and messages out.

A host frame is STX LEN NBL CMD DATA CS CS ETX (p.6); one the device cannot read is answered with NAK 15h (p.8).
The single bytes 04h and 09h ask whether the device is on and ready (p.8).
"""

from __future__ import annotations

from dataclasses import dataclass

STX, ETX, ACK, NAK, RETRY = 0x02, 0x0A, 0x06, 0x15, 0x0E
PING_ON, PING_READY = 0x04, 0x09  # p.8


def checksum(body: bytes) -> bytes:
    """p.6-7: XOR of the bytes, each nibble plus 30h."""
    value = 0
    for byte in body:
        value ^= byte
    return bytes((0x30 + (value >> 4), 0x30 + (value & 0x0F)))


def acknowledgement(nbl: int, device_error: str = "0", command_error: str = "0") -> bytes:
    """p.7: ACK NBL STE STE CS CS ETX; CS over NBL and the two status digits."""
    body = bytes((nbl, ord(device_error), ord(command_error)))
    return bytes((ACK,)) + body + checksum(body) + bytes((ETX,))


def message(nbl: int, cmd: int, data: bytes) -> bytes:
    """p.8: an answer with data has the host's packed format."""
    body = bytes((0x20 + 3 + len(data), nbl, cmd)) + data
    return bytes((STX,)) + body + checksum(body) + bytes((ETX,))


@dataclass(frozen=True)
class HostFrame:
    nbl: int
    cmd: int
    data: bytes


@dataclass(frozen=True)
class BadFrame:
    reason: str


@dataclass(frozen=True)
class Ping:
    byte: int


class FrameReader:
    """Cuts the host's byte stream into frames; noise before an STX is dropped."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[HostFrame | BadFrame | Ping]:
        self._buffer += chunk
        out: list[HostFrame | BadFrame | Ping] = []
        while self._buffer:
            first = self._buffer[0]
            if first in (PING_ON, PING_READY):
                out.append(Ping(first))
                del self._buffer[0]
                continue
            if first != STX:
                start = self._buffer.find(STX)
                del self._buffer[: start if start >= 0 else len(self._buffer)]
                continue
            if len(self._buffer) < 2:
                break
            length = self._buffer[1]
            if not 0x23 <= length <= 0x9F:  # p.6: LEN 20h-9Fh, and at least LEN, NBL, CMD
                out.append(BadFrame(f"length byte {length:02X}h"))
                del self._buffer[0]
                continue
            size = length - 0x20 + 4
            if len(self._buffer) < size:
                break
            raw = bytes(self._buffer[:size])
            del self._buffer[:size]
            body = raw[1:-3]
            if raw[-1] != ETX:
                out.append(BadFrame("no ETX where LEN ends the frame"))
            elif checksum(body) != raw[-3:-1]:
                out.append(BadFrame("bad checksum"))
            elif not (0x20 <= body[1] <= 0x9F and 0x20 <= body[2] <= 0x7F):
                out.append(BadFrame("message number or command out of range"))
            else:
                out.append(HostFrame(body[1], body[2], body[3:]))
        return out
