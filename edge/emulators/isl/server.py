"""Serve an emulated ISL printer (Datecs C, Datecs P, Daisy or Datecs X, by model) on a pseudo-terminal and/or TCP.

``python -m edge.emulators.isl.server [--model DP25|FP800|"eXpert SX"|DP-25X|...] [--pty LINK] [--tcp-port N]``
prints ``<MANUFACTURER> READY pty=<path> tcp=<port> model=<model> family=<C|P|DAISY|X>`` (``DATECS READY``
or ``DAISY READY``) once listening and runs until SIGTERM/SIGINT. ``--pty LINK`` also makes LINK a
symlink to the pseudo-terminal's slave, so an edge config can name a fixed path. Daisy models
have a serial port only (no ``--tcp-port``). In tests the servers run as threads of the test process.
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import socket
import sys
import threading
import tty
from pathlib import Path
from types import FrameType

from edge.emulators.isl.device import FiscalPrinter
from edge.emulators.isl.endpoint import IslEndpoint, LinkFaults
from edge.emulators.isl.families import UnknownModel


class PtyServer:
    """The printer on the master side of a pseudo-terminal; a driver opens ``path`` with pyserial."""

    def __init__(self, printer: FiscalPrinter, faults: LinkFaults | None = None) -> None:
        self.endpoint = IslEndpoint(printer, faults)
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self.bytes_in = 0
        self.bytes_out = 0
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._serve, name="isl-pty", daemon=True)

    @property
    def faults(self) -> LinkFaults:
        return self.endpoint.faults

    def start(self) -> PtyServer:
        self._thread.start()
        return self

    def _send(self, data: bytes) -> None:
        self.bytes_out += len(data)
        view = memoryview(data)
        while view:
            written = os.write(self._master, view)
            view = view[written:]

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


class TcpServer:
    """The printer on a TCP port (Datecs LAN models listen on 3999); one endpoint per connection,
    one device behind them all."""

    def __init__(self, printer: FiscalPrinter, port: int = 0, host: str = "127.0.0.1", faults: LinkFaults | None = None) -> None:
        self.printer = printer
        self.faults = faults or LinkFaults()
        self._listener = socket.create_server((host, port))
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="isl-tcp", daemon=True)

    def start(self) -> TcpServer:
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
        endpoint = IslEndpoint(self.printer, self.faults)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with conn:
            while not self._stopped.is_set():
                try:
                    chunk = conn.recv(4096)
                except OSError:
                    return
                if not chunk:
                    return
                try:
                    endpoint.receive(chunk, conn.sendall)
                except OSError:
                    return

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        self._listener.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Emulated ISL fiscal printer (Datecs C, Datecs P, Daisy).")
    parser.add_argument("--model", default="DP-25", help="the model picks the protocol family (default DP-25)")
    parser.add_argument("--pty", dest="pty_link", type=Path, help="symlink to create for the pseudo-terminal")
    parser.add_argument("--tcp-port", type=int, help="TCP port to listen on (0: any free port)")
    args = parser.parse_args(argv)
    try:
        printer = FiscalPrinter(args.model)
    except UnknownModel as exc:
        parser.error(str(exc))
    if args.tcp_port is not None and printer.family.key == "DAISY":
        parser.error(f"{printer.model} has a serial port only")
    stop = threading.Event()

    def request_stop(signum: int, _: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    pty = PtyServer(printer).start()
    tcp = TcpServer(printer, args.tcp_port).start() if args.tcp_port is not None else None
    if args.pty_link:
        args.pty_link.unlink(missing_ok=True)
        args.pty_link.symlink_to(pty.path)
    ready = f"{printer.family.manufacturer.upper()} READY pty={pty.path} tcp={tcp.port if tcp else '-'}"
    print(f"{ready} model={printer.model.replace(' ', '_')} family={printer.family.key}", flush=True)
    stop.wait()
    if tcp:
        tcp.stop()
    pty.stop()
    if args.pty_link:
        args.pty_link.unlink(missing_ok=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
