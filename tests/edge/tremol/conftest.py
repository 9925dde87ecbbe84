"""The emulated Tremol device, an in-process port to it and the driver on that port, for every Tremol test module."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tremol_support import EmulatedPort, driver_on  # noqa: E402

from edge.drivers.tremol.driver import TremolDriver  # noqa: E402
from edge.emulators.tremol.device import TremolDevice  # noqa: E402


@pytest.fixture
def device() -> TremolDevice:
    return TremolDevice()


@pytest.fixture
def port(device: TremolDevice) -> EmulatedPort:
    return EmulatedPort(device)


@pytest.fixture
def driver(port: EmulatedPort, tmp_path: Path) -> Iterator[TremolDriver]:
    opened = driver_on(port, tmp_path)
    yield opened
    opened.close()
