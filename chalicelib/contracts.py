"""Job and result messages shared by the cloud and the edge poller.

This module is the whole contract between the two sides: the cloud puts a
``FiscalJob`` on a shop's SQS queue, the edge prints it and posts back a
``JobResult``. It depends on pydantic only, so the edge can import it without
pulling in boto3, Chalice or anything else of the cloud.

Money is integer minor units (cents); quantities and VAT rates are Decimals and
travel as JSON strings, never floats.

Version 2 of ``FiscalJob`` adds what every kind of sale needs: several payments (split tender, cash tendered),
a discount per line, the buyer's tax id, the original receipt a refund names, and the printer that should
print it. A job that uses none of that is written exactly as version 1 (``wire_json``), so an edge that
knows only version 1 keeps printing plain sales while the shop upgrades; a version 1 job is a valid
version 2 job, so an upgraded edge prints whatever was in flight.
"""

from __future__ import annotations

import json
from decimal import Decimal
from enum import Enum
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

CONTRACT_VERSION: Final = 1  # what results carry, and what a job needing nothing of version 2 says
JOB_VERSION_2: Final = 2
NEWEST_JOB_VERSION: Final = JOB_VERSION_2


def job_version(body: str | bytes) -> int | None:
    """The ``v`` a queued job says it is written in, read without validating the rest; None if it names none."""
    try:
        version = json.loads(body).get("v")
    except (ValueError, AttributeError):
        return None
    return version if isinstance(version, int) and not isinstance(version, bool) else None

MAX_MINOR_UNITS: Final = 10**12  # the largest amount a job carries; intake refuses more
LINE_NAME_MAX: Final = 72
MinorUnits = Annotated[int, Field(ge=0, le=MAX_MINOR_UNITS)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
Quantity = Annotated[Decimal, Field(gt=0, le=Decimal("100000"), max_digits=12, decimal_places=3)]
VatRate = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PaymentType(str, Enum):
    CASH = "cash"
    CARD = "card"
    OTHER = "other"


class FiscalRecord(_Message):
    """The printed receipt as the device numbers it: what a refund (storno) must later name."""

    device: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"\S")]
    fiscal_number: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"\S")] = Field(
        description="As the device numbers the receipt; never blank: a refund and the eReceipt name it.")
    printed_at: int = Field(description="UTC epoch seconds from the device clock.")
    fiscal_memory_number: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = Field(
        default=None, description="The serial of the fiscal memory that holds the receipt (Bulgarian devices).")
    unique_sale_number: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = Field(
        default=None, description="The receipt's unique sale number (УНП), where the device family has one.")


class JobLine(_Message):
    name: Annotated[str, StringConstraints(min_length=1, max_length=LINE_NAME_MAX)]
    quantity: Quantity
    unit_price: MinorUnits
    vat_rate: VatRate
    discount: MinorUnits = Field(default=0, description="v2: VAT included, off quantity × unit_price (an order's "
                                                        "discount arrives already spread over its lines).")
    amount: MinorUnits = Field(description="Line total, VAT included, in minor units, after the discount.")


class JobPayment(_Message):
    type: PaymentType
    method_id: Identifier
    amount: MinorUnits
    tendered: MinorUnits | None = Field(default=None, description="v2, cash only: what the customer handed over; "
                                                                  "the receipt prints the change.")

    @model_validator(mode="after")
    def _tendered_covers_cash(self) -> JobPayment:
        if self.tendered is not None and (self.type is not PaymentType.CASH or self.tendered < self.amount):
            raise ValueError("only a cash payment has a tendered amount, and it covers the payment")
        return self


class OriginalReceipt(_Message):
    """v2: the sale a refund reverses, as its device printed it (a storno names these)."""

    order_id: Identifier
    fiscal: FiscalRecord
    total: MinorUnits = Field(description="The original's total: what is refundable (Caspos parentDocumentSum).")


class FiscalJob(_Message):
    """One fiscal receipt to print, as queued for a shop's edge poller."""

    v: Literal[1, 2] = CONTRACT_VERSION
    kind: Literal["fiscal_receipt"] = "fiscal_receipt"
    job_id: Identifier
    shop_id: Identifier
    order_id: Identifier
    order_internal_id: Identifier
    created_at: int = Field(description="UTC epoch seconds when the order was accepted.")
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "EUR"
    is_refund: bool = False
    operator: Identifier
    lines: Annotated[list[JobLine], Field(min_length=1, max_length=500)]
    payment: JobPayment | None = Field(default=None, description="v1: the one payment of the whole total.")
    payments: Annotated[list[JobPayment], Field(min_length=1, max_length=10)] | None = Field(
        default=None, description="v2: every payment, in the order the receipt prints them (split tender).")
    total: MinorUnits
    buyer_tax_id: Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9 ./-]+$")] | None = None
    original: OriginalReceipt | None = Field(default=None, description="v2: on a refund, the sale it reverses.")
    printer: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None, description="v2: the edge device name that prints this job; else the edge's default device.")

    @property
    def tender(self) -> list[JobPayment]:
        """Every payment of the job, whichever version carried them."""
        return list(self.payments) if self.payments is not None else [self.payment]  # type: ignore[list-item]

    @property
    def needs_version_2(self) -> bool:
        return (self.payments is not None and (len(self.payments) > 1 or self.payments[0].tendered is not None)) \
            or any(line.discount for line in self.lines) or self.buyer_tax_id is not None \
            or self.original is not None or self.printer is not None

    @model_validator(mode="after")
    def _consistent(self) -> FiscalJob:
        if (self.payment is None) == (self.payments is None):
            raise ValueError("a job carries payment (v1) or payments (v2), one of them")
        if self.v == 1 and (self.payments is not None or self.needs_version_2):
            raise ValueError("payments, discounts, buyer_tax_id, original and printer need v 2")
        for line in self.lines:
            if line.discount > line.unit_price * line.quantity:
                raise ValueError(f"line {line.name!r}: the discount is more than the line")
        lines_total = sum(line.amount for line in self.lines)
        paid = sum(payment.amount for payment in self.tender)
        if lines_total != self.total or paid != self.total:
            raise ValueError(f"lines ({lines_total}) and payments ({paid}) must equal total ({self.total})")
        if self.v == 2 and self.is_refund and self.original is None:
            raise ValueError("a v2 refund names its original receipt")
        if self.original is not None and not self.is_refund:
            raise ValueError("only a refund names an original receipt")
        return self

    def wire_json(self) -> str:
        """The job as it goes on the queue: version 1's exact shape when it needs nothing of version 2."""
        if self.needs_version_2:
            return self.model_copy(update={"v": JOB_VERSION_2}).model_dump_json(exclude_none=True)
        plain = self.model_copy(update={"v": CONTRACT_VERSION, "payments": None, "payment": self.tender[0]})
        return plain.model_dump_json(exclude_none=True, exclude={"lines": {"__all__": {"discount"}}})


class ResultStatus(str, Enum):
    PRINTED = "printed"
    FAILED = "failed"


class FailureReason(str, Enum):
    """Why an edge gave up on a job; typed so the cloud and merchants can act on it."""

    DEVICE_ERROR = "device_error"
    DEVICE_UNREACHABLE = "device_unreachable"
    PAPER_OUT = "paper_out"
    INVALID_JOB = "invalid_job"
    PAYMENT_DECLINED = "payment_declined"


class JobResult(_Message):
    """What the edge reports for a job; idempotent by ``job_id``."""

    v: Literal[1] = CONTRACT_VERSION
    job_id: Identifier
    shop_id: Identifier
    order_id: Identifier | None = Field(
        default=None, description="The job's order_id: the cloud reads the order directly (one read, not two).")
    status: ResultStatus
    fiscal: FiscalRecord | None = None
    reason: FailureReason | None = None
    message: Annotated[str, StringConstraints(max_length=500)] = ""

    @model_validator(mode="after")
    def _status_matches_payload(self) -> JobResult:
        if self.status is ResultStatus.PRINTED and self.fiscal is None:
            raise ValueError("a printed result needs its fiscal record")
        if self.status is ResultStatus.FAILED and self.reason is None:
            raise ValueError("a failed result needs a reason")
        return self


class ResultAck(_Message):
    job_id: Identifier
    order_status: str
    duplicate: bool = False


class TillCustomer(_Message):
    """The buyer a till sale names without the shop's catalogue (the till may be offline)."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    address: Annotated[str, StringConstraints(max_length=300)] | None = None
    tax_id: Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9 ./-]+$")] | None = None


class TillSale(_Message):
    """A sale the till printed itself (edge ``POST /manage/sales``, DESIGN §5), uploaded through
    ``POST /api/v1/edge/sales`` once the link is back; idempotent by ``receipt.order_id``.

    ``receipt`` is the job the device printed, exactly as printed (lines, payments, total, operator, printer);
    the cloud records the order from it, never recomputing a price, so the order is the receipt."""

    v: Literal[1] = CONTRACT_VERSION
    receipt: FiscalJob
    fiscal: FiscalRecord
    sold_at: int = Field(description="UTC epoch seconds when the till took the sale: the order's date.")
    delivery_method_id: Identifier | None = None
    client_id: Identifier | None = None
    customer: TillCustomer | None = None

    @model_validator(mode="after")
    def _a_sale(self) -> TillSale:
        if self.receipt.is_refund:
            raise ValueError("a till sale is a sale; refunds are recorded as orders that name their parent")
        if self.client_id is not None and self.customer is not None:
            raise ValueError("give client_id or customer, not both")
        return self


class TillSaleAck(_Message):
    order_id: Identifier
    order_status: str
    receipt_id: str | None = None
    duplicate: bool = False


# -- The edge's heartbeat (DESIGN §4.4, warning codes §5) -------------------------------------------------------------

HEARTBEAT_MAX_DEVICES: Final = 16
HEARTBEAT_MAX_WARNINGS: Final = 16
HEARTBEAT_MAX_BACKLOG: Final = 10**9
WarningCode = Annotated[str, StringConstraints(min_length=3, max_length=40, pattern=r"^W_[A-Z0-9]+(_[A-Z0-9]+)*$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"\S")]
BacklogCount = Annotated[int, Field(ge=0, le=HEARTBEAT_MAX_BACKLOG)]


class DeviceState(str, Enum):
    """A device as the edge last saw it: answering, busy with a job, not answering, answering with an error."""

    ONLINE = "online"
    BUSY = "busy"
    OFFLINE = "offline"
    ERROR = "error"


class DeviceHeartbeat(_Message):
    id: Identifier = Field(description="The edge's id of the device.")
    name: Label = Field(description="The device's name, as an order's `printer` names it.")
    manufacturer: Label
    model: Label
    status: DeviceState
    warnings: Annotated[list[WarningCode], Field(max_length=HEARTBEAT_MAX_WARNINGS)] = Field(
        default=[], description="The device's warning codes (DESIGN §5: W_PAPER_NEAR_END, W_COVER_OPEN, ...).")

    @model_validator(mode="after")
    def _distinct_warnings(self) -> DeviceHeartbeat:
        if len(set(self.warnings)) != len(self.warnings):
            raise ValueError("a device lists each warning code once")
        return self


class Backlog(_Message):
    jobs: BacklogCount = Field(description="Jobs received and not yet printed (or reconciled).")
    results: BacklogCount = Field(description="Results printed or failed and not yet acknowledged by the cloud.")
    sales: BacklogCount = Field(description="Sales taken at the till and not yet uploaded.")


class Heartbeat(_Message):
    """What the edge posts to ``/api/v1/edge/heartbeat`` at least once a minute. The cloud stamps the time
    itself: a till's clock may be wrong, and ``last_seen`` is the cloud's."""

    v: Literal[1] = CONTRACT_VERSION
    version: Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9.+_-]+$")]
    devices: Annotated[list[DeviceHeartbeat], Field(max_length=HEARTBEAT_MAX_DEVICES)]
    backlog: Backlog

    @model_validator(mode="after")
    def _distinct_devices(self) -> Heartbeat:
        if len({device.id for device in self.devices}) != len(self.devices):
            raise ValueError("each device is listed once")
        return self


class HeartbeatAck(_Message):
    last_seen: int = Field(description="UTC epoch seconds, the cloud's clock.")
