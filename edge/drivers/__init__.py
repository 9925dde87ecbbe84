"""Fiscal device drivers: one row per vendor and protocol family, chosen by the configured manufacturer and model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edge.config import FiscalDeviceConfig
from edge.drivers import simulated
from edge.drivers.base import FiscalDriver, UnsupportedDevice
from edge.drivers.caspos import driver as caspos
from edge.drivers.isl import daisy, datecs, datecs_x
from edge.drivers.isl.dialect import Dialect
from edge.drivers.tremol import driver as tremol

_Opener = Callable[[FiscalDeviceConfig, Path], FiscalDriver]


def _open_simulated(device: FiscalDeviceConfig, state_dir: Path) -> FiscalDriver:
    if device.connection is not None:
        raise UnsupportedDevice("the simulated register runs in-process and takes no connection")
    return simulated.SimulatedDriver.open(state_dir, device.name)


@dataclass(frozen=True)
class Row:
    """One vendor's protocol family: its models (names as seed 000's supported devices), how a driver for one is
    opened, the edge's connection types it takes and its default network port."""

    manufacturer: str
    models: tuple[str, ...]
    opener: _Opener
    connections: tuple[str, ...]
    default_port: int | None = None


def _isl(dialect: Dialect, opener: _Opener) -> Row:
    return Row(dialect.manufacturer, dialect.models, opener, dialect.connections, dialect.default_port)


# Only families a driver speaks, each model under the protocol it speaks (Datecs C, P and X are three drivers).
DRIVEN: tuple[Row, ...] = (
    Row(simulated.MANUFACTURER, simulated.MODELS, _open_simulated, connections=()),
    _isl(datecs.DATECS_C, datecs.open_datecs_c),
    _isl(datecs.DATECS_P, datecs.open_datecs_p),
    _isl(datecs_x.DATECS_X, datecs_x.open_datecs_x),
    _isl(daisy.DAISY, daisy.open_daisy),
    Row(caspos.MANUFACTURER, caspos.MODELS, caspos.open_caspos, connections=("http",), default_port=5544),
    Row(tremol.MANUFACTURER, tremol.MODELS, tremol.open_tremol, tremol.CONNECTIONS, tremol.DEFAULT_PORT),
)


@dataclass(frozen=True)
class Family:
    """What the management API lists per manufacturer: every model of its rows, and how they connect."""

    models: tuple[str, ...]
    connections: tuple[str, ...]
    default_port: int | None


def _by_manufacturer() -> dict[str, Family]:
    merged: dict[str, Family] = {}
    for row in DRIVEN:
        seen = merged.get(row.manufacturer)
        if seen is None:
            merged[row.manufacturer] = Family(row.models, row.connections, row.default_port)
        else:
            connections = seen.connections + tuple(c for c in row.connections if c not in seen.connections)
            merged[row.manufacturer] = Family(seen.models + row.models, connections, seen.default_port or row.default_port)
    return merged


# DRIVEN per manufacturer, as the management API lists and checks them (get_supported_devices, save_fiscal_device).
FAMILIES: dict[str, Family] = _by_manufacturer()


def create_driver(device: FiscalDeviceConfig, state_dir: Path) -> FiscalDriver:
    """Open the driver for ``device``; ``UnsupportedDevice`` names what is supported."""
    listed = FAMILIES.get(device.manufacturer)
    if listed is None:
        raise UnsupportedDevice(f"unsupported fiscal device manufacturer {device.manufacturer!r} (supported: {', '.join(FAMILIES)})")
    for row in DRIVEN:
        if row.manufacturer == device.manufacturer and device.model in row.models:
            return row.opener(device, state_dir)
    raise UnsupportedDevice(f"unsupported {device.manufacturer} model {device.model!r} (supported: {', '.join(listed.models)})")

