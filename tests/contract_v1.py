"""The job contract as version 1 edges run it (chalicelib/contracts.py at 9720c13), frozen: what an edge not yet
upgraded parses every job with. tests/test_contract_v2.py checks the cloud still writes plain sales in this shape."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

CONTRACT_VERSION: Final = 1

MinorUnits = Annotated[int, Field(ge=0, le=10**12)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
Quantity = Annotated[Decimal, Field(gt=0, le=Decimal("100000"), max_digits=12, decimal_places=3)]
VatRate = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PaymentType(str, Enum):
    CASH = "cash"
    CARD = "card"
    OTHER = "other"


class JobLine(_Message):
    name: Annotated[str, StringConstraints(min_length=1, max_length=72)]
    quantity: Quantity
    unit_price: MinorUnits
    vat_rate: VatRate
    amount: MinorUnits = Field(description="Line total, VAT included, in minor units.")


class JobPayment(_Message):
    type: PaymentType
    method_id: Identifier
    amount: MinorUnits


class FiscalJob(_Message):
    """One fiscal receipt to print, as queued for a shop's edge poller."""

    v: Literal[1] = CONTRACT_VERSION
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
    payment: JobPayment
    total: MinorUnits

    @model_validator(mode="after")
    def _totals_add_up(self) -> FiscalJob:
        lines_total = sum(line.amount for line in self.lines)
        if lines_total != self.total or self.payment.amount != self.total:
            raise ValueError(f"lines ({lines_total}) and payment ({self.payment.amount}) must equal total ({self.total})")
        return self


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


class FiscalRecord(_Message):
    device: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    fiscal_number: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    printed_at: int = Field(description="UTC epoch seconds from the device clock.")


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
