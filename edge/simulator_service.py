"""The simulated register's service side for the management API: fault injection, the e-journal, and a Z
report the register makes by itself.

Like a service tool it works on the register's memory directly, beside the driver, so a
fault can be injected while a receipt is being printed. It is there only when a fiscal
device of the edge is the simulated register.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from edge.drivers import simulated
from edge.drivers.base import DeviceError
from edge.emulators.simulated.models import (
    CLOCK_OFFSET_LIMIT,
    STATE_FILE,
    Faults,
    RegisterError,
    Report,
)
from edge.emulators.simulated.register import SimulatedRegister
from edge.store import SettingsStore


class NotSimulated(DeviceError):
    """No fiscal device of this edge is the simulated register."""

    code = "E_NOT_SIMULATED"
    transient = False


class RegisterRefused(DeviceError):
    """The register refused to make the Z report itself (paper out, cover open, fiscal memory full…)."""

    code = "E_REGISTER_REFUSED"
    transient = False


class FaultChanges(BaseModel):
    """The fault flags to change; the others stay as they are."""

    model_config = ConfigDict(extra="forbid")

    paper_out: bool | None = None
    cover_open: bool | None = None
    link_loss: bool | None = None
    busy: bool | None = None
    fiscal_memory_full: bool | None = None
    latency_ms: Annotated[int, Field(ge=0, le=600_000, strict=True)] | None = None
    paper_near_end: bool | None = None
    fiscal_memory_near_full: bool | None = None
    clock_offset_seconds: Annotated[int, Field(ge=-CLOCK_OFFSET_LIMIT, le=CLOCK_OFFSET_LIMIT, strict=True)] | None = None


class SimulatorService:
    def __init__(self, store: SettingsStore, state_dir: Path) -> None:
        self._store = store
        self._path = state_dir / STATE_FILE
        self._lock = threading.Lock()
        self._register: SimulatedRegister | None = None

    def faults(self) -> Faults:
        return self._open().faults()

    def set_faults(self, changes: FaultChanges) -> Faults:
        return self._open().set_faults(**changes.model_dump(exclude_none=True))

    def close_day(self) -> Report:
        """The register makes a Z report by itself, as a device that closes its day at midnight does: the edge
        learns of it only from the register's Z counter."""
        try:
            return self._open().z_report()
        except RegisterError as exc:
            raise RegisterRefused(str(exc)) from exc

    def electronic_journal(self) -> str:
        return self._open().electronic_journal()

    def close(self) -> None:
        with self._lock:
            if self._register is not None:
                self._register.close()
                self._register = None

    def _open(self) -> SimulatedRegister:
        if not any(e.settings.manufacturer == simulated.MANUFACTURER for e in self._store.get().fiscal_devices):
            raise NotSimulated("no fiscal device of this edge is the simulated register")
        with self._lock:
            if self._register is None:
                self._register = SimulatedRegister(self._path)
            return self._register
