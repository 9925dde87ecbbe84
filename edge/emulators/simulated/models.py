"""The simulated register's memory layout, typed errors, fault flags and the documents it prints."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

STATE_FILE = "simulated_register.sqlite"
MODEL = "Simulated"
DEFAULT_VAT_GROUPS: dict[str, Decimal] = {
    "A": Decimal(20),
    "B": Decimal(19),
    "C": Decimal(10),
    "D": Decimal(9),
    "E": Decimal(7),
    "F": Decimal(5),
    "G": Decimal(0),
}
PAPER_WIDTH = 40

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS receipts (
    number INTEGER PRIMARY KEY,
    sale_id TEXT NOT NULL,
    body TEXT NOT NULL,
    z_number INTEGER
);
CREATE INDEX IF NOT EXISTS receipts_by_sale ON receipts (sale_id);
CREATE INDEX IF NOT EXISTS receipts_open ON receipts (z_number);
CREATE TABLE IF NOT EXISTS z_reports (number INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cash_moves (
    number INTEGER PRIMARY KEY,
    amount INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    z_number INTEGER
);
CREATE TABLE IF NOT EXISTS ejournal (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, text TEXT NOT NULL);
"""


class RegisterErrorCode(str, Enum):
    PAPER_OUT = "paper_out"
    LINK_DOWN = "link_down"
    BUSY = "busy"
    REJECTED = "rejected"
    COVER_OPEN = "cover_open"
    MEMORY_FULL = "fiscal_memory_full"
    REFUSED = "refused"


class RegisterError(Exception):
    """The register refused or could not carry out a command."""

    def __init__(self, code: RegisterErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


CLOCK_OFFSET_LIMIT = 400 * 24 * 3600


class Faults(BaseModel):
    """Fault flags; they live in the register's state file, so any process can set them."""

    model_config = ConfigDict(extra="forbid")

    paper_out: bool = False
    link_loss: bool = False
    busy: bool = False
    cover_open: bool = False
    fiscal_memory_full: bool = False
    latency_ms: Annotated[int, Field(ge=0, le=600_000)] = 0
    # Conditions that only show in the status (a real printer's warning bits), refusing nothing:
    paper_near_end: bool = False
    fiscal_memory_near_full: bool = False
    clock_offset_seconds: Annotated[int, Field(ge=-CLOCK_OFFSET_LIMIT, le=CLOCK_OFFSET_LIMIT)] = 0  # the register's clock runs this far off


class SaleLine(BaseModel):
    """One ``sell`` command: the register computes the line's amount itself (quantity × unit price, rounded half
    up, less the discount)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=72)]
    quantity: Annotated[Decimal, Field(gt=0)]
    unit_price: Annotated[int, Field(ge=0)]
    vat_group: Annotated[str, Field(pattern=r"^[A-H]$")]
    discount: Annotated[int, Field(ge=0)] = 0


class RefundOf(BaseModel):
    """The original receipt a refund receipt names: the register that printed it, its number, time and total."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    serial: Annotated[str, Field(min_length=1, max_length=64)]
    fiscal_number: Annotated[str, Field(min_length=1, max_length=64)]
    printed_at: int
    total: Annotated[int, Field(ge=0)]


class ReceiptHeader(BaseModel):
    """The ``open_receipt`` command."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sale_id: Annotated[str, Field(min_length=1, max_length=64)]
    operator: str
    currency: str
    is_refund: bool = False
    refund_of: RefundOf | None = None
    buyer_tax_id: Annotated[str, Field(min_length=1, max_length=32)] | None = None


PaymentKind = Literal["cash", "card", "other"]


class Payment(BaseModel):
    """One ``pay`` command: cash may hand over more than is due (the register gives change), nothing else may."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: PaymentKind
    amount: Annotated[int, Field(ge=0)]


class ReceiptLine(SaleLine):
    vat_rate: Decimal
    amount: int


class OpenReceipt(ReceiptHeader):
    """A receipt opened and not yet closed: it is in no fiscal memory until ``close_receipt``."""

    lines: list[ReceiptLine] = []
    payments: list[Payment] = []

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def paid(self) -> int:
        return sum(payment.amount for payment in self.payments)


class Receipt(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: int
    fiscal_number: str
    serial: str
    sale_id: str
    operator: str
    currency: str
    is_refund: bool
    refund_of: RefundOf | None = None
    buyer_tax_id: str | None = None
    lines: list[ReceiptLine]
    payments: list[Payment]
    change: int = Field(default=0, description="Cash given back: what the payments exceed the total by.")
    total: int
    printed_at: int = Field(description="UTC epoch seconds, register clock.")
    z_number: int | None = None
    text: str

    @model_validator(mode="before")
    @classmethod
    def _one_payment_as_written_before(cls, data: Any) -> Any:
        """A register's memory from before it took several payments holds ``payment_type`` and ``payment_amount``."""
        if isinstance(data, dict) and "payments" not in data and "payment_type" in data:
            kept = {key: value for key, value in data.items() if key not in ("payment_type", "payment_amount")}
            return {**kept, "payments": [{"type": data["payment_type"], "amount": data["payment_amount"]}]}
        return data

    def paid_by(self, kind: PaymentKind) -> int:
        """What this receipt moved by one payment type, change deducted from cash."""
        paid = sum(payment.amount for payment in self.payments if payment.type == kind)
        return paid - self.change if kind == "cash" else paid


class VatTotal(BaseModel):
    group: str
    rate: Decimal
    sales: int
    refunds: int
    net: int
    vat: int


class PaymentTotal(BaseModel):
    """One payment type over a report's receipts: taken on sales, paid back on refunds, and the difference."""

    type: PaymentKind
    sales: int
    refunds: int
    net: int


class CashTotals(BaseModel):
    """The drawer since the last Z report, in minor units."""

    cash_sales: int = Field(default=0, description="Cash taken by sales less cash paid back by refunds.")
    deposits: int = 0
    withdrawals: int = 0

    @property
    def in_drawer(self) -> int:
        return self.cash_sales + self.deposits - self.withdrawals


class Report(BaseModel):
    kind: Literal["X", "Z"]
    z_number: int | None
    created_at: int
    receipt_count: int
    totals: list[VatTotal]
    sales: int
    refunds: int
    net: int
    discounts: int = 0
    payments: list[PaymentTotal] = []
    cash: CashTotals = CashTotals()
    text: str


class CashMove(BaseModel):
    number: int
    amount: int = Field(description="Positive: deposit; negative: withdrawal.")
    in_drawer: int
    text: str


class Document(BaseModel):
    """A printed non-fiscal document or fiscal memory report."""

    number: int | None
    amount: int | None
    text: str


class RegisterStatus(BaseModel):
    serial: str
    model: str = MODEL
    faults: Faults
    last_fiscal_number: str | None
    receipts_since_z: int
    z_counter: int
    clock: int  # the register's own clock, epoch seconds
    day_opened_at: int | None  # when the first receipt since the last Z was printed, on the register's clock
