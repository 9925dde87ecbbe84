"""One ECR connection to the emulated PT: it reads commands and answers them as the spec's sequences say.

Every PT message after the ECR's command waits for the ECR's ``80 00 00`` (spec §2.2: the ECR acknowledges
status information, print lines, completion and abort). What the PT refuses (documented, ``Limits``):

- a wrong password: negative acknowledgement ``84 83 00`` (spec ch. "Negative Acknowledgement 84 xx";
  the readings do not name the code for a wrong password, so the emulator uses 83 "function not possible");
- any command but registration before the ECR registered on this connection: ``84 6B 00`` (6B "function
  deactivated (PT not registered)", spec ch. "Error-Messages");
- a command it does not know, or a request it cannot parse: ``84 83 00``;
- a booking in another currency than the PT's: abort ``06 1E 6F`` (6F "wrong currency");
- an amount of zero: abort ``06 1E C8`` ("amount too small");
- a refund above ``refund_limit``: abort ``06 1E C3`` ("maximum amount exceeded");
- a reversal of a receipt number that is no sale of the open batch: abort ``06 1E B5`` ("reversal not
  possible"); of one reversed already: ``06 1E B4`` ("already reversed");
- "Repeat Receipt" on a PT that has stored nothing yet: abort ``06 1E 83``.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass

from edge.emulators.zvt.codec import (
    ACK,
    Message,
    cut,
    frame,
    from_bcd,
    lll,
    nak,
    request_bmps,
    to_bcd,
)
from edge.emulators.zvt.memory import DayEnd, PtMemory, Stored

ECR_ACK_TIMEOUT = 5.0
SOFTWARE_VERSION = b"ZVT-EMU 1.0"
GIROCARD = 0x05  # card type (BMP 8A) the emulated customer always presents


@dataclass(frozen=True)
class Limits:
    password: str = "000000"
    currency: int = 978
    terminal_id: int = 29001234
    refund_limit: int = 50_000  # minor units per refund


class EcrGone(Exception):
    """The ECR closed the connection or stopped acknowledging."""


class Session:
    def __init__(self, sock: socket.socket, memory: PtMemory, limits: Limits) -> None:
        self._sock = sock
        self._memory = memory
        self._limits = limits
        self._stream = bytearray()
        self._config: int | None = None  # the registration's config byte, once registered

    def serve(self) -> None:
        try:
            while (message := self._read(None)) is not None:
                self._answer(message)
        except (EcrGone, OSError):
            pass

    # -- dispatch -------------------------------------------------------------------------------------------

    def _answer(self, message: Message) -> None:
        command = (message.ccrc, message.aprc)
        if command == (0x06, 0x00):
            self._registration(message.body)
        elif self._config is None:
            self._send(nak(0x6B))
        elif command == (0x06, 0x01):
            self._authorisation(message.body)
        elif command == (0x06, 0x31):
            self._refund(message.body)
        elif command == (0x06, 0x30):
            self._reversal(message.body)
        elif command == (0x06, 0x50):
            self._end_of_day(message.body)
        elif command == (0x06, 0x20):
            self._repeat_receipt(message.body)
        elif command == (0x05, 0x01):
            self._send(ACK)
            self._tell(frame(0x06, 0x0F, lll(SOFTWARE_VERSION) + b"\x00"))
        else:
            self._send(nak(0x83))

    def _password_ok(self, body: bytes) -> bool:
        return len(body) >= 3 and from_bcd(body[:3]) == int(self._limits.password)

    # -- commands --------------------------------------------------------------------------------------------

    def _registration(self, body: bytes) -> None:
        """06 00 <password> <config-byte> [<CC>] [03 <service-byte>] (spec §2.1); Completion 06 0F 19 <status> 29 <TID>."""
        if len(body) < 4 or not self._password_ok(body):
            self._send(nak(0x83))
            return
        self._send(ACK)
        self._config = body[3]
        self._tell(frame(0x06, 0x0F, b"\x19\x00\x29" + to_bcd(self._limits.terminal_id, 4)))

    def _authorisation(self, body: bytes) -> None:
        """06 01 04 <amount> [49 <CC>] ... (spec §2.2)."""
        fields = request_bmps(body)
        if fields is None or 0x04 not in fields:
            self._send(nak(0x83))
            return
        self._booking("sale", fields, None)

    def _refund(self, body: bytes) -> None:
        """06 31 <password> 04 <amount> [49 <CC>] (spec §2.14)."""
        fields = request_bmps(body[3:])
        if not self._password_ok(body) or fields is None or 0x04 not in fields:
            self._send(nak(0x83))
            return
        amount = from_bcd(fields[0x04]) or 0
        if amount > self._limits.refund_limit:
            self._send(ACK)
            self._abort(0xC3)
            return
        self._booking("refund", fields, None)

    def _reversal(self, body: bytes) -> None:
        """06 30 <password> 87 <receipt-no> (spec §2.9)."""
        fields = request_bmps(body[3:])
        if not self._password_ok(body) or fields is None or 0x87 not in fields:
            self._send(nak(0x83))
            return
        self._send(ACK)
        found = self._memory.open_sale(from_bcd(fields[0x87]) or 0)
        if found is None:
            self._abort(0xB5)
            return
        sale, reversed_ = found
        if reversed_:
            self._abort(0xB4)
            return
        self._outcome("reversal", sale.amount, sale.currency, sale.receipt_no)

    def _end_of_day(self, body: bytes) -> None:
        """06 50 <password> (spec §2.15): status information with the total and BMP 60, then Completion. Of the
        scripted outcomes it heeds ``drop`` and ``lost``; any other closes the batch normally."""
        if not self._password_ok(body):
            self._send(nak(0x83))
            return
        self._send(ACK)
        outcome = self._memory.next_outcome()
        if outcome == "drop":  # the connection drops before the batch is closed
            self._sock.close()
            raise EcrGone("dropped before the end-of-day")
        day = self._memory.end_of_day()
        if outcome == "lost":  # closed and reported, the connection drops before the Completion
            self._send(frame(0x04, 0x0F, self._day_end_status(day)))
            self._sock.close()
            raise EcrGone("dropped after the end-of-day")
        self._tell(frame(0x04, 0x0F, self._day_end_status(day)))
        self._tell(frame(0x06, 0x0F))

    def _repeat_receipt(self, body: bytes) -> None:
        """06 20 <password>: the last stored record's status information and receipt again, then Completion."""
        if not self._password_ok(body):
            self._send(nak(0x83))
            return
        self._send(ACK)
        last = self._memory.last_record()
        if last is None:
            self._abort(0x83)
            return
        status = self._day_end_status(last) if isinstance(last, DayEnd) else self._booking_status(last)
        self._tell(frame(0x04, 0x0F, status))
        self._print(["** COPY **", f"RECEIPT {last.last_receipt if isinstance(last, DayEnd) else last.receipt_no:04d}"])
        self._tell(frame(0x06, 0x0F))

    # -- a booking's sequence and its scripted faults ----------------------------------------------------------

    def _booking(self, kind: str, fields: dict[int, bytes], reverses: int | None) -> None:
        amount = from_bcd(fields[0x04])
        currency = from_bcd(fields[0x49]) if 0x49 in fields else self._limits.currency
        self._send(ACK)
        if currency != self._limits.currency:
            self._abort(0x6F)
        elif not amount:
            self._abort(0xC8)
        else:
            self._outcome(kind, amount, currency, reverses)

    def _outcome(self, kind: str, amount: int, currency: int, reverses: int | None) -> None:
        outcome = self._memory.next_outcome()
        self._intermediate(0x0A if kind == "sale" else 0x0E)
        if outcome == "approve":
            stored = self._memory.book(kind, amount, currency, reverses)
            self._tell(frame(0x04, 0x0F, self._booking_status(stored)))
            self._print([kind.upper(), f"AMOUNT {amount}", f"RECEIPT {stored.receipt_no:04d}"])
            self._tell(frame(0x06, 0x0F))
        elif outcome == "decline":
            self._tell(frame(0x04, 0x0F, b"\x27\x05\x29" + to_bcd(self._limits.terminal_id, 4)))
            self._abort(0x05)
        elif outcome == "cancel":
            self._abort(0x6C)
        elif outcome == "abort":
            self._abort(0x64)
        elif outcome == "silent":
            self._wait_for_hang_up()
        elif outcome == "garbage":
            self._send(b"\x13\x37\xde\xad\xbe\xef\x00\x42")
            self._wait_for_hang_up()
        elif outcome == "drop":
            self._sock.close()
            raise EcrGone("dropped before booking")
        elif outcome == "half":
            stored = self._memory.book(kind, amount, currency, reverses)
            status = frame(0x04, 0x0F, self._booking_status(stored))
            self._send(status[: len(status) // 2])
            self._wait_for_hang_up()
        else:  # lost: booked and acknowledged, the connection drops before the Completion
            stored = self._memory.book(kind, amount, currency, reverses)
            self._tell(frame(0x04, 0x0F, self._booking_status(stored)))
            self._sock.close()
            raise EcrGone("dropped after booking")

    def _booking_status(self, stored: Stored) -> bytes:
        """Status information after a booking (spec §2.2.6): result, amount, trace, time, date, TID, CC,
        receipt number, turnover number, card type."""
        moment = time.gmtime(stored.stamp)
        return (
            b"\x27\x00\x04" + to_bcd(stored.amount, 6) + b"\x0b" + to_bcd(stored.trace, 3)
            + b"\x0c" + to_bcd(int(time.strftime("%H%M%S", moment)), 3) + b"\x0d" + to_bcd(int(time.strftime("%m%d", moment)), 2)
            + b"\x29" + to_bcd(self._limits.terminal_id, 4) + b"\x49" + to_bcd(stored.currency, 2)
            + b"\x87" + to_bcd(stored.receipt_no, 2) + b"\x88" + to_bcd(stored.trace, 3) + bytes((0x8A, GIROCARD))
        )  # fmt: skip

    def _day_end_status(self, day: DayEnd) -> bytes:
        """Status information after end-of-day (spec §2.15.4): total and BMP 60, the individual totals:
        first and last receipt number, then count (binary) and turnover (6 BCD) per card group, the
        emulated customer's girocard first and six empty groups after it."""
        moment = time.gmtime(day.stamp)
        groups = bytes((min(day.count, 255),)) + to_bcd(max(day.total, 0), 6) + (b"\x00" + to_bcd(0, 6)) * 6
        totals = to_bcd(day.first_receipt, 2) + to_bcd(day.last_receipt, 2) + groups
        return (
            b"\x27\x00\x04" + to_bcd(max(day.total, 0), 6) + b"\x0b" + to_bcd(day.trace, 3)
            + b"\x0c" + to_bcd(int(time.strftime("%H%M%S", moment)), 3) + b"\x0d" + to_bcd(int(time.strftime("%m%d", moment)), 2)
            + b"\x60" + lll(totals)
        )  # fmt: skip

    # -- PT messages ---------------------------------------------------------------------------------------------

    def _intermediate(self, code: int) -> None:
        """04 FF <status> (spec §2.2.4), only to an ECR that asked for them (config byte 08)."""
        if self._config is not None and self._config & 0x08:
            self._tell(frame(0x04, 0xFF, bytes((code,))))

    def _print(self, lines: list[str]) -> None:
        """06 D1 <attribute> <text> per line (spec §2.2.8), only to an ECR that takes the receipts (config 02)."""
        if self._config is not None and self._config & 0x02:
            for line in lines:
                self._tell(frame(0x06, 0xD1, b"\x00" + line.encode("ascii")))

    def _abort(self, code: int) -> None:
        self._tell(frame(0x06, 0x1E, bytes((code,))))

    def _tell(self, apdu: bytes) -> None:
        """Send a PT message and wait for the ECR's 80 00 00."""
        self._send(apdu)
        answer = self._read(ECR_ACK_TIMEOUT)
        if answer is None or (answer.ccrc, answer.aprc) != (0x80, 0x00):
            raise EcrGone("no acknowledgement from the ECR")

    def _send(self, data: bytes) -> None:
        self._sock.sendall(data)

    def _read(self, timeout: float | None) -> Message | None:
        self._sock.settimeout(timeout)
        while (message := cut(self._stream)) is None:
            try:
                chunk = self._sock.recv(4096)
            except TimeoutError:
                return None
            if not chunk:
                return None
            self._stream += chunk
        return message

    def _wait_for_hang_up(self) -> None:
        self._sock.settimeout(None)
        while self._sock.recv(4096):
            pass
        raise EcrGone("the ECR hung up")
