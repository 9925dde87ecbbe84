"""Hostile PT bytes: whatever a PT (or something pretending to be one) answers, the driver raises one of its
typed terminal errors, never anything else, and a booking whose outcome it could not read stays pending for
the look-up instead of being taken as declined."""

from __future__ import annotations

import random
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.terminals.base import TerminalError
from edge.terminals.zvt.terminal import ZvtTerminal

ACK = bytes.fromhex("80 00 00")
REGISTERED = ACK + bytes.fromhex("06 0F 00")
# A believable start (status information of a booking, BMPs that exist) cut and corrupted at random.
TEMPLATE = bytes.fromhex("04 0F 1A 27 00 04 00 00 00 00 10 00 0B 00 00 07 87 00 07 60 F0 F0 F4 00 01 00 07 29 29 00 02 74")


class HostilePt:
    """Registers the ECR properly and has no receipt to repeat; answers every booking with an ACK and the next
    hostile byte string."""

    def __init__(self, answers: list[bytes]) -> None:
        self._answers = answers
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    while (data := conn.recv(4096)) and not self._stop.is_set():
                        if data[:2] == b"\x06\x00":
                            conn.sendall(REGISTERED)
                        elif data[:2] == b"\x06\x20":  # Repeat Receipt: nothing stored, so every lost booking is absent
                            conn.sendall(ACK + bytes.fromhex("06 1E 01 83"))
                        elif data[:2] != b"\x80\x00":
                            conn.sendall(ACK + (self._answers.pop(0) if self._answers else b""))
                except OSError:
                    pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()


def hostile_answers(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    answers = []
    for _ in range(count):
        kind = rng.choice(("random", "cut", "flip", "length"))
        if kind == "random":
            answers.append(rng.randbytes(rng.randint(1, 40)))
        elif kind == "cut":
            answers.append(TEMPLATE[: rng.randint(1, len(TEMPLATE) - 1)])
        elif kind == "flip":
            spoiled = bytearray(TEMPLATE)
            spoiled[rng.randrange(3, len(spoiled))] = rng.randrange(256)
            answers.append(bytes(spoiled) + bytes.fromhex("06 0F 00"))
        else:
            answers.append(TEMPLATE[:2] + bytes([rng.choice((0x00, 0x01, 0xFF))]) + TEMPLATE[3:])
    return answers


@pytest.fixture
def hostile() -> Iterator[HostilePt]:
    pt = HostilePt(hostile_answers(seed=20007, count=40))
    yield pt
    pt.stop()


def test_hostile_answers_only_ever_raise_typed_terminal_errors(hostile: HostilePt, tmp_path: Path) -> None:
    terminal = ZvtTerminal("127.0.0.1", hostile.port, tmp_path / "ledger.sqlite", timeout_seconds=0.2)
    outcomes: dict[str, int] = {}
    for n in range(40):
        try:
            terminal.sale(f"job-{n}", 1000, "EUR")
            outcomes["approved"] = outcomes.get("approved", 0) + 1
        except TerminalError as exc:  # anything else fails the test
            outcomes[exc.code] = outcomes.get(exc.code, 0) + 1
    terminal.close()
    assert sum(outcomes.values()) == 40 and outcomes.get("E_TERMINAL_TIMEOUT", 0) >= 10, outcomes
