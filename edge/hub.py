"""The open device drivers, kept in step with the settings the management API changes.

One lock serializes every use of a device: the poller holds it for one job at a time
(``printing``), the management API for one operation (``fiscal``, ``terminal``). Settings
saved meanwhile take effect only when an outermost hold begins: a driver whose device was
changed or deleted is closed then, never while a job or an operation that holds it (or a
call nested inside one, such as the card terminal looked up during a job) still uses it.
So a change made through the management API while a receipt prints applies between two jobs.

A job prints on the fiscal device its ``printer`` names (the device's ``name``), else on the first one; a
name no device has is ``UnknownPrinter``, an invalid job, so it is never printed on another device.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import structlog

from edge.config import FiscalDeviceConfig, PosTerminalConfig
from edge.drivers import create_driver
from edge.drivers.base import (
    DeviceBusy,
    DeviceError,
    DeviceStatus,
    DeviceUnreachable,
    FiscalDriver,
    InvalidJob,
    UnsupportedDevice,
)
from edge.store import FiscalDeviceEntry, SettingsStore, TerminalEntry
from edge.terminals import create_terminal
from edge.terminals.base import PosTerminal

log = structlog.get_logger("edge.hub")


class NotConfigured(LookupError):
    """No device with that id (or none at all) is configured."""


class UnknownPrinter(InvalidJob):
    """A job names a printer no fiscal device of this edge is called: it is never printed elsewhere."""

    code = "E_UNKNOWN_PRINTER"


class DeviceHub:
    def __init__(self, store: SettingsStore, state_dir: Path) -> None:
        self.store = store
        self._state_dir = state_dir
        self._lock = threading.RLock()
        self._holds = 0  # nesting depth of the lock holder; only the lock holder reads or writes it
        self._drivers: dict[str, tuple[FiscalDeviceConfig, FiscalDriver]] = {}
        self._terminals: dict[str, tuple[PosTerminalConfig, PosTerminal]] = {}

    def open_printer(self) -> None:
        """Open the printing device now, so a device no driver supports stops ``edge run`` at once
        (UnsupportedDevice); one that does not answer (switched off, unplugged) only delays the jobs."""
        with self._hold():
            entry = self.store.get().fiscal(None)
            if entry is None:
                return
            try:
                self._driver(entry)
            except DeviceUnreachable as exc:
                log.warning("device_unavailable", device_id=entry.device.id, error=str(exc))

    @contextmanager
    def printing(self, printer: str | None = None) -> Iterator[tuple[str, FiscalDriver] | None]:
        """For the poller: (device id, driver) of the fiscal device called ``printer`` (the first device when
        None), or None if it cannot be used now; UnknownPrinter if no device has that name."""
        with self._hold():
            settings = self.store.get()
            entry = settings.fiscal(None) if printer is None else next((e for e in settings.fiscal_devices if e.device.name == printer), None)
            if entry is None and printer is not None:
                raise UnknownPrinter(f"no fiscal device named {printer!r} on this edge (devices: "
                                     f"{', '.join(repr(e.device.name) for e in settings.fiscal_devices) or 'none'})")
            if entry is None:
                yield None
                return
            try:
                driver = self._driver(entry)
            except (DeviceUnreachable, UnsupportedDevice) as exc:
                log.warning("device_unavailable", device_id=entry.device.id, error=str(exc))
                yield None
                return
            assert entry.device.id is not None
            yield entry.device.id, driver

    @contextmanager
    def fiscal(self, device_id: str | None, wait_seconds: float = 30.0) -> Iterator[tuple[FiscalDeviceEntry, FiscalDriver]]:
        """For one management operation; DeviceBusy if the poller keeps the device longer than ``wait_seconds``."""
        with self._hold(wait_seconds):
            entry = self.store.get().fiscal(device_id)
            if entry is None:
                raise NotConfigured(f"no fiscal device {device_id}" if device_id else "no fiscal device is configured")
            yield entry, self._driver(entry)

    @contextmanager
    def terminal(self, device_id: str | None) -> Iterator[tuple[TerminalEntry, PosTerminal]]:
        with self._hold():
            entry = self.store.get().terminal(device_id)
            if entry is None:
                raise NotConfigured(f"no POS terminal {device_id}" if device_id else "no POS terminal is configured")
            yield entry, self._terminal(entry)

    def current_terminal(self) -> PosTerminal | None:
        """For the poller, which already holds the lock: the card terminal, if one is configured."""
        with self._hold():
            entry = self.store.get().terminal(None)
            return self._terminal(entry) if entry is not None else None

    def status(self) -> DeviceStatus | None:
        """The printing device's status (see ``statuses``); None when no fiscal device is configured."""
        found = self.statuses()
        return found[0][1] if found else None

    def statuses(self) -> list[tuple[FiscalDeviceEntry, DeviceStatus]]:
        """Every fiscal device with its status, in the configured order (the printing one first); a device busy
        for more than a second reports ``busy``, one that cannot be opened ``online=False``."""
        found = []
        for entry in self.store.get().fiscal_devices:
            assert entry.device.id is not None
            unknown = DeviceStatus(device="?", manufacturer=entry.settings.manufacturer, model=entry.settings.model, online=False)
            try:
                with self.fiscal(entry.device.id, wait_seconds=1.0) as (current, driver):
                    found.append((current, driver.status()))
            except DeviceBusy:
                found.append((entry, unknown.model_copy(update={"online": True, "busy": True})))
            except (DeviceUnreachable, UnsupportedDevice) as exc:
                found.append((entry, unknown.model_copy(update={"error": str(exc)})))
            except NotConfigured:
                continue  # deleted meanwhile
        return found

    def close(self) -> None:
        with self._hold():
            for device_id, (_, driver) in self._drivers.items():
                _close(device_id, driver)
            for device_id, (_, terminal) in self._terminals.items():
                _close(device_id, terminal)
            self._drivers.clear()
            self._terminals.clear()

    # -- internals ------------------------------------------------------------------------

    @contextmanager
    def _hold(self, wait_seconds: float | None = None) -> Iterator[None]:
        """Hold the device lock (DeviceBusy after ``wait_seconds``); the outermost hold first applies saved changes."""
        if not self._lock.acquire(timeout=-1 if wait_seconds is None else wait_seconds):
            raise DeviceBusy("the device is busy with another operation")
        self._holds += 1
        try:
            if self._holds == 1:
                self._forget_stale()
            yield
        finally:
            self._holds -= 1
            self._lock.release()

    def _driver(self, entry: FiscalDeviceEntry) -> FiscalDriver:
        assert entry.device.id is not None
        opened = self._drivers.get(entry.device.id)
        if opened is not None:
            return opened[1]
        try:
            driver = create_driver(entry.settings, self._state_dir)
        except (OSError, sqlite3.Error, DeviceError) as exc:
            raise DeviceUnreachable(f"cannot open {entry.settings.manufacturer} {entry.settings.model}: {exc}") from exc
        self._drivers[entry.device.id] = (entry.settings, driver)
        log.info("device_opened", device_id=entry.device.id, manufacturer=entry.settings.manufacturer, model=entry.settings.model)
        return driver

    def _terminal(self, entry: TerminalEntry) -> PosTerminal:
        assert entry.device.id is not None
        opened = self._terminals.get(entry.device.id)
        if opened is None:
            opened = (entry.settings, create_terminal(entry.settings, self._state_dir))
            self._terminals[entry.device.id] = opened
        return opened[1]

    def _forget_stale(self) -> None:
        """Close the drivers whose device was deleted or changed since they were opened."""
        settings = self.store.get()
        wanted = {e.device.id: e.settings for e in settings.fiscal_devices}
        for device_id, (config, driver) in list(self._drivers.items()):
            if wanted.get(device_id) != config:
                del self._drivers[device_id]
                _close(device_id, driver)
        terminals = {e.device.id: e.settings for e in settings.pos_terminals}
        for device_id, (pos, terminal) in list(self._terminals.items()):
            if terminals.get(device_id) != pos:
                del self._terminals[device_id]
                _close(device_id, terminal)



def _close(device_id: str, device: FiscalDriver | PosTerminal) -> None:
    """Close a device the edge no longer uses; a link that fails while closing (a cable pulled) is only logged."""
    try:
        device.close()
    except (OSError, sqlite3.Error, DeviceError) as exc:
        log.warning("device_close_failed", device_id=device_id, error=str(exc))
        return
    log.info("device_closed", device_id=device_id)
