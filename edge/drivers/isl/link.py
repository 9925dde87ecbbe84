"""Transports (serial port, TCP) and the request/answer exchange of the ISL framing (or another ``Framing``: Datecs X).

Every wait is bounded: an attempt waits ``answer_timeout`` for the first byte of an
answer, SYN bytes extend the wait up to ``busy_timeout`` in all, NAK or a bad frame
resends the same frame with the same sequence number (the printer then repeats its
last answer instead of running the command twice), and after ``retries`` resends the
exchange fails with a typed ``LinkError``.

A printer answers a frame whose SEQ equals the previous frame's with its previous answer,
without running it (C doc p.5, P doc p.9, Daisy doc p.4, X doc p.4). The host's counter goes on across
reconnects, but a restarted host cannot know the printer's last SEQ. So the first exchange
after the link is opened, and after every reconnect, is a status request (4Ah, harmless to
run or to skip: C doc p.20, P doc p.24, Daisy doc p.26, X doc p.20): if its SEQ was the printer's last,
the repeated answer is spent on it, never on a command that prints. An answer with our SEQ
but another command is such a repeat too, and the frame is sent again under the next SEQ.
"""

from __future__ import annotations

import os
import secrets
import select
import socket
import sys
import threading
import time
from typing import Protocol

import serial

from edge.drivers.isl.commands import Command
from edge.drivers.isl.frame import ISL_FRAMING, FrameError, Framing, Response, Signal

if sys.platform != "win32":
    import termios

_BITS_PER_BYTE = 10  # 8N1: a start bit, eight data bits, a stop bit


class LinkError(Exception):
    """The exchange with the printer failed; ``sent`` says whether the request left the host."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class PortUnavailable(LinkError):
    """The serial port or TCP endpoint cannot be opened or written."""


class NoAnswer(LinkError):
    """The printer stayed silent through every attempt."""


class CorruptAnswer(LinkError):
    """The printer answered, but never with a valid frame (bad checksum, truncated, garbage)."""


class BusyTooLong(LinkError):
    """The printer kept signalling SYN (busy) beyond the allowed time."""


class Transport(Protocol):
    def write(self, data: bytes) -> None:
        """Hand ``data`` to the line; it may still be going out when this returns."""
        ...

    def transmit_seconds(self, size: int) -> float:
        """How long ``size`` bytes take on the line once written (0 where the network paces them)."""
        ...

    def read(self, timeout: float) -> bytes:
        """Whatever arrives within ``timeout`` seconds (at least one byte), or b"" on timeout."""
        ...

    def discard_input(self) -> None: ...

    def close(self) -> None: ...


class SerialTransport:
    """A serial port, 8N1, opened through pyserial on first use and reopened after a failure."""

    def __init__(self, port: str, baud_rate: int) -> None:
        self._name = port
        self._baud_rate = baud_rate
        self._port: _PyserialPort | _DescriptorPort | None = None
        self.description = f"serial {port}@{baud_rate}"

    def _open(self) -> _PyserialPort | _DescriptorPort:
        if self._port is None:
            try:
                if "://" in self._name:  # a serial device server: socket://host:port, rfc2217://host:port
                    url = serial.serial_for_url(self._name, baudrate=self._baud_rate, bytesize=8, parity="N", stopbits=1, timeout=0)
                    self._port = _PyserialPort(url)
                else:
                    self._port = _Port(serial.Serial(self._name, baudrate=self._baud_rate, bytesize=8, parity="N", stopbits=1, timeout=0))
            except (serial.SerialException, OSError, ValueError) as exc:
                raise PortUnavailable(f"cannot open {self.description}: {exc}", sent=False) from exc
        return self._port

    def write(self, data: bytes) -> None:
        port = self._port or self._open()
        try:
            port.write(data)
        except (serial.SerialException, OSError) as exc:
            self.close()
            raise PortUnavailable(f"cannot write to {self.description}: {exc}", sent=False) from exc

    def transmit_seconds(self, size: int) -> float:
        return size * _BITS_PER_BYTE / self._baud_rate

    def read(self, timeout: float) -> bytes:
        port = self._port or self._open()
        try:
            return port.read(max(timeout, 0.0))
        except (serial.SerialException, OSError) as exc:
            self.close()
            raise PortUnavailable(f"cannot read from {self.description}: {exc}", sent=True) from exc

    def discard_input(self) -> None:
        port = self._port or self._open()
        try:
            port.discard_input()
        except (serial.SerialException, OSError) as exc:
            self.close()
            raise PortUnavailable(f"cannot reset {self.description}: {exc}", sent=False) from exc

    def close(self) -> None:
        if self._port is not None:
            self._port.close()
            self._port = None


class _PyserialPort:
    """pyserial's own calls, for a port with no descriptor to select on (Windows)."""

    def __init__(self, port: serial.Serial) -> None:
        self._serial = port

    def discard_input(self) -> None:
        self._serial.reset_input_buffer()

    def write(self, data: bytes) -> None:
        self._serial.write(data)

    def read(self, timeout: float) -> bytes:
        self._serial.timeout = timeout
        first = self._serial.read(1)
        if not first:
            return b""
        self._serial.timeout = 0
        return bytes(first + self._serial.read(self._serial.in_waiting))

    def close(self) -> None:
        self._serial.close()


class _DescriptorPort:
    """The non-blocking descriptor pyserial opened and configured, driven directly (POSIX).

    A read is one select and one read of whatever has arrived, usually a whole answer:
    pyserial's ``read(n)`` selects and reads again for each call, and every change of its
    ``timeout`` re-applies the termios settings. A write selects only when the kernel's
    buffer is full (pyserial selects after every write) and does not wait for the line to
    drain: the link adds the frame's time on the wire to its answer timeout instead.
    """

    def __init__(self, port: serial.Serial) -> None:
        self._serial = port
        self._fd = port.fileno()

    def discard_input(self) -> None:
        termios.tcflush(self._fd, termios.TCIFLUSH)

    def write(self, data: bytes) -> None:
        try:
            written = os.write(self._fd, data)
        except BlockingIOError:
            written = 0
        if written < len(data):  # the kernel's buffer is full: wait for room, then write the rest
            view = memoryview(data)[written:]
            while view:
                select.select([], [self._fd], [])
                try:
                    view = view[os.write(self._fd, view) :]
                except BlockingIOError:
                    pass

    def read(self, timeout: float) -> bytes:
        if not select.select([self._fd], [], [], timeout)[0]:
            return b""
        try:
            chunk = os.read(self._fd, 4096)
        except BlockingIOError:
            return b""
        if not chunk:
            raise serial.SerialException(f"{self._serial.port} reports data but returned none (disconnected?)")
        return chunk

    def close(self) -> None:
        self._serial.close()


_Port = _PyserialPort if sys.platform == "win32" else _DescriptorPort


class TcpTransport:
    """A printer on the LAN (Datecs default port 3999); reconnects on the next write after a failure."""

    def __init__(self, host: str, port: int, connect_timeout: float) -> None:
        self._address = (host, port)
        self._connect_timeout = connect_timeout
        self._sock: socket.socket | None = None
        self.description = f"tcp {host}:{port}"

    def _socket(self) -> socket.socket:
        if self._sock is None:
            try:
                sock = socket.create_connection(self._address, timeout=self._connect_timeout)
            except OSError as exc:
                raise PortUnavailable(f"cannot connect to {self.description}: {exc}", sent=False) from exc
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock = sock
        return self._sock

    def write(self, data: bytes) -> None:
        sock = self._socket()
        try:
            sock.sendall(data)
        except OSError as exc:
            self.close()
            raise PortUnavailable(f"cannot write to {self.description}: {exc}", sent=False) from exc

    def transmit_seconds(self, size: int) -> float:
        return 0.0

    def read(self, timeout: float) -> bytes:
        sock = self._socket()
        try:
            sock.settimeout(max(timeout, 0.001))
            chunk = sock.recv(4096)
        except TimeoutError:
            return b""
        except OSError as exc:
            self.close()
            raise PortUnavailable(f"cannot read from {self.description}: {exc}", sent=True) from exc
        if not chunk:
            self.close()
            raise PortUnavailable(f"{self.description} closed the connection", sent=True)
        return chunk

    def discard_input(self) -> None:
        if self._sock is None:
            self._socket()
            return
        self._sock.setblocking(False)
        try:
            while self._sock.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass
        finally:
            if self._sock is not None:
                self._sock.setblocking(True)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class IslLink:
    """One printer's exchange: thread-safe, one request in flight at a time."""

    def __init__(
        self,
        transport: Transport,
        *,
        answer_timeout: float = 0.5,
        busy_timeout: float = 30.0,
        retries: int = 3,
        first_seq: int | None = None,
        framing: Framing = ISL_FRAMING,
    ) -> None:
        self.transport = transport
        self.framing = framing
        self.answer_timeout = answer_timeout
        self.busy_timeout = busy_timeout
        self.retries = retries
        # A random start makes it unlikely that a restarted host repeats the sequence number of the
        # printer's last request, which the printer would answer by repeating its last answer.
        self._next = first_seq if first_seq is not None else secrets.choice(range(framing.seq_first, framing.seq_last + 1))
        self._lock = threading.RLock()
        self._monotonic = time.monotonic
        self.bytes_out = 0
        self.bytes_in = 0
        self._settled = False  # the last exchange ended with its answer read whole: nothing stale can follow
        self._primed = False  # a status request went first since the link was (re)opened

    @property
    def lock(self) -> threading.RLock:
        """Held by a caller that needs several requests without another thread in between."""
        return self._lock

    def request(self, cmd: int, data: bytes = b"") -> Response:
        with self._lock:
            try:
                if not self._primed:
                    self._exchange(Command.STATUS, b"")
                    self._primed = True
                return self._exchange(cmd, data)
            except PortUnavailable:
                self._primed = False  # the transport reopens on the next write
                raise

    def _exchange(self, cmd: int, data: bytes) -> Response:
        framing = self.framing
        seq, self._next = self._next, framing.next_seq(self._next)
        frame = framing.encode_request(seq, cmd, data)
        if not self._settled:  # after a failure or a (re)open, a late answer or garbage may be waiting
            self.transport.discard_input()
        self._settled = False
        failure: LinkError | None = None
        sent = False
        on_the_line = self.transport.transmit_seconds(len(frame))
        for _attempt in range(self.retries + 1):
            self.transport.write(frame)
            self.bytes_out += len(frame)
            sent = True
            outcome = self._await(seq, cmd, on_the_line)
            if isinstance(outcome, Response):
                self._settled = True
                return outcome
            if isinstance(outcome, _Repeat):  # our SEQ was the printer's last: it ran nothing; go on under the next
                seq, self._next = self._next, framing.next_seq(self._next)
                frame = framing.encode_request(seq, cmd, data)
                continue
            failure = outcome
            if isinstance(outcome, BusyTooLong):
                break
        if failure is None:
            failure = CorruptAnswer(f"{self._where()} kept repeating earlier answers", sent=True)
        failure.sent = sent
        raise failure

    def _await(self, seq: int, cmd: int, on_the_line: float) -> Response | LinkError | _Repeat:
        """One attempt: the matching answer, or why there was none (then the frame is resent).

        The answer timeout starts once the frame has left: ``on_the_line`` is its time on the wire.
        Usually the whole answer arrives in one read and is decoded as it is; anything else
        (pieces, SYN, NAK, garbage, a stale answer first) goes through a ``FrameReader``.
        """
        started = self._monotonic()
        deadline = started + on_the_line + self.answer_timeout
        chunk = self.transport.read(deadline - started)
        self.bytes_in += len(chunk)
        if self.framing.is_whole(chunk):
            outcome = self._match(chunk, seq, cmd)
            if not isinstance(outcome, str):
                return outcome
            return self._await_more(seq, cmd, started, deadline, b"", outcome)
        return self._await_more(seq, cmd, started, deadline, chunk, None)

    def _await_more(self, seq: int, cmd: int, started: float, deadline: float, chunk: bytes, corrupt: str | None) -> Response | LinkError | _Repeat:
        """The rest of an attempt, from ``chunk`` (the bytes read so far) and the stale answer seen, if any."""
        reader = self.framing.reader()
        while True:
            for event in reader.feed(chunk):
                if event is Signal.NAK:
                    return CorruptAnswer(f"{self._where()} refused the frame (NAK)", sent=True)
                if event is Signal.SYN:
                    if self._monotonic() - started > self.busy_timeout:
                        return BusyTooLong(f"{self._where()} busy for more than {self.busy_timeout}s", sent=True)
                    deadline = self._monotonic() + self.answer_timeout
                    continue
                assert isinstance(event, bytes)
                outcome = self._match(event, seq, cmd)
                if not isinstance(outcome, str):
                    return outcome
                corrupt = outcome
            remaining = deadline - self._monotonic()
            if remaining <= 0:
                if reader.in_frame:
                    return CorruptAnswer(f"truncated frame from {self._where()}", sent=True)
                if corrupt:
                    return CorruptAnswer(corrupt, sent=True)
                if reader.garbage:
                    return CorruptAnswer(f"{reader.garbage} garbage byte(s) and no frame from {self._where()}", sent=True)
                return NoAnswer(f"no answer from {self._where()} within {self.answer_timeout}s", sent=True)
            chunk = self.transport.read(remaining)
            self.bytes_in += len(chunk)

    def _match(self, frame: bytes, seq: int, cmd: int) -> Response | CorruptAnswer | _Repeat | str:
        """The answer to this request, a corrupt frame (resend), the printer's repeat of its last answer (resend
        under a new SEQ), or why it is a stale answer to an earlier one (wait on)."""
        try:
            response = self.framing.decode_response(frame)
        except FrameError as exc:
            return CorruptAnswer(f"bad frame from {self._where()}: {exc}", sent=True)
        if response.seq == seq:
            return response if response.cmd == cmd else _REPEAT
        return f"stale answer (seq {response.seq:02X}h, cmd {response.cmd:02X}h) from {self._where()}"

    def _where(self) -> str:
        return str(getattr(self.transport, "description", "the printer"))

    def close(self) -> None:
        with self._lock:
            self._settled = False
            self._primed = False
            self.transport.close()


class _Repeat:
    """The printer answered our SEQ with another command's answer: its repeat of the last frame it ran."""


_REPEAT = _Repeat()
