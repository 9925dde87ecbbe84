"""The emulated PT listening on TCP (127.0.0.1 by default; port 20007 on a real PT, any free port in tests).

``python -m edge.emulators.zvt.server --port 20007 --state pt.sqlite`` prints ``ZVT READY port=<port>``.

One ECR connection is served at a time, as a PT has one ECR; a second waits in the listen queue. The
outcome of each coming booking is taken from the script (``memory.PtMemory.script``); an empty script
approves.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import threading
from pathlib import Path
from types import FrameType

from edge.emulators.zvt.memory import Outcome, PtMemory, Stored
from edge.emulators.zvt.session import Limits, Session


class ZvtEmulator:
    def __init__(self, state: Path, *, host: str = "127.0.0.1", port: int = 0, limits: Limits | None = None) -> None:
        self.memory = PtMemory(state)
        self._limits = limits or Limits()
        self._listener = socket.create_server((host, port))
        self.host, self.port = self._listener.getsockname()[:2]
        self._stopping = threading.Event()
        self._current: socket.socket | None = None
        self._thread = threading.Thread(target=self._accept, name="zvt-emulator", daemon=True)

    def start(self) -> ZvtEmulator:
        self._thread.start()
        return self

    def script(self, *outcomes: Outcome) -> None:
        self.memory.script(*outcomes)

    def bookings(self) -> list[Stored]:
        return self.memory.bookings()

    def stop(self) -> None:
        self._stopping.set()
        current = self._current
        if current is not None:
            with contextlib.suppress(OSError):
                current.shutdown(socket.SHUT_RDWR)  # wakes the session blocked in recv
        self._thread.join(timeout=5)
        self._listener.close()
        self.memory.close()

    def _accept(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            self._current = conn
            with conn:
                Session(conn, self.memory, self._limits).serve()
            self._current = None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Emulated ZVT payment terminal (PA00P015 ECR interface over TCP).")
    parser.add_argument("--port", type=int, default=20007)
    parser.add_argument("--state", type=Path, required=True, help="the PT's stored bookings (SQLite file)")
    parser.add_argument("--password", default=Limits.password)
    args = parser.parse_args(argv)
    emulator = ZvtEmulator(args.state, port=args.port, limits=Limits(password=args.password)).start()
    stop = threading.Event()

    def request_stop(signum: int, _: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    print(f"ZVT READY port={emulator.port}", flush=True)
    stop.wait()
    emulator.stop()


if __name__ == "__main__":
    main()
