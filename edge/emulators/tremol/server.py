"""Serve an emulated Tremol ZFP device on a pseudo-terminal and/or TCP.

``python -m edge.emulators.tremol.server [--model M23] [--pty LINK] [--tcp-port N] [--password P]`` prints
``TREMOL READY pty=<path> tcp=<port> model=<model>`` once listening and runs until SIGTERM/SIGINT. Over TCP a
device with a password first reads it, up to LF, on every connection (Tremol doc p.6); a wrong one closes it.
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

from edge.emulators.tremol.device import MODELS, TremolDevice
from edge.emulators.tremol.endpoint import LinkFaults, TremolEndpoint


class PtyServer:
    """The device on the master side of a pseudo-terminal; a driver opens ``path`` with pyserial."""

    def __init__(self, device: TremolDevice, faults: LinkFaults | None = None) -> None:
        self.endpoint = TremolEndpoint(device, faults)
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._serve, name="tremol-pty", daemon=True)

    @property
    def faults(self) -> LinkFaults:
        return self.endpoint.faults

    def start(self) -> PtyServer:
        self._thread.start()
        return self

    def _send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._master, view) :]

    def _serve(self) -> None:
        while True:
            ready, _, _ = select.select([self._master, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            try:
                chunk = os.read(self._master, 4096)
            except OSError:
                return
            self.endpoint.receive(chunk, self._send)

    def stop(self) -> None:
        os.write(self._stop_w, b"x")
        self._thread.join(timeout=5)
        for fd in (self._master, self._slave, self._stop_r, self._stop_w):
            os.close(fd)


class TcpServer:
    """The device on TCP (p.6: port 8000 on the device); one endpoint per connection, one device behind them."""

    def __init__(self, device: TremolDevice, port: int = 0, host: str = "127.0.0.1", password: str | None = None,
                 faults: LinkFaults | None = None) -> None:
        self.device = device
        self.faults = faults or LinkFaults()
        self.password = password
        self._listener = socket.create_server((host, port))
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="tremol-tcp", daemon=True)

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
        endpoint = TremolEndpoint(self.device, self.faults)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pending = b""
        with conn:
            if self.password is not None:
                while b"\n" not in pending:
                    chunk = conn.recv(64)
                    if not chunk or len(pending) > 64:
                        return
                    pending += chunk
                given, _, pending = pending.partition(b"\n")
                if given.decode("ascii", errors="replace") != self.password:
                    conn.sendall(b"\x70")  # p.8: 70h wrong password
                    return
            if pending:
                endpoint.receive(pending, conn.sendall)
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
    parser = argparse.ArgumentParser(description="Emulated Tremol ZFP fiscal device.")
    parser.add_argument("--model", default="M23", choices=MODELS)
    parser.add_argument("--pty", dest="pty_link", type=Path, help="symlink to create for the pseudo-terminal")
    parser.add_argument("--tcp-port", type=int, help="TCP port to listen on (0: any free port)")
    parser.add_argument("--password", help="the LAN password a TCP connection starts with (p.6)")
    args = parser.parse_args(argv)
    device = TremolDevice(args.model)
    stop = threading.Event()

    def request_stop(signum: int, _: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    pty = PtyServer(device).start()
    tcp = TcpServer(device, args.tcp_port, password=args.password).start() if args.tcp_port is not None else None
    if args.pty_link:
        args.pty_link.unlink(missing_ok=True)
        args.pty_link.symlink_to(pty.path)
    print(f"TREMOL READY pty={pty.path} tcp={tcp.port if tcp else '-'} model={device.model.replace(' ', '_')}", flush=True)
    stop.wait()
    if tcp:
        tcp.stop()
    pty.stop()
    if args.pty_link:
        args.pty_link.unlink(missing_ok=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
