"""Hosting an emulated serial device: on the master side of a pseudo-terminal (a driver opens ``path`` with pyserial,
as it would a real COM port), on TCP (as a LAN model or a serial device server), and as a process that prints a
READY line and runs until SIGTERM/SIGINT. The protocol lives in the family's endpoint; this module only moves bytes.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sys
import threading
import tty
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, Protocol


class Endpoint(Protocol):
    """A family's link layer: takes the bytes the host sent and answers through ``send``."""

    @property
    def faults(self) -> Any: ...

    def receive(self, chunk: bytes, send: Callable[[bytes], None]) -> None: ...


# Reads a connection's opening (e.g. a LAN password) before any frame: the bytes already read past it, or None to close.
Greeting = Callable[[socket.socket], bytes | None]


class PtyHost:
    """The device on the master side of a pseudo-terminal; counts the bytes each way (the wire time of a bench)."""

    def __init__(self, endpoint: Endpoint, name: str) -> None:
        self.endpoint = endpoint
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self.bytes_in = 0
        self.bytes_out = 0
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)

    @property
    def faults(self) -> Any:
        return self.endpoint.faults

    def start(self) -> PtyHost:
        self._thread.start()
        return self

    def _send(self, data: bytes) -> None:
        self.bytes_out += len(data)
        view = memoryview(data)
        while view:
            view = view[os.write(self._master, view):]

    def _serve(self) -> None:
        while True:
            ready, _, _ = select.select([self._master, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            try:
                chunk = os.read(self._master, 4096)
            except OSError:
                return
            self.bytes_in += len(chunk)
            self.endpoint.receive(chunk, self._send)

    def stop(self) -> None:
        os.write(self._stop_w, b"x")
        self._thread.join(timeout=5)
        for fd in (self._master, self._slave, self._stop_r, self._stop_w):
            os.close(fd)


class TcpHost:
    """The device on a TCP port: one endpoint per connection (``new_endpoint``), one device behind them all."""

    def __init__(self, new_endpoint: Callable[[], Endpoint], port: int, host: str, name: str,
                 greeting: Greeting | None = None) -> None:
        self._new_endpoint = new_endpoint
        self._greeting = greeting
        self._listener = socket.create_server((host, port))
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=name, daemon=True)

    def start(self) -> TcpHost:
        self._thread.start()
        return self

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        endpoint = self._new_endpoint()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with conn:
            pending = self._greeting(conn) if self._greeting else b""
            if pending is None:
                return
            chunk = pending
            while not self._stopped.is_set():
                if chunk:
                    try:
                        endpoint.receive(chunk, conn.sendall)
                    except OSError:
                        return
                try:
                    chunk = conn.recv(4096)
                except OSError:
                    return
                if not chunk:
                    return

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        self._listener.close()


def serve_until_signalled(pty: PtyHost, tcp: TcpHost | None, pty_link: Path | None, ready: str) -> None:
    """Start both hosts, link ``pty_link`` to the pseudo-terminal, print ``ready`` and run until SIGTERM/SIGINT."""
    stop = threading.Event()

    def request_stop(signum: int, _: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    pty.start()
    if tcp:
        tcp.start()
    if pty_link:
        pty_link.unlink(missing_ok=True)
        pty_link.symlink_to(pty.path)
    print(ready, flush=True)
    stop.wait()
    if tcp:
        tcp.stop()
    pty.stop()
    if pty_link:
        pty_link.unlink(missing_ok=True)
    sys.stdout.flush()
