"""The edge's heartbeat: what the merchant's fleet view shows (DESIGN §4.4), posted while the edge runs.

From the moment the edge is ready (its poller holds a session), every ``interval`` seconds (30: twice within
the cloud's 2-minute online window, so one lost heartbeat never makes a running till look offline) one
``POST /api/v1/edge/heartbeat`` carries the edge's version, each fiscal
device's status and warning codes (``devices``: ``device_readings``, as the management API shows them), and the
backlog: jobs still to print and results still to report (the journal), and till sales not yet uploaded
(``unsent_sales``, the store-and-forward ledger's count).

A device that is busy printing when the heartbeat asks keeps the warnings it last reported: a warning the
cloud stops hearing about counts as cleared, and a long receipt must not clear and raise it again.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable

import structlog
from pydantic import ValidationError

from chalicelib.contracts import (
    HEARTBEAT_MAX_BACKLOG,
    HEARTBEAT_MAX_DEVICES,
    HEARTBEAT_MAX_WARNINGS,
    Backlog,
    DeviceHeartbeat,
    DeviceState,
    Heartbeat,
)
from edge.cloud import CloudAuthError, CloudClient, CloudError
from edge.drivers.base import DeviceStatus
from edge.fiscal_day.service import FiscalDay
from edge.hub import DeviceHub
from edge.journal import AWAITING_ACK, DEVICE_WORK, Journal
from edge.session import CloudLink
from edge.store import FiscalDeviceEntry

log = structlog.get_logger("edge.heartbeat")

HEARTBEAT_SECONDS = 30.0
_CODE = re.compile(r"^W_[A-Z0-9]+(_[A-Z0-9]+)*$")
_VERSION = re.compile(r"^[A-Za-z0-9.+_-]{1,40}$")

SalesBacklog = Callable[[], int]
"""How many sales the till printed that the cloud does not have yet."""
DeviceReading = tuple[FiscalDeviceEntry, DeviceStatus]


def device_readings(hub: DeviceHub, fiscal_day: FiscalDay) -> list[DeviceReading]:
    """Every fiscal device with its status and all its warnings: the device's own (its driver's status bits) and
    those the fiscal day derives (W_DEVICE_UNREACHABLE, W_Z_REPORT_DUE, W_CLOCK_DRIFT, ...), as the management
    API's status shows them."""
    return [(entry, fiscal_day.with_warnings(entry.device.id, status)) for entry, status in hub.statuses()
            if entry.device.id is not None]


def _codes(warnings: list[str]) -> list[str]:
    """The warning codes as the contract takes them: well-formed, each once, at most 16."""
    return list(dict.fromkeys(code for code in warnings if len(code) <= 40 and _CODE.match(code)))[:HEARTBEAT_MAX_WARNINGS]


def _state(status: DeviceStatus) -> DeviceState:
    if status.busy:
        return DeviceState.BUSY
    if not status.online:
        return DeviceState.OFFLINE
    return DeviceState.ERROR if status.error else DeviceState.ONLINE


def _label(text: str) -> str:
    return " ".join(text.split())[:64] or "?"


def _count(value: int) -> int:
    return max(0, min(int(value), HEARTBEAT_MAX_BACKLOG))


class HeartbeatSender:
    """Builds and posts heartbeats on a thread of its own until ``stop`` is set."""

    def __init__(self, link: CloudLink, client: CloudClient, devices: Callable[[], list[DeviceReading]],
                 journal: Journal, unsent_sales: SalesBacklog, version: Callable[[], str], stop: threading.Event,
                 interval: float = HEARTBEAT_SECONDS) -> None:
        self._link, self._client, self._devices, self._journal = link, client, devices, journal
        self._unsent_sales, self._version, self._stop, self._interval = unsent_sales, version, stop, interval
        self._last_warnings: dict[str, list[str]] = {}
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join(timeout=10)

    def build(self) -> Heartbeat:
        """The heartbeat as of now."""
        devices = [device for entry, status in self._devices() if (device := self._device(entry, status))]
        counts = self._journal.summary().counts
        backlog = Backlog(jobs=_count(sum(counts.get(s.value, 0) for s in DEVICE_WORK)),
                          results=_count(sum(counts.get(s.value, 0) for s in AWAITING_ACK)),
                          sales=_count(self._unsent_sales()))
        version = self._version()
        return Heartbeat(version=version if _VERSION.match(version) else "unknown",
                         devices=devices[:HEARTBEAT_MAX_DEVICES], backlog=backlog)
    def send(self) -> bool:
        """Post one heartbeat; whether the cloud took it. A refused token renews the session and tries once more."""
        session = self._link.session()
        if session is None:
            log.info("heartbeat_skipped", reason="no edge session")
            return False
        try:
            heartbeat = self.build()
        except sqlite3.Error as exc:
            log.error("heartbeat_journal_unreadable", error=str(exc))
            return False
        try:
            try:
                self._client.post_heartbeat(session.token, heartbeat)
            except CloudAuthError:
                self._link.invalidate()
                renewed = self._link.session()
                if renewed is None or renewed is session:
                    raise
                self._client.post_heartbeat(renewed.token, heartbeat)
        except CloudError as exc:
            log.warning("heartbeat_failed", error=str(exc), code=exc.code, status=exc.status)
            return False
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            self.send()
            self._stop.wait(self._interval)

    def _device(self, entry: FiscalDeviceEntry, status: DeviceStatus) -> DeviceHeartbeat | None:
        device_id = entry.device.id
        if device_id is None:
            return None
        state = _state(status)
        warnings = _codes(status.warnings)
        if state is DeviceState.BUSY:
            warnings = self._last_warnings.get(device_id, warnings)
        self._last_warnings[device_id] = warnings
        try:
            return DeviceHeartbeat(id=device_id, name=_label(entry.device.name),
                                   manufacturer=_label(entry.settings.manufacturer), model=_label(entry.settings.model),
                                   status=state, warnings=warnings)
        except ValidationError as exc:
            log.error("heartbeat_device_unreportable", device_id=device_id, errors=exc.error_count())
            return None
