"""Keeps the Caspos shift open and younger than its 24 h limit, closing it (Z) exactly once when it must.

§Common Errors 503/504 (l.1944-1960): documents need an open shift, and a shift older than 24 hours refuses
every document until it is closed. The shift's age is read on the register's own clock from the control
tape (``createdAtUtc`` minus ``shiftOpenAtUtc``, §Control Tape l.1747 and l.1750, both UTC), once per shift; after
that it is counted on the edge's clock. ``getShiftStatus``'s ``shift_open_time`` (l.198) names no time zone,
so it only serves as the shift's identity: the Z report of a shift has the documentUUID derived from it, and
a Z resent after a lost answer is answered with code 1 instead of closing a second shift.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import structlog

from edge.drivers.caspos.api import DATE_FORMAT, SHIFT_LIMIT_HOURS
from edge.drivers.caspos.client import CasposClient, CasposError, RepeatedWithoutDocument
from edge.drivers.caspos.memory import DriverMemory

log = structlog.get_logger("edge.drivers.caspos")

_Z_NAMESPACE = uuid.UUID("0b8d1f4e-2a57-4a43-9d0f-5c6a3f1e7b22")
LIMIT = timedelta(hours=SHIFT_LIMIT_HOURS)
# Close this long before the limit, so that the sale that follows still goes into a young shift.
MARGIN = timedelta(minutes=10)


def z_uuid(device: str, shift_open_time: str) -> str:
    """The documentUUID of the Z report that closes this shift: the same for every try."""
    return str(uuid.uuid5(_Z_NAMESPACE, f"{device}|{shift_open_time}"))


class ShiftKeeper:
    def __init__(self, client: CasposClient, memory: DriverMemory, device: Callable[[], str],
                 clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._memory = memory
        self._device = device
        self._clock = clock
        self._opened_at: float | None = None  # edge epoch seconds at which the open shift started
        self._shift_time: str | None = None  # that shift's shift_open_time: its identity

    def forget(self) -> None:
        """The register's shift changed behind our back (503/504, a Z): read it again before the next document."""
        self._opened_at = None
        self._shift_time = None

    def opened_at(self) -> float | None:
        """For the status: when the open shift began (edge epoch seconds), None when no shift is open or the register
        cannot tell its age. Opens nothing; the control tape is read once per shift (a shift another till closed and
        opened again has another ``shift_open_time``)."""
        status = self._client.shift_status()
        if not status.shift_open:
            self.forget()
            return None
        if self._shift_time != status.shift_open_time:
            self.forget()
        if self._opened_at is None:
            self._read_age(status.shift_open_time)
        return self._opened_at

    def ensure_open(self, cashier: str) -> None:
        """An open shift that will not reach its limit within ``MARGIN``; closed and reopened if it would."""
        if self._opened_at is None:
            self._learn(cashier)
        if self._opened_at is not None and self._clock() - self._opened_at >= (LIMIT - MARGIN).total_seconds():
            log.info("caspos_shift_rotating", age_hours=round((self._clock() - self._opened_at) / 3600, 2))
            self.close(cashier)
            self._learn(cashier)

    def close(self, cashier: str) -> dict[str, Any] | None:
        """Z for the open shift, or the earlier answer to a Z whose answer was lost; None if there was nothing to close."""
        status = self._client.shift_status()
        self.forget()
        if not status.shift_open or not status.shift_open_time:
            pending = self._memory.pending("z", 0)
            return self._close(pending, cashier) if pending else None
        document_uuid = z_uuid(self._device(), status.shift_open_time)
        self._memory.set_pending("z", document_uuid, 0)
        return self._close(document_uuid, cashier)

    def _close(self, document_uuid: str, cashier: str) -> dict[str, Any]:
        try:
            report = self._client.close_shift(document_uuid, cashier)
        except RepeatedWithoutDocument:
            report = {}
        self._memory.settle("z")
        return report

    def _learn(self, cashier: str) -> None:
        status = self._client.shift_status()
        if not status.shift_open:
            self._open(cashier)
            status = self._client.shift_status()
        self._read_age(status.shift_open_time)

    def _read_age(self, shift_time: str | None) -> None:
        try:
            tape = self._client.control_tape()
            device_now = datetime.strptime(str(tape["createdAtUtc"]), DATE_FORMAT)
            opened = datetime.strptime(str(tape["shiftOpenAtUtc"]), DATE_FORMAT)
        except (CasposError, KeyError, ValueError) as exc:
            # Without the tape the age is unknown: the register's own 504 will say when to close (see CasposDriver).
            log.warning("caspos_shift_age_unknown", error=str(exc))
            return
        self._opened_at = self._clock() - (device_now - opened).total_seconds()
        self._shift_time = shift_time

    def _open(self, cashier: str) -> None:
        try:
            self._client.open_shift(cashier)
        except CasposError:
            # §Open Shift l.213: an open shift answers an error; someone may have opened it meanwhile.
            if not self._client.shift_status().shift_open:
                raise
        self._memory.settle("z")
        log.info("caspos_shift_opened")
