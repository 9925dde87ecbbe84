"""ZFP frames (Tremol doc pp.6-8): the host's request and the device's answers.

Request: STX LEN NBL CMD DATA CS CS ETX, LEN = 20h + bytes of LEN, NBL, CMD and DATA, NBL 20h-9Fh, CS the XOR of
LEN..DATA split into two nibbles each plus 30h, ETX 0Ah (p.6). Answers: the same packed message with the data asked
for (p.8, 1.2.2); an acknowledgement ACK NBL STE STE CS CS ETX with two ASCII status digits, CS the XOR of NBL and the
two STE (p.7); NAK 15h alone when the frame was malformed, RETRY 0Eh alone while the device is busy (p.8).
"""

from __future__ import annotations

from dataclasses import dataclass

STX, ETX, ACK, NAK, RETRY = 0x02, 0x0A, 0x06, 0x15, 0x0E
NBL_FIRST, NBL_LAST = 0x20, 0x9F  # p.6: the message number, 20h-9Fh
MAX_DATA = 0x9F - 0x20 - 3  # p.6: LEN counts LEN, NBL, CMD and DATA and stays within 20h-9Fh


class MalformedFrame(ValueError):
    """Bytes that are no valid ZFP answer."""


def checksum(body: bytes) -> bytes:
    """p.6: XOR of the bytes, each nibble as a byte plus 30h (B5h -> 3Bh 35h)."""
    value = 0
    for byte in body:
        value ^= byte
    return bytes((0x30 + (value >> 4), 0x30 + (value & 0x0F)))


def encode_request(nbl: int, cmd: int, data: bytes = b"") -> bytes:
    if len(data) > MAX_DATA:
        raise MalformedFrame(f"{len(data)} data bytes do not fit one frame (at most {MAX_DATA})")
    body = bytes((0x20 + 3 + len(data), nbl, cmd)) + data
    return bytes((STX,)) + body + checksum(body) + bytes((ETX,))


def next_nbl(nbl: int) -> int:
    return NBL_FIRST if nbl >= NBL_LAST else nbl + 1


@dataclass(frozen=True)
class Acknowledgement:
    """p.7: the device's error digit and the command's error digit, '0' both when the command was carried out."""

    nbl: int
    device_error: str
    command_error: str


@dataclass(frozen=True)
class Message:
    """p.8: a packed answer carrying data."""

    nbl: int
    cmd: int
    data: bytes


@dataclass(frozen=True)
class Signal:
    """A single byte: NAK or RETRY."""

    byte: int


Answer = Acknowledgement | Message | Signal


def decode_answer(raw: bytes) -> Acknowledgement | Message:
    """One packed answer, from its first byte (ACK or STX) to ETX."""
    if len(raw) < 7 or raw[-1] != ETX:
        raise MalformedFrame(f"truncated answer {raw.hex()}")
    if raw[0] == ACK:
        if len(raw) != 7:
            raise MalformedFrame(f"an acknowledgement is 7 bytes, not {len(raw)}")
        if checksum(raw[1:4]) != raw[4:6]:
            raise MalformedFrame(f"bad acknowledgement checksum in {raw.hex()}")
        device, command = raw[2], raw[3]
        if not (0x30 <= device <= 0x3F and 0x30 <= command <= 0x3F):
            raise MalformedFrame(f"status bytes {raw[2:4].hex()} are not the documented 30h-3Fh")
        return Acknowledgement(raw[1], chr(device), chr(command))
    if raw[0] != STX:
        raise MalformedFrame(f"an answer starts with STX or ACK, not {raw[0]:02X}h")
    body = raw[1:-3]
    if len(body) < 3 or body[0] - 0x20 != len(body):
        raise MalformedFrame(f"length byte does not match the answer {raw.hex()}")
    if checksum(body) != raw[-3:-1]:
        raise MalformedFrame(f"bad checksum in {raw.hex()}")
    return Message(body[1], body[2], body[3:])


class FrameReader:
    """Splits the byte stream from the device into answers; bytes before a start marker are noise."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def reset(self) -> None:
        self._buffer.clear()

    def feed(self, chunk: bytes) -> list[Answer | MalformedFrame]:
        buffer = self._buffer
        buffer += chunk
        found: list[Answer | MalformedFrame] = []
        while buffer:
            first = buffer[0]
            if first == NAK or first == RETRY:
                found.append(Signal(first))
                del buffer[0]
                continue
            if first == ACK:
                size = 7
            elif first != STX:
                start = next((i for i, b in enumerate(buffer) if b in (ACK, STX, NAK, RETRY)), len(buffer))
                found.append(MalformedFrame(f"noise {bytes(buffer[:start]).hex()}"))
                del buffer[:start]
                continue
            elif len(buffer) < 2:
                break
            elif not 0x23 <= buffer[1] <= 0x9F:
                found.append(MalformedFrame(f"length byte {buffer[1]:02X}h out of 23h-9Fh"))
                del buffer[0]
                continue
            else:
                size = buffer[1] - 0x1C  # STX, LEN..DATA (LEN - 20h), CS CS, ETX
            if len(buffer) < size:
                break
            raw = bytes(buffer[:size])
            del buffer[:size]
            try:
                found.append(decode_answer(raw))
            except MalformedFrame as exc:
                found.append(exc)
        return found

    @property
    def pending(self) -> bool:
        """Part of an answer has arrived, the rest not yet."""
        return bool(self._buffer)
