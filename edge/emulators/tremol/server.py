"""Serve an emulated Tremol ZFP device on a pseudo-terminal and/or TCP.

``python -m edge.emulators.tremol.server [--model M23] [--pty LINK] [--tcp-port N] [--password P]`` prints
``TREMOL READY pty=<path> tcp=<port> model=<model>`` once listening and runs until SIGTERM/SIGINT. Over TCP a
device with a password first reads it, up to LF, on every connection (Tremol doc p.6); a wrong one closes it.
"""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

from edge.emulators.hosting import PtyHost, TcpHost, serve_until_signalled
from edge.emulators.tremol.device import MODELS, TremolDevice
from edge.emulators.tremol.endpoint import LinkFaults, TremolEndpoint

WRONG_PASSWORD = b"\x70"  # p.8: 70h wrong password


class PtyServer(PtyHost):
    """The device on a pseudo-terminal; a driver opens ``path`` with pyserial."""

    def __init__(self, device: TremolDevice, faults: LinkFaults | None = None) -> None:
        super().__init__(TremolEndpoint(device, faults), "tremol-pty")

    @property
    def faults(self) -> LinkFaults:
        return self.endpoint.faults


class TcpServer(TcpHost):
    """The device on TCP (p.6: port 8000 on the device); one endpoint per connection, one device behind them."""

    def __init__(self, device: TremolDevice, port: int = 0, host: str = "127.0.0.1", password: str | None = None,
                 faults: LinkFaults | None = None) -> None:
        self.device = device
        self.faults = faults or LinkFaults()
        self.password = password
        super().__init__(lambda: TremolEndpoint(device, self.faults), port, host, "tremol-tcp",
                         self._check_password if password is not None else None)

    def _check_password(self, conn: socket.socket) -> bytes | None:
        """p.6: a device with a LAN password reads it, up to LF, first on every connection; a wrong one closes it."""
        pending = b""
        while b"\n" not in pending:
            chunk = conn.recv(64)
            if not chunk or len(pending) > 64:
                return None
            pending += chunk
        given, _, rest = pending.partition(b"\n")
        if given.decode("ascii", errors="replace") != self.password:
            conn.sendall(WRONG_PASSWORD)
            return None
        return rest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Emulated Tremol ZFP fiscal device.")
    parser.add_argument("--model", default="M23", choices=MODELS)
    parser.add_argument("--pty", dest="pty_link", type=Path, help="symlink to create for the pseudo-terminal")
    parser.add_argument("--tcp-port", type=int, help="TCP port to listen on (0: any free port)")
    parser.add_argument("--password", help="the LAN password a TCP connection starts with (p.6)")
    args = parser.parse_args(argv)
    device = TremolDevice(args.model)
    pty = PtyServer(device)
    tcp = TcpServer(device, args.tcp_port, password=args.password) if args.tcp_port is not None else None
    serve_until_signalled(pty, tcp, args.pty_link,
                          f"TREMOL READY pty={pty.path} tcp={tcp.port if tcp else '-'} model={device.model.replace(' ', '_')}")


if __name__ == "__main__":
    main()
