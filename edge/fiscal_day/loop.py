"""The fiscal day's thread in the running edge: a ``tick`` every ``interval`` seconds (``[z_report] check_seconds``).

The first comes one interval after the start, not at once: a starting edge first serves the jobs that waited for
it, and a status read holds the device for as long as the device takes to answer.
"""

from __future__ import annotations

import sqlite3
import threading

import structlog

from edge.drivers.base import DeviceError
from edge.fiscal_day.service import FiscalDay
from edge.hub import NotConfigured

log = structlog.get_logger("edge.fiscal_day")

class FiscalDayLoop:
    def __init__(self, fiscal_day: FiscalDay, stop: threading.Event, interval: float) -> None:
        self._day = fiscal_day
        self._stop = stop
        self._interval = interval
        self._thread = threading.Thread(target=self._run, name="fiscal-day", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join(timeout=self._interval + 35)  # a Z under way finishes (the hub waits up to 30 s)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._day.tick()
            except (DeviceError, NotConfigured, OSError, sqlite3.Error) as exc:
                # A device busy past its wait, deleted meanwhile, or the state disk failing: the next tick tries again.
                log.warning("fiscal_day_tick_failed", error=str(exc), kind=type(exc).__name__)
