"""The emulated Caspos Mobile register over real HTTP, and the driver on it, for every Caspos test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from caspos_support import open_driver

from edge.drivers.caspos.driver import CasposDriver
from edge.emulators.caspos.server import CasposRegister, CasposServer


@pytest.fixture
def register() -> CasposRegister:
    return CasposRegister()


@pytest.fixture
def server(register: CasposRegister) -> Iterator[CasposServer]:
    running = CasposServer(register).start()
    yield running
    running.stop()


@pytest.fixture
def driver(server: CasposServer, tmp_path: Path) -> Iterator[CasposDriver]:
    opened = open_driver(server.url, tmp_path)
    yield opened
    opened.close()
