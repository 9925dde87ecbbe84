"""ZVT APDUs: ``CCRC APRC LEN data``; over TCP they travel bare, without the serial DLE/STX/CRC frame.

Spec §1 / transport document PA00P016 (TCP/IP): an APDU is the control field (class, instruction), a
length byte and the data; a length byte ``FF`` is followed by the real length in two bytes, low byte
first (Portalum Helpers/ApduHelper.cs: ExtendedLengthFieldIndicator). Acknowledgements are APDUs too:
``80 00 00`` positive, ``84 xx 00`` negative with error code ``xx`` (spec ch. "Positive/Negative
Acknowledgement"; Portalum ZvtClientTest).
"""

from __future__ import annotations

from dataclasses import dataclass

EXTENDED_LENGTH = 0xFF
MAX_DATA = 0xFFFF


@dataclass(frozen=True)
class Apdu:
    cls: int
    instr: int
    data: bytes = b""

    @property
    def command(self) -> tuple[int, int]:
        return (self.cls, self.instr)

    def encode(self) -> bytes:
        size = len(self.data)
        if size > MAX_DATA:
            raise ValueError(f"APDU data of {size} bytes exceeds {MAX_DATA}")
        length = bytes([size]) if size < EXTENDED_LENGTH else bytes([EXTENDED_LENGTH]) + size.to_bytes(2, "little")
        return bytes([self.cls, self.instr]) + length + self.data

    def __str__(self) -> str:
        return f"{self.cls:02X} {self.instr:02X} ({len(self.data)} bytes)"


ACK = Apdu(0x80, 0x00)


def is_ack(apdu: Apdu) -> bool:
    return apdu.command == (0x80, 0x00) and not apdu.data


def nak_code(apdu: Apdu) -> int | None:
    """The error code of a negative acknowledgement ``84 xx``, else None."""
    return apdu.instr if apdu.cls == 0x84 else None


def take(buffer: bytes | bytearray) -> tuple[Apdu, int] | None:
    """The first complete APDU in ``buffer`` and the bytes it used, or None while it is incomplete."""
    if len(buffer) < 3:
        return None
    size, start = buffer[2], 3
    if size == EXTENDED_LENGTH:
        if len(buffer) < 5:
            return None
        size, start = int.from_bytes(buffer[3:5], "little"), 5
    if len(buffer) < start + size:
        return None
    return Apdu(buffer[0], buffer[1], bytes(buffer[start : start + size])), start + size
