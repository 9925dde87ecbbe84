"""A scripted PT for golden-APDU tests: it checks each byte string the ECR sends against the reference and
answers with the reference's bytes, so the driver is held to the documents, not to our emulator."""

from __future__ import annotations

import socket
import threading


def hexbytes(text: str) -> bytes:
    return bytes.fromhex(text)


class ScriptedPt:
    """Steps are ``("expect", bytes)`` (what the ECR must send next), ``("send", bytes)``, or ``("reconnect", b"")``:
    wait for the ECR to hang up and accept its next connection."""

    def __init__(self, steps: list[tuple[str, bytes]]) -> None:
        self._steps = steps
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.received: list[bytes] = []
        self.mismatch: str | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn, _ = self._listener.accept()
        with conn:
            conn.settimeout(5)
            for kind, data in self._steps:
                if kind == "send":
                    conn.sendall(data)
                    continue
                if kind == "reconnect":
                    while conn.recv(4096):
                        pass
                    conn.close()
                    conn, _ = self._listener.accept()
                    conn.settimeout(5)
                    continue
                got = b""
                while len(got) < len(data):
                    chunk = conn.recv(len(data) - len(got))
                    if not chunk:
                        break
                    got += chunk
                self.received.append(got)
                if got != data:
                    self.mismatch = f"expected {data.hex(' ')}, got {got.hex(' ')}"
                    return

    def finish(self) -> None:
        self._thread.join(timeout=10)
        self._listener.close()
        assert self.mismatch is None, self.mismatch
        assert not self._thread.is_alive(), "the ECR did not finish the scripted exchange"
