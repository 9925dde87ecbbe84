"""A scripted Datecs X port for driver tests: frames built here from the X doc's framing page (p.4), sharing no code
with the driver or the emulator. It records every request and answers each command with a canned answer (a test
may queue others, or a status), which is all a byte-for-byte test of the requests needs."""

from __future__ import annotations

from collections import defaultdict, deque

SERIAL, FM = "DT000600", "02000600"
CLOCK = "07-12-26 17:45:00"


def nibbles(value: int) -> bytes:
    """X doc p.4: 1AE3h is sent as 31h 3Ah 3Eh 33h."""
    return bytes(0x30 + (value >> shift & 0xF) for shift in (12, 8, 4, 0))


def answer_frame(seq: int, cmd: int, data: bytes, status: bytes) -> bytes:
    """01 LEN(4) SEQ CMD(4) DATA 04 STATUS(8) 05 BCC(4) 03; LEN and BCC over LEN..05 (X doc p.4)."""
    body = nibbles(0x20 + 4 + 1 + 4 + len(data) + 1 + 8 + 1) + bytes([seq]) + nibbles(cmd) + data + b"\x04" + status + b"\x05"
    return b"\x01" + body + nibbles(sum(body) & 0xFFFF) + b"\x03"


def split_request(frame: bytes) -> tuple[int, int, bytes]:
    """(SEQ, CMD, DATA) of a host frame 01 LEN(4) SEQ CMD(4) DATA 05 BCC(4) 03, checked against p.4."""
    assert frame[0] == 0x01 and frame[-1] == 0x03, frame
    length = int(bytes(b - 0x30 + (0x30 if b < 0x3A else 0x57) for b in frame[1:5]), 16) - 0x20
    body = frame[1 : 1 + length]
    assert len(frame) == 1 + length + 4 + 1 and body[-1] == 0x05, frame
    assert frame[1 + length : -1] == nibbles(sum(body) & 0xFFFF), "BCC"
    cmd = int(bytes(b - 0x30 + (0x30 if b < 0x3A else 0x57) for b in body[5:9]), 16)
    return body[4], cmd, body[9:-1]


# A fiscalised FP-700X with one sale made before the test: its answers, "{ErrorCode}<SEP>..." (X doc p.5).
ANSWERS: dict[tuple[int, str], str] = {
    (0x4A, ""): "0\t",
    (0x5A, "1"): f"0\tFP-700X\t1.00BG\t15NOV18\t1000\t4A3C\t00000000\t{SERIAL}\t{FM}\t",
    (0x32, ""): "0\t1\t0.00\t20.00\t20.00\t9.00\t100.00\t100.00\t100.00\t100.00\t01-01-19\t",
    (0xFF, "nBon"): "0\t5\t",
    (0xFF, "UNP"): f"0\t{SERIAL}-0001-0000004\t",
    (0x30, ""): "0\t6\t",
    (0x2B, ""): "0\t6\t",
    (0x31, ""): "0\t6\t",
    (0x36, ""): "0\t",
    (0x33, ""): "0\t6\t9.80\t0.00\t9.80\t0.00\t0.00\t0.00\t0.00\t0.00\t0.00\t",
    (0x35, ""): "0\tR\t0.00\t",
    (0x38, ""): "0\t6\t",
    (0x3C, ""): "0\t",
    (0x3E, ""): f"0\t{CLOCK}\t",
    (0x26, ""): "0\t6\t",
    (0x2A, ""): "0\t",
    (0x27, ""): "0\t6\t",
    (0x45, ""): "0\t12\t0.00\t9.80\t0.00\t0.00\t0.00\t0.00\t0.00\t0.00\t0.00\t7.00\t0.00\t0.00\t0.00\t0.00\t0.00\t0.00\t",
    (0x40, ""): "0\t11\t0.00\t0.00\t0.00\t0.00\t0.00\t0.00\t0.00\t0.00\t07-12-26\t",
    (0x46, ""): "0\t20.00\t20.00\t0.00\t",
    (0x4C, ""): "0\t0\t5\t2\t9.80\t9.80\t",
    (0x7D, ""): f"0\t6\t6\t{CLOCK}\t1\t12\t",
}


class XFakePort:
    """Stands in for the serial port (the driver's ``Transport``)."""

    def __init__(self) -> None:
        self.requests: list[tuple[int, bytes]] = []
        self.queued: defaultdict[int, deque[tuple[str, bytes]]] = defaultdict(deque)
        self.status = bytes([0x80] * 8)  # X doc p.46: bit 7 of each byte always 1
        self._out = bytearray()

    def queue(self, cmd: int, answer: str, status: bytes | None = None) -> None:
        """The next ``cmd`` is answered so, once."""
        self.queued[cmd].append((answer, status or self.status))

    def write(self, data: bytes) -> None:
        seq, cmd, payload = split_request(data)
        self.requests.append((cmd, payload))
        if self.queued[cmd]:
            text, status = self.queued[cmd].popleft()
        else:
            first = payload.split(b"\t")[0].decode() if cmd in (0x5A, 0xFF) else ""
            text, status = ANSWERS[(cmd, first)], self.status
        self._out += answer_frame(seq, cmd, text.encode("cp1251"), status)

    def read(self, timeout: float) -> bytes:
        out, self._out = bytes(self._out), bytearray()
        return out

    def transmit_seconds(self, size: int) -> float:
        return 0.0

    def discard_input(self) -> None:
        self._out.clear()

    def close(self) -> None:
        pass

    def sent(self) -> list[tuple[int, bytes]]:
        """The requests after the priming status request (4Ah, which the link sends first)."""
        return self.requests[1:]


def request_frame(seq: int, cmd: int, data: bytes | str = b"") -> bytes:
    """A host frame 01 LEN(4) SEQ CMD(4) DATA 05 BCC(4) 03 (X doc p.4)."""
    raw = data.encode("cp1251") if isinstance(data, str) else data
    body = nibbles(0x20 + 4 + 1 + 4 + len(raw) + 1) + bytes([seq]) + nibbles(cmd) + raw + b"\x05"
    return b"\x01" + body + nibbles(sum(body) & 0xFFFF) + b"\x03"


def split_answer(frame: bytes) -> tuple[int, int, bytes, bytes]:
    """(SEQ, CMD, DATA, STATUS) of a device frame, checked against p.4: 04 and eight status bytes of 80h-FFh before 05."""
    seq, cmd, rest = split_request(frame)
    assert rest[-9] == 0x04 and all(b & 0x80 for b in rest[-8:]), frame
    return seq, cmd, rest[:-9], rest[-8:]
