"""Bytes on the wire as a PT reads and writes them (spec §1; Portalum ApduHelper.cs, BmpParser.cs)."""

from __future__ import annotations

from typing import NamedTuple


class Message(NamedTuple):
    ccrc: int
    aprc: int
    body: bytes


def frame(ccrc: int, aprc: int, body: bytes = b"") -> bytes:
    """Control field, length (``FF lo hi`` from 255 bytes on), data."""
    n = len(body)
    return bytes((ccrc, aprc)) + (bytes((n,)) if n < 255 else b"\xff" + n.to_bytes(2, "little")) + body


ACK = frame(0x80, 0x00)


def nak(code: int) -> bytes:
    return bytes((0x84, code, 0x00))


def cut(stream: bytearray) -> Message | None:
    """Remove and return the first whole APDU of ``stream``; None while it is still arriving."""
    if len(stream) < 3:
        return None
    head, n = 3, stream[2]
    if n == 0xFF:
        if len(stream) < 5:
            return None
        head, n = 5, stream[3] | stream[4] << 8
    if len(stream) < head + n:
        return None
    message = Message(stream[0], stream[1], bytes(stream[head : head + n]))
    del stream[: head + n]
    return message


def to_bcd(number: int, width: int) -> bytes:
    text = str(number).rjust(width * 2, "0")
    return bytes(int(text[i]) << 4 | int(text[i + 1]) for i in range(0, len(text), 2))


def from_bcd(raw: bytes) -> int | None:
    """None for anything but decimal nibbles."""
    value = 0
    for byte in raw:
        hi, lo = byte >> 4, byte & 0xF
        if hi > 9 or lo > 9:
            return None
        value = value * 100 + hi * 10 + lo
    return value


def lll(body: bytes) -> bytes:
    """An LLLVAR value: three ``Fx`` length digits, then the bytes (BMP 3C, 60)."""
    digits = f"{len(body):03d}"
    return bytes(0xF0 | int(d) for d in digits) + body


# The fixed lengths of the BMPs an ECR sends in the commands this PT knows (spec ch. "Bitmaps").
REQUEST_BMP_LENGTHS = {0x01: 1, 0x02: 1, 0x03: 1, 0x04: 6, 0x05: 1, 0x19: 1, 0x49: 2, 0x87: 2, 0x8A: 1, 0x0B: 3, 0x37: 3}


def request_bmps(body: bytes) -> dict[int, bytes] | None:
    """The BMPs of a request, or None if one is unknown or cut short."""
    out: dict[int, bytes] = {}
    i = 0
    while i < len(body):
        size = REQUEST_BMP_LENGTHS.get(body[i])
        if size is None or i + 1 + size > len(body):
            return None
        out[body[i]] = body[i + 1 : i + 1 + size]
        i += 1 + size
    return out
