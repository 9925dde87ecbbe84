"""Serve an emulated ISL printer (Datecs C, Datecs P, Daisy or Datecs X, by model) on a pseudo-terminal and/or TCP.

``python -m edge.emulators.isl.server [--model DP25|FP800|"eXpert SX"|DP-25X|...] [--pty LINK] [--tcp-port N]``
prints ``<MANUFACTURER> READY pty=<path> tcp=<port> model=<model> family=<C|P|DAISY|X>`` (``DATECS READY``
or ``DAISY READY``) once listening and runs until SIGTERM/SIGINT. ``--pty LINK`` also makes LINK a
symlink to the pseudo-terminal's slave, so an edge config can name a fixed path. Daisy models
have a serial port only (no ``--tcp-port``). In tests the servers run as threads of the test process.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from edge.emulators.hosting import PtyHost, TcpHost, serve_until_signalled
from edge.emulators.isl.device import FiscalPrinter
from edge.emulators.isl.endpoint import IslEndpoint, LinkFaults
from edge.emulators.isl.families import UnknownModel


class PtyServer(PtyHost):
    """The printer on a pseudo-terminal; a driver opens ``path`` with pyserial."""

    def __init__(self, printer: FiscalPrinter, faults: LinkFaults | None = None) -> None:
        super().__init__(IslEndpoint(printer, faults), "isl-pty")

    @property
    def faults(self) -> LinkFaults:
        return self.endpoint.faults


class TcpServer(TcpHost):
    """The printer on a TCP port (Datecs LAN models listen on 3999); one endpoint per connection,
    one device behind them all, the same faults on each."""

    def __init__(self, printer: FiscalPrinter, port: int = 0, host: str = "127.0.0.1", faults: LinkFaults | None = None) -> None:
        self.printer = printer
        self.faults = faults or LinkFaults()
        super().__init__(lambda: IslEndpoint(printer, self.faults), port, host, "isl-tcp")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Emulated ISL fiscal printer (Datecs C, Datecs P, Daisy, Datecs X).")
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
    pty = PtyServer(printer)
    tcp = TcpServer(printer, args.tcp_port) if args.tcp_port is not None else None
    ready = f"{printer.family.manufacturer.upper()} READY pty={pty.path} tcp={tcp.port if tcp else '-'}"
    serve_until_signalled(pty, tcp, args.pty_link, f"{ready} model={printer.model.replace(' ', '_')} family={printer.family.key}")


if __name__ == "__main__":
    main()
