"""Fiscal device drivers, chosen by the configured manufacturer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edge.config import FiscalDeviceConfig
from edge.drivers import simulated
from edge.drivers.base import FiscalDriver, UnsupportedDevice
from edge.drivers.caspos import driver as caspos
from edge.drivers.isl import daisy, datecs

_Opener = Callable[[FiscalDeviceConfig, Path], FiscalDriver]


def _open_simulated(device: FiscalDeviceConfig, state_dir: Path) -> FiscalDriver:
    if device.connection is not None:
        raise UnsupportedDevice("the simulated register runs in-process and takes no connection")
    return simulated.SimulatedDriver.open(state_dir, device.name)


# manufacturer -> (models, opener(device config, state_dir)); names as seed 000's supported devices
SUPPORTED: dict[str, tuple[tuple[str, ...], _Opener]] = {
    simulated.MANUFACTURER: (simulated.MODELS, _open_simulated),
    datecs.DATECS.manufacturer: (datecs.DATECS.models, datecs.open_datecs),
    daisy.DAISY.manufacturer: (daisy.DAISY.models, daisy.open_daisy),
    caspos.MANUFACTURER: (caspos.MODELS, caspos.open_caspos),
}


@dataclass(frozen=True)
class Family:
    """How a manufacturer's devices connect: the edge's connection types and the default network port."""

    connections: tuple[str, ...]
    default_port: int | None = None


FAMILIES: dict[str, Family] = {
    simulated.MANUFACTURER: Family(connections=()),
    datecs.DATECS.manufacturer: Family(connections=datecs.DATECS.connections, default_port=3999),
    daisy.DAISY.manufacturer: Family(connections=daisy.DAISY.connections),
    caspos.MANUFACTURER: Family(connections=("http",), default_port=5544),
}


def create_driver(device: FiscalDeviceConfig, state_dir: Path) -> FiscalDriver:
    """Open the driver for ``device``; ``UnsupportedDevice`` names what is supported."""
    entry = SUPPORTED.get(device.manufacturer)
    if entry is None:
        raise UnsupportedDevice(f"unsupported fiscal device manufacturer {device.manufacturer!r} (supported: {', '.join(SUPPORTED)})")
    models, opener = entry
    if device.model not in models:
        raise UnsupportedDevice(f"unsupported {device.manufacturer} model {device.model!r} (supported: {', '.join(models)})")
    return opener(device, state_dir)
