"""The ISL frame written out from the documents for the emulator's tests, independent of its code.

Host: 01 LEN SEQ CMD DATA 05 BCC 03; device: 01 LEN SEQ CMD DATA 04 STATUS(6) 05 BCC 03.
LEN = bytes after 01 up to and including 05, plus 20h; BCC = sum of the same bytes, four
nibbles each plus 30h ("1AE3H is sent as 31H,3AH,3EH,33H"): C doc p.5, P doc p.7-8, Daisy doc p.3-4.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.emulators.isl.device import FiscalPrinter
from edge.emulators.isl.endpoint import IslEndpoint, LinkFaults


def bcc(body: bytes) -> bytes:
    total = sum(body)
    return bytes([0x30 + (total >> 12 & 15), 0x30 + (total >> 8 & 15), 0x30 + (total >> 4 & 15), 0x30 + (total & 15)])


def request(seq: int, cmd: int, data: bytes | str = b"") -> bytes:
    raw = data.encode("cp1251") if isinstance(data, str) else data
    body = bytes([0x20 + 4 + len(raw), seq, cmd]) + raw + b"\x05"
    return b"\x01" + body + bcc(body) + b"\x03"


@dataclass(frozen=True)
class Answer:
    seq: int
    cmd: int
    data: bytes
    status: bytes

    @property
    def text(self) -> str:
        return self.data.decode("cp1251")

    def bit(self, byte: int, bit: int) -> bool:
        return bool(self.status[byte] >> bit & 1)

    def bits(self) -> set[str]:
        """Every set status bit below bit 7, as "byte.bit"."""
        return {f"{b}.{i}" for b in range(6) for i in range(7) if self.bit(b, i)}


def parse(raw: bytes) -> Answer:
    """Check the device frame against the documents' layout and take it apart."""
    assert raw[0] == 0x01 and raw[-1] == 0x03, raw
    length = raw[1] - 0x20
    body = raw[1 : 1 + length]
    assert body[-1] == 0x05 and body[-8] == 0x04, raw
    assert raw[1 + length : -1] == bcc(body), "BCC"
    assert len(raw) == 1 + length + 5
    status = body[-7:-1]
    assert all(b & 0x80 for b in status), status
    return Answer(body[1], body[2], body[3:-8], status)


class Wire:
    """A host talking to one emulated device, byte for byte, without a port in between."""

    def __init__(self, printer: FiscalPrinter, faults: LinkFaults | None = None) -> None:
        self.printer = printer
        self.endpoint = IslEndpoint(printer, faults)
        self.seq = 0x20

    def raw(self, chunk: bytes) -> bytes:
        out = bytearray()
        self.endpoint.receive(chunk, out.extend)
        return bytes(out)

    def send(self, cmd: int, data: bytes | str = b"", seq: int | None = None) -> Answer:
        if seq is None:
            self.seq = 0x20 if self.seq >= 0x7F else self.seq + 1
            seq = self.seq
        answer = parse(self.raw(request(seq, cmd, data)))
        assert (answer.seq, answer.cmd) == (seq, cmd)
        return answer
