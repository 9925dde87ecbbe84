"""The fiscal driver interface every device vendor implements, and its typed errors.

Errors say two things the poller needs to stay exactly-once: whether the
fault is transient (try again later) and whether the receipt *may* have been
printed before the fault (then the poller must ask the device before printing
again).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date
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


class CoverOpen(DeviceError):
    """The printer's cover is open; nothing was printed. A person will close it, so it never gives up."""

    code = "E_COVER_OPEN"
    counts_toward_limit = False


class FiscalMemoryFull(DeviceError):
    """The fiscal memory is full: no fiscal receipt or Z report until the device is serviced."""

    code = "E_FISCAL_MEMORY_FULL"
    transient = False


class FiscalMemoryError(DeviceError):
    """The fiscal memory reports a write or read error: the device needs service before it can go on."""

    code = "E_FISCAL_MEMORY_ERROR"
    transient = False


class JournalFull(DeviceError):
    """The electronic journal is full or missing: no fiscal receipt until it is replaced."""

    code = "E_JOURNAL_FULL"
    transient = False


class ClockNotSet(DeviceError):
    """The device's clock is not set, so it opens no fiscal receipt; a person sets it."""

    code = "E_CLOCK_NOT_SET"


class PrinterFault(DeviceError):
    """The printing unit reports a fault; nothing was printed by the refused command."""

    code = "E_PRINTER_FAULT"


class WrongPassword(DeviceError):
    """The device refused the configured operator password."""

    code = "E_WRONG_PASSWORD"
    transient = False


class OperationRefused(DeviceError):
    """The device refused an operation as asked (e.g. withdrawing more cash than the drawer holds)."""

    code = "E_OPERATION_REFUSED"
    transient = False


class UnsupportedOperation(DeviceError):
    """The device's protocol has no such operation."""

    code = "E_UNSUPPORTED_OPERATION"
    transient = False


class DeviceSilent(DeviceUnreachable):
    """The device did not answer at all."""

    code = "E_DEVICE_SILENT"


class GarbledAnswer(DeviceUnreachable):
    """The device answered with bytes that never made a valid frame or field (checksum, truncation, garbage)."""

    code = "E_DEVICE_GARBLED"


class DeviceRefused(DeviceError):
    """The device refused a command in its present state (not allowed now, overflow, a device error code...)."""

    code = "E_DEVICE_REFUSED"


class ReceiptInterrupted(LinkLost):
    """The link failed after the receipt was opened: it may have been completed."""

    code = "E_RECEIPT_INTERRUPTED"


class UnsupportedDevice(ValueError):
    """No driver for the configured manufacturer or model."""


class DeviceStatus(BaseModel):
    """A device's state as the management API and the heartbeat show it; ``warnings`` are DESIGN §5's ``W_…``
    codes read from the device's own status (the edge adds those of the fiscal day and of reachability)."""

    device: str
    manufacturer: str
    model: str
    online: bool
    paper_out: bool | None = None
    busy: bool | None = None
    last_fiscal_number: str | None = None
    receipts_since_z: int | None = None
    z_counter: int | None = None
    clock_offset_seconds: int | None = None  # the device's clock minus the edge's, when the device tells its time
    day_opened_at: int | None = None  # epoch seconds (UTC) the open fiscal day or shift began, when the device tells
    error: str | None = None
    warnings: list[str] = []


class DeviceReport(BaseModel):
    kind: Literal["X", "Z"]
    number: int | None
    amount_cents: int
    full_text: str


class DeviceDocument(BaseModel):
    """What a device printed for an operation other than a fiscal receipt."""

    number: str | None = None
    amount_cents: int | None = None
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

    # Operations beyond printing jobs: a driver overrides those its protocol has.

    def receipt_text(self, record: FiscalRecord) -> str | None:
        """The text of a receipt this driver printed, when the device can give it back."""
        return None

    def non_fiscal_receipt(self, lines: list[str]) -> DeviceDocument:
        """Print free text on a non-fiscal (service) receipt."""
        raise UnsupportedOperation(f"{self.manufacturer} {self.model} cannot print a non-fiscal receipt")

    def cash_in(self, amount: int) -> DeviceDocument:
        """Record a cash deposit into the drawer (minor units, > 0)."""
        raise UnsupportedOperation(f"{self.manufacturer} {self.model} cannot record a cash deposit")

    def cash_out(self, amount: int) -> DeviceDocument:
        """Record a cash withdrawal from the drawer (minor units, > 0)."""
        raise UnsupportedOperation(f"{self.manufacturer} {self.model} cannot record a cash withdrawal")

    def fiscal_memory_report(self, start: date, end: date) -> DeviceDocument:
        """Report the Z closures kept in fiscal memory between two days (inclusive)."""
        raise UnsupportedOperation(f"{self.manufacturer} {self.model} has no fiscal memory report here")
