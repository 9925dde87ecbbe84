"""One TCP connection to the PT (default port 20007, kotlin ZvtConstants.DEFAULT_PORT), APDU in, APDU out."""

from __future__ import annotations

import socket
import time

from edge.terminals.zvt.apdu import Apdu, take


class LinkDown(OSError):
    """The connection could not be made, or the PT closed or reset it."""


class LinkSilent(TimeoutError):
    """No complete APDU arrived in time (silence, or half an APDU and then silence)."""


class ZvtLink:
    def __init__(self, host: str, port: int, connect_timeout: float = 5.0) -> None:
        self._address = (host, port)
        self._connect_timeout = connect_timeout
        self._sock: socket.socket | None = None
        self._buffer = bytearray()

    @property
    def is_open(self) -> bool:
        return self._sock is not None

    def open(self) -> None:
        try:
            self._sock = socket.create_connection(self._address, timeout=self._connect_timeout)
        except OSError as exc:
            raise LinkDown(f"cannot connect to the card terminal at {self._address[0]}:{self._address[1]}: {exc}") from exc
        self._buffer.clear()

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
                self._buffer.clear()

    def send(self, apdu: Apdu) -> None:
        sock = self._require()
        try:
            sock.sendall(apdu.encode())
        except OSError as exc:
            self.close()
            raise LinkDown(f"sending {apdu} failed: {exc}") from exc

    def receive(self, timeout: float) -> Apdu:
        """The next APDU; LinkSilent after ``timeout`` seconds without a complete one, LinkDown if the PT hangs up."""
        sock = self._require()
        deadline = time.monotonic() + timeout
        while (found := take(self._buffer)) is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LinkSilent(f"no complete APDU within {timeout}s ({len(self._buffer)} bytes pending)")
            sock.settimeout(left)
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError as exc:
                self.close()
                raise LinkDown(f"the card terminal connection failed: {exc}") from exc
            if not chunk:
                self.close()
                raise LinkDown("the card terminal closed the connection")
            self._buffer += chunk
        apdu, used = found
        del self._buffer[:used]
        return apdu

    def _require(self) -> socket.socket:
        if self._sock is None:
            raise LinkDown("not connected to the card terminal")
        return self._sock
