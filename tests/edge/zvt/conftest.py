"""The emulated ZVT PT on a real TCP port, and the driver on it, for every ZVT test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.emulators.zvt.server import ZvtEmulator
from edge.terminals.zvt.terminal import ZvtTerminal


@pytest.fixture
def pt(tmp_path: Path) -> Iterator[ZvtEmulator]:
    running = ZvtEmulator(tmp_path / "pt.sqlite").start()
    yield running
    running.stop()


@pytest.fixture
def terminal(pt: ZvtEmulator, tmp_path: Path) -> Iterator[ZvtTerminal]:
    opened = ZvtTerminal(pt.host, pt.port, tmp_path / "ledger.sqlite", name="Counter 1", timeout_seconds=1.0)
    yield opened
    opened.close()
