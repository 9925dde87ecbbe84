"""One request and its answer on a ZFP line, every wait bounded.

NAK means the device could not read the frame and did nothing (Tremol doc p.8): the same frame goes again.
RETRY means it is still busy with the previous command and took nothing (p.8): the frame goes again after a
pause, for at most ``busy_timeout``. The document gives the device no rule for a repeated message number (p.92
only asks each command to carry another), so a command whose answer was lost or unreadable is never sent
again: ``Unanswered`` says it may have been carried out, and the driver asks the device what became of it. A
command that only reads (``query=True``) is asked again under a new number.

Over TCP a device with a LAN password first takes it and LF (p.6, port 8000); ``TremolTcpTransport`` sends it on
every new connection when one is given (ErpNet.FP's TCP channel sends none).
"""

from __future__ import annotations

import socket
import threading
import time

from edge.drivers.isl.link import PortUnavailable, TcpTransport, Transport
from edge.drivers.tremol.frame import (
    ACK,
    NAK,
    NBL_FIRST,
    RETRY,
    STX,
    Acknowledgement,
    FrameReader,
    MalformedFrame,
    Message,
    Signal,
    decode_answer,
    encode_request,
    next_nbl,
)

_RETRY_PAUSE = 0.05


class LinkError(Exception):
    """The exchange failed; ``sent`` says whether the request may have reached the device."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class NoAnswer(LinkError):
    """The device stayed silent."""


class CorruptAnswer(LinkError):
    """The device answered, but never with a readable frame."""


class Busy(LinkError):
    """The device kept answering RETRY beyond the allowed time; it took nothing."""


class TremolTcpTransport(TcpTransport):
    """A ZFP device on the LAN: each new connection starts with the device's password and LF (p.6)."""

    def __init__(self, host: str, port: int, connect_timeout: float, password: str | None = None) -> None:
        super().__init__(host, port, connect_timeout)
        self._password = None if password is None else password.encode("ascii")
        self._greeted: socket.socket | None = None

    def _socket(self) -> socket.socket:
        sock = super()._socket()
        if self._password is not None and self._greeted is not sock:
            try:
                sock.sendall(self._password + b"\n")
            except OSError as exc:
                self.close()
                raise PortUnavailable(f"cannot send the password to {self.description}: {exc}", sent=False) from exc
            self._greeted = sock
        return sock


class TremolLink:
    """Serialises exchanges (``lock``) and numbers messages 20h-9Fh (p.6)."""

    def __init__(self, transport: Transport, answer_timeout: float, busy_timeout: float, retries: int, first_nbl: int | None = None) -> None:
        self.transport = transport
        self.lock = threading.RLock()
        self.answer_timeout = answer_timeout
        self.busy_timeout = busy_timeout
        self.retries = retries
        # Another number than the last session's, as p.92 asks of each message: started from the clock.
        self._nbl = first_nbl - 1 if first_nbl is not None else NBL_FIRST + int(time.time()) % 0x80
        self._reader = FrameReader()
        self.bytes_out = 0  # bytes that crossed the line each way, for the wire-time bench
        self.bytes_in = 0
        self._settled = False  # the last exchange ended with its answer read whole: nothing stale can follow

    def request(self, cmd: int, data: bytes = b"", *, query: bool = False) -> Acknowledgement | Message:
        with self.lock:
            self._nbl = next_nbl(self._nbl)
            frame = encode_request(self._nbl, cmd, data)
            busy_until = time.monotonic() + self.busy_timeout
            attempts = 0
            sent = False
            if not self._settled:  # after a failure or a (re)open, a late answer or garbage may be waiting
                self._reader.reset()
                self.transport.discard_input()
            self._settled = False
            while True:
                self.transport.write(frame)
                self.bytes_out += len(frame)
                sent = True
                outcome = self._await(self._nbl, self.answer_timeout + self.transport.transmit_seconds(len(frame)))
                if isinstance(outcome, Acknowledgement | Message):
                    self._settled = not self._reader.pending
                    return outcome
                if outcome == RETRY:
                    if time.monotonic() > busy_until:
                        raise Busy(f"the device stayed busy for {self.busy_timeout:.0f} s", sent=False)
                    time.sleep(_RETRY_PAUSE)
                    continue
                attempts += 1
                if outcome == NAK or query:
                    if attempts > self.retries:
                        kind = NoAnswer if outcome == "silent" else CorruptAnswer
                        raise kind(f"command {cmd:02X}h: {self._what(outcome)} after {attempts} attempts", sent=outcome != NAK)
                    if outcome != NAK:
                        self._nbl = next_nbl(self._nbl)  # a query asked again under a new number
                        frame = encode_request(self._nbl, cmd, data)
                    continue
                kind = NoAnswer if outcome == "silent" else CorruptAnswer
                raise kind(f"command {cmd:02X}h: {self._what(outcome)}; it may have been carried out", sent=sent)

    @staticmethod
    def _what(outcome: str | int) -> str:
        return {"silent": "no answer", "garbled": "unreadable answer", NAK: "NAK"}.get(outcome, str(outcome))

    def _await(self, nbl: int, timeout: float) -> Acknowledgement | Message | str | int:
        """The answer to message ``nbl``, a NAK/RETRY byte, "silent" or "garbled"."""
        deadline = time.monotonic() + timeout
        chunk = self.transport.read(timeout)
        self.bytes_in += len(chunk)
        if not self._reader.pending and (len(chunk) == 7 and chunk[0] == ACK or len(chunk) > 1 and chunk[0] == STX and len(chunk) == chunk[1] - 0x1C):
            try:  # usually the whole answer arrives in one read
                answer = decode_answer(chunk)
            except MalformedFrame:
                return "garbled"
            if answer.nbl == nbl:
                return answer
            chunk = b""  # an answer to an earlier message, late: not ours
        garbled = False
        while True:
            for item in self._reader.feed(chunk):
                if isinstance(item, MalformedFrame):
                    garbled = True
                elif isinstance(item, Signal):
                    return item.byte
                elif item.nbl == nbl:
                    return item
                # else an answer to an earlier message, late: not ours
            if garbled and not self._reader.pending:
                return "garbled"
            left = deadline - time.monotonic()
            if left <= 0:
                return "garbled" if garbled or self._reader.pending else "silent"
            chunk = self.transport.read(left)
            self.bytes_in += len(chunk)

    def close(self) -> None:
        with self.lock:
            self._settled = False
            self.transport.close()
