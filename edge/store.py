"""The devices and notification settings the management API changes, kept in ``<state_dir>/settings.json``.

The file is seeded from ``edge.toml`` on the first start; from then on the management API owns
it. Each change is validated whole and written atomically (temporary file, fsync, rename,
fsync of the directory), so a crash leaves the old or the new settings, never half of them.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from edge.config import EdgeConfig, FiscalDeviceConfig, PosTerminalConfig
from edge.devices import DeviceConfig, link_of, terminal_link_of
from edge.notify import NotificationConfig

SETTINGS_FILE = "settings.json"
_MAX_BYTES = 4 * 2**20


class SettingsError(Exception):
    """The settings file cannot be read or is not valid."""


class FiscalDeviceEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    device: DeviceConfig
    settings: FiscalDeviceConfig


class TerminalEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    device: DeviceConfig
    settings: PosTerminalConfig


class Settings(BaseModel):
    """Fiscal devices in the order they were added: the first one prints the shop's jobs."""

    model_config = ConfigDict(extra="forbid")

    fiscal_devices: list[FiscalDeviceEntry] = []
    pos_terminals: list[TerminalEntry] = []
    notification: NotificationConfig = NotificationConfig()

    def fiscal(self, device_id: str | None) -> FiscalDeviceEntry | None:
        """The device with this id, or the printing one when ``device_id`` is None."""
        if device_id is None:
            return self.fiscal_devices[0] if self.fiscal_devices else None
        return next((e for e in self.fiscal_devices if e.device.id == device_id), None)

    def terminal(self, device_id: str | None) -> TerminalEntry | None:
        if device_id is None:
            return self.pos_terminals[0] if self.pos_terminals else None
        return next((e for e in self.pos_terminals if e.device.id == device_id), None)


def new_id() -> str:
    return str(uuid.uuid4())


def seeded(config: EdgeConfig) -> Settings:
    """Settings for a first start: the devices of ``edge.toml``."""
    fiscal = config.fiscal_device
    device = DeviceConfig(id=new_id(), name=fiscal.name, manufacturer=fiscal.manufacturer, model=fiscal.model, connection_details=link_of(fiscal))
    terminals = []
    if config.pos_terminal is not None:
        pos = config.pos_terminal
        pos_device = DeviceConfig(id=new_id(), name=pos.name, manufacturer=pos.manufacturer, model=pos.model, connection_details=terminal_link_of(pos))
        terminals.append(TerminalEntry(device=pos_device, settings=pos))
    return Settings(fiscal_devices=[FiscalDeviceEntry(device=device, settings=fiscal)], pos_terminals=terminals)


class SettingsStore:
    """Thread-safe settings with a version that grows with every change."""

    def __init__(self, path: Path, settings: Settings) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._settings = settings
        self.version = 0

    @classmethod
    def open(cls, state_dir: Path, config: EdgeConfig) -> SettingsStore:
        path = state_dir / SETTINGS_FILE
        if not path.exists():
            store = cls(path, seeded(config))
            write_atomically(path, store._dump())
            return store
        return cls(path, read_settings(path))

    def get(self) -> Settings:
        with self._lock:
            return self._settings

    def update(self, change: Callable[[Settings], Settings]) -> Settings:
        """Apply ``change`` to a copy, check the result and persist it; exceptions leave everything as it was."""
        with self._lock:
            updated = Settings.model_validate(change(self._settings.model_copy(deep=True)).model_dump(context={"reveal_secrets": True}))
            write_atomically(self.path, updated.model_dump_json(indent=2, context={"reveal_secrets": True}).encode())
            self._settings = updated
            self.version += 1
            return updated

    def _dump(self) -> bytes:
        return self._settings.model_dump_json(indent=2, context={"reveal_secrets": True}).encode()


def read_settings(path: Path) -> Settings:
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_BYTES + 1)
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(raw) > _MAX_BYTES:
        raise SettingsError(f"{path} is larger than {_MAX_BYTES} bytes")
    try:
        return Settings.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "file"
        raise SettingsError(f"{path} is invalid: {where}: {first['msg']}") from exc


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new content (owner-only file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
