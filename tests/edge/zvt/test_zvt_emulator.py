"""The emulated PT at the byte level, with no driver: what it answers and what it refuses (session.py's list).

The ECR side is written out byte by byte here from the spec's layouts (PA00P015 §2.1 registration, §2.2
authorisation, §2.9 reversal, §2.14 refund, §2.15 end-of-day; acknowledgements 80 00 00 / 84 xx 00).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from edge.emulators.zvt.server import ZvtEmulator

ACK = bytes.fromhex("80 00 00")


class Ecr:
    """A raw ECR connection: send hex, read whole APDUs."""

    def __init__(self, pt: ZvtEmulator) -> None:
        self.sock = socket.create_connection((pt.host, pt.port), timeout=3)
        self.buffer = b""

    def send(self, text: str) -> None:
        self.sock.sendall(bytes.fromhex(text))

    def read(self) -> bytes:
        while True:
            if len(self.buffer) >= 3 and len(self.buffer) >= 3 + self.buffer[2]:
                size = 3 + self.buffer[2]
                apdu, self.buffer = self.buffer[:size], self.buffer[size:]
                return apdu
            chunk = self.sock.recv(4096)
            assert chunk, "the PT closed the connection"
            self.buffer += chunk

    def until_end(self) -> list[bytes]:
        """Acknowledge every PT message up to and including 06 0F / 06 1E; return them."""
        seen = []
        while True:
            apdu = self.read()
            seen.append(apdu)
            self.sock.sendall(ACK)
            if apdu[:2] in (b"\x06\x0f", b"\x06\x1e"):
                return seen


@pytest.fixture
def ecr(pt: ZvtEmulator) -> Iterator[Ecr]:
    opened = Ecr(pt)
    yield opened
    opened.sock.close()


def register(ecr: Ecr) -> None:
    ecr.send("06 00 04 00 00 00 3E")
    assert ecr.read() == ACK
    assert ecr.until_end()[-1][:2] == b"\x06\x0f"


def test_a_command_before_registration_is_refused_not_registered(ecr: Ecr) -> None:
    ecr.send("06 01 0A 04 00 00 00 00 10 00 49 09 78")
    assert ecr.read() == bytes.fromhex("84 6B 00")


def test_wrong_password_is_refused_for_registration_refund_and_end_of_day(ecr: Ecr, pt: ZvtEmulator) -> None:
    ecr.send("06 00 04 12 34 56 3E")
    assert ecr.read() == bytes.fromhex("84 83 00")
    register(ecr)
    ecr.send("06 31 0D 99 99 99 04 00 00 00 00 05 00 49 09 78")
    assert ecr.read() == bytes.fromhex("84 83 00")
    ecr.send("06 50 03 11 11 11")
    assert ecr.read() == bytes.fromhex("84 83 00")
    assert pt.bookings() == []


def test_sale_then_reversal_then_reversal_again_and_of_an_unknown_receipt(ecr: Ecr, pt: ZvtEmulator) -> None:
    register(ecr)
    ecr.send("06 01 0A 04 00 00 00 00 10 00 49 09 78")
    assert ecr.read() == ACK
    messages = ecr.until_end()
    status = next(m for m in messages if m[:2] == b"\x04\x0f")
    assert status[3:5] == b"\x27\x00" and b"\x87\x00\x01" in status  # approved, receipt 0001
    assert [m[:2] for m in messages].count(b"\x04\xff") == 1 and b"\x06\xd1" in {m[:2] for m in messages}  # config 08 and 02
    ecr.send("06 30 06 00 00 00 87 00 01")
    assert ecr.read() == ACK
    assert b"\x87\x00\x02" in next(m for m in ecr.until_end() if m[:2] == b"\x04\x0f")
    ecr.send("06 30 06 00 00 00 87 00 01")
    assert ecr.read() == ACK
    assert ecr.until_end()[-1] == bytes.fromhex("06 1E 01 B4")  # already reversed
    ecr.send("06 30 06 00 00 00 87 09 99")
    assert ecr.read() == ACK
    assert ecr.until_end()[-1] == bytes.fromhex("06 1E 01 B5")  # no such sale: reversal not possible
    assert [(b.kind, b.amount, b.reverses) for b in pt.bookings()] == [("sale", 1000, None), ("reversal", 1000, 1)]


def test_refund_above_the_limit_wrong_currency_and_zero_amount_are_aborted(ecr: Ecr, pt: ZvtEmulator) -> None:
    register(ecr)
    ecr.send("06 31 0D 00 00 00 04 00 00 00 05 00 01 49 09 78")  # 500.01 > the documented 500.00 limit
    assert ecr.read() == ACK
    assert ecr.until_end()[-1] == bytes.fromhex("06 1E 01 C3")
    ecr.send("06 01 0A 04 00 00 00 00 10 00 49 09 46")  # RON on a EUR terminal
    assert ecr.read() == ACK
    assert ecr.until_end()[-1] == bytes.fromhex("06 1E 01 6F")
    ecr.send("06 01 0A 04 00 00 00 00 00 00 49 09 78")
    assert ecr.read() == ACK
    assert ecr.until_end()[-1] == bytes.fromhex("06 1E 01 C8")
    ecr.send("06 31 0D 00 00 00 04 00 00 00 05 00 00 49 09 78")  # exactly the limit
    assert ecr.read() == ACK
    assert ecr.until_end()[-1] == bytes.fromhex("06 0F 00")
    assert [(b.kind, b.amount) for b in pt.bookings()] == [("refund", 50000)]


def test_end_of_day_reports_the_net_total_and_the_receipt_range_and_repeat_receipt_repeats_it(ecr: Ecr) -> None:
    register(ecr)
    ecr.send("06 20 03 00 00 00")  # nothing stored yet
    assert ecr.read() == ACK
    assert ecr.until_end()[-1] == bytes.fromhex("06 1E 01 83")
    for command in ("06 01 0A 04 00 00 00 00 30 00 49 09 78", "06 31 0D 00 00 00 04 00 00 00 00 05 00 49 09 78"):
        ecr.send(command)
        assert ecr.read() == ACK
        ecr.until_end()
    ecr.send("06 50 03 00 00 00")
    assert ecr.read() == ACK
    status = ecr.until_end()[0]
    assert status[:2] == b"\x04\x0f" and b"\x04\x00\x00\x00\x00\x25\x00" in status  # 30.00 - 5.00
    assert b"\x60\xf0\xf5\xf3\x00\x01\x00\x02\x02" in status  # receipts 0001..0002, 2 bookings in the first group
    ecr.send("06 20 03 00 00 00")
    assert ecr.read() == ACK
    assert ecr.until_end()[0] == status  # the end-of-day is now the last stored record


def test_unknown_command_and_unparsable_request_are_refused(ecr: Ecr) -> None:
    register(ecr)
    ecr.send("06 93 00")  # initialisation: not emulated
    assert ecr.read() == bytes.fromhex("84 83 00")
    ecr.send("06 01 03 04 00 00")  # amount cut short
    assert ecr.read() == bytes.fromhex("84 83 00")
