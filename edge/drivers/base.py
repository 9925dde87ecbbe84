"""The fiscal driver interface every device vendor implements, and its typed errors.

Errors say two things the poller needs to stay exactly-once: whether the
fault is transient (try again later) and whether the receipt *may* have been
printed before the fault (then the poller must ask the device before printing
again).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Literal

from pydantic import BaseModel

from chalicelib.contracts import FailureReason, FiscalJob, FiscalRecord


class DeviceError(Exception):
    """A fiscal device could not carry out an operation."""

    code = "E_DEVICE"
    reason = FailureReason.DEVICE_ERROR
    transient = True
    may_have_printed = False
    counts_toward_limit = True


class DeviceBusy(DeviceError):
    """The device is busy with something else; nothing was printed."""

    code = "E_DEVICE_BUSY"


class PaperOut(DeviceError):
    """Out of paper; nothing was printed. Never gives up: a cashier will load paper."""

    code = "E_PAPER_OUT"
    reason = FailureReason.PAPER_OUT
    counts_toward_limit = False


class DeviceUnreachable(DeviceError):
    """No connection to the device could be made; nothing was sent."""

    code = "E_DEVICE_UNREACHABLE"
    reason = FailureReason.DEVICE_UNREACHABLE


class LinkLost(DeviceUnreachable):
    """The connection failed during an operation: it may or may not have completed."""

    code = "E_LINK_LOST"
    may_have_printed = True


class InvalidJob(DeviceError):
    """The device cannot print this job as it stands (e.g. a VAT rate it has no group for)."""

    code = "E_INVALID_JOB"
    reason = FailureReason.INVALID_JOB
    transient = False


class UnsupportedDevice(ValueError):
    """No driver for the configured manufacturer or model."""


class DeviceStatus(BaseModel):
    device: str
    manufacturer: str
    model: str
    online: bool
    paper_out: bool | None = None
    busy: bool | None = None
    last_fiscal_number: str | None = None
    receipts_since_z: int | None = None
    z_counter: int | None = None
    error: str | None = None


class DeviceReport(BaseModel):
    kind: Literal["X", "Z"]
    number: int | None
    amount_cents: int
    full_text: str


class FiscalDriver(ABC):
    """One fiscal device. The poller prints one job at a time; ``status`` may be called meanwhile
    from the management API's threads, so an implementation must make that safe."""

    name: str
    manufacturer: str
    model: str

    @abstractmethod
    def print_receipt(self, job: FiscalJob) -> FiscalRecord:
        """Print the job as a fiscal receipt carrying ``job.job_id`` as its unique sale id."""

    @abstractmethod
    def find_receipt(self, sale_id: str) -> FiscalRecord | None:
        """The receipt printed with this unique sale id, or None if the device proves there is none."""

    @abstractmethod
    def last_receipt(self) -> FiscalRecord | None:
        """The most recent fiscal receipt in the device's memory."""

    @abstractmethod
    def status(self) -> DeviceStatus:
        """Current device state; never raises a DeviceError (reports ``online=False`` instead)."""

    @abstractmethod
    def x_report(self) -> DeviceReport:
        """Running totals of the day, without closing it."""

    @abstractmethod
    def z_report(self) -> DeviceReport:
        """Close the fiscal day."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection to the device."""
