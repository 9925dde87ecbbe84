"""What the fiscal day remembers per device between runs, in ``<state_dir>/fiscal_day.json``.

The Z counter last seen and since when (so a counter that moves without a Z of ours is noticed, and the
day's age is known even for a device that cannot tell it), when the device last made a Z by itself, and the
scheduled slot the edge has started on, written before that Z is asked for: whether it was made is then the
journal's to say, read from that moment on (a Z of that device begun since, by the schedule or by hand).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import structlog
from pydantic import BaseModel, ConfigDict, ValidationError

from edge.store import write_atomically

log = structlog.get_logger("edge.fiscal_day")
STATE_FILE = "fiscal_day.json"


class DeviceDay(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    z_counter: int | None = None
    z_seen_at: int | None = None  # epoch ms (the fiscal day's clock) this counter value was first seen
    z_seen_journal_ms: int | None = None  # the same moment on the journal's clock
    by_device_at: int | None = None  # epoch ms the device was last seen to have made a Z by itself
    by_device_number: int | None = None
    slot: str | None = None  # the scheduled slot (ISO, UTC) the edge has started on
    slot_journal_ms: int | None = None  # when it started, on the journal's clock


class DayFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    devices: dict[str, DeviceDay] = {}


class DayState:
    """Thread-safe; every change is written atomically before it is relied on."""

    def __init__(self, state_dir: Path) -> None:
        self._path = state_dir / STATE_FILE
        self._lock = threading.Lock()
        self._data = self._load()

    def get(self, device_id: str) -> DeviceDay:
        with self._lock:
            return self._data.devices.get(device_id, DeviceDay())

    def put(self, device_id: str, day: DeviceDay) -> None:
        with self._lock:
            self._data.devices[device_id] = day
            write_atomically(self._path, self._data.model_dump_json(indent=1).encode())

    def _load(self) -> DayFile:
        try:
            return DayFile.model_validate_json(self._path.read_bytes())
        except FileNotFoundError:
            return DayFile()
        except (OSError, ValidationError, json.JSONDecodeError) as exc:
            # Only remembered observations are lost: counters are learnt again, the journal still holds every Z.
            log.warning("fiscal_day_state_unreadable", path=str(self._path), error=str(exc))
            return DayFile()
