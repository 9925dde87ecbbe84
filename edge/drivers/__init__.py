"""Fiscal device drivers, chosen by the configured manufacturer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from edge.config import FiscalDeviceConfig
from edge.drivers import simulated
from edge.drivers.base import FiscalDriver, UnsupportedDevice

_Opener = Callable[[Path, str], FiscalDriver]

# manufacturer -> (models, opener(state_dir, device name))
SUPPORTED: dict[str, tuple[tuple[str, ...], _Opener]] = {
    simulated.MANUFACTURER: (simulated.MODELS, simulated.SimulatedDriver.open),
}


def create_driver(device: FiscalDeviceConfig, state_dir: Path) -> FiscalDriver:
    """Open the driver for ``device``; ``UnsupportedDevice`` names what is supported."""
    entry = SUPPORTED.get(device.manufacturer)
    if entry is None:
        raise UnsupportedDevice(f"unsupported fiscal device manufacturer {device.manufacturer!r} (supported: {', '.join(SUPPORTED)})")
    models, opener = entry
    if device.model not in models:
        raise UnsupportedDevice(f"unsupported {device.manufacturer} model {device.model!r} (supported: {', '.join(models)})")
    return opener(state_dir, device.name)
