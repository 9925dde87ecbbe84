"""``POST /manage/sales``: the sale as the till sends it, and the receipt the device prints from it.

The body is the cloud's order intake (DESIGN §4.2) as far as a till without the shop's catalogue can print it:
every line names its price and VAT rate (no ``item_id``), a payment method's type is given (``payment_type``, or
``type`` in ``payments``) unless its id is one of ``cash``, ``card``, ``other``; discounts are per line. Money is
decimal strings at this edge and integer minor units inside, rounded half-up as the cloud rounds.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from chalicelib.contracts import (
    JOB_VERSION_2,
    LINE_NAME_MAX,
    MAX_MINOR_UNITS,
    FiscalJob,
    FiscalRecord,
    Identifier,
    JobLine,
    JobPayment,
    PaymentType,
    TillCustomer,
)

# job ids of till sales: derived from the order id, so the device's record of a sale is found by it after a crash
TILL_NAMESPACE = uuid.UUID("5b1e4d0c-7f0e-4a53-9d8e-7c2b51f0a1a5")
CENT = Decimal("0.01")


_DECIMAL_TEXT = re.compile(r"^[0-9]+(\.[0-9]+)?$")


def _decimal_text(value: Any) -> Any:
    """Decimal strings of ASCII digits ("3.50"); a JSON integer is tolerated, a float refused (never float money).
    Python's Decimal would read Arabic-Indic or full-width digits too, which no fiscal device would."""
    if isinstance(value, (float, bool)):
        raise ValueError('money and quantities are decimal strings such as "3.50", not JSON numbers')  # noqa: TRY004
    if isinstance(value, str) and not _DECIMAL_TEXT.match(value.strip()):
        raise ValueError('must be a decimal string of ASCII digits such as "3.50"')
    return value


def _decimal(**bounds: Any) -> Any:
    return Annotated[Decimal, Field(**bounds), BeforeValidator(_decimal_text)]


Quantity = _decimal(gt=0, le=Decimal(100000), max_digits=12, decimal_places=3)
Price = _decimal(ge=0, le=Decimal(10000000), max_digits=12, decimal_places=2)
Rate = _decimal(ge=0, le=100, max_digits=5, decimal_places=2)
Amount = _decimal(gt=0, le=Decimal(MAX_MINOR_UNITS) / 100, max_digits=14, decimal_places=2)
Discount = _decimal(ge=0, le=Decimal(MAX_MINOR_UNITS) / 100, max_digits=14, decimal_places=2)


class SaleRefused(Exception):
    """The sale cannot be printed as sent (or now); nothing was printed. ``status`` and ``code`` are the reply's."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class SaleLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(min_length=1, max_length=LINE_NAME_MAX, strip_whitespace=True)]
    quantity: Quantity
    unit_price: Price
    vat_rate: Rate
    discount: Discount | None = None


class SalePaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    payment_method_id: Identifier
    amount: Amount
    tendered: Amount | None = None
    type: PaymentType | None = None


class SaleIn(BaseModel):
    """A sale to print now and upload later; ``order_id`` is the idempotency key at the till and in the cloud."""

    model_config = ConfigDict(extra="forbid")
    order_id: Identifier
    payment_method_id: Identifier | None = None
    payment_type: PaymentType | None = None
    payments: Annotated[list[SalePaymentIn], Field(min_length=1, max_length=10)] | None = None
    delivery_method_id: Identifier | None = None
    user_id: Identifier
    client_id: Identifier | None = None
    client: TillCustomer | None = None
    items: Annotated[list[SaleLineIn], Field(min_length=1, max_length=500)]
    date: Annotated[int, Field(ge=946684800, le=4102444800)] | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "EUR"
    printer: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SaleIn:
        if (self.payment_method_id is None) == (self.payments is None):
            raise ValueError("give payment_method_id or payments, one of them")
        if self.payment_type is not None and self.payment_method_id is None:
            raise ValueError("payment_type goes with payment_method_id (in payments, each payment has its type)")
        if self.client_id is not None and self.client is not None:
            raise ValueError("give client_id or client, not both")
        return self

    def fingerprint(self) -> str:
        """Equal for equal sales: decimals compared by value ("1.2" and "1.20" are one price)."""
        return hashlib.sha256(json.dumps(_canonical(self.model_dump(exclude_none=True)), sort_keys=True,
                                         separators=(",", ":")).encode()).hexdigest()

    def extras(self, now: int) -> dict[str, Any]:
        """What the upload carries beside the printed receipt (contracts.TillSale)."""
        return {"sold_at": self.date or now, "delivery_method_id": self.delivery_method_id, "client_id": self.client_id,
                "customer": self.client.model_dump(exclude_none=True) if self.client else None}


class SaleReply(BaseModel):
    """DESIGN §5: ``{"success": true, "message": "Sale printed", "order_id", "fiscal": {device, fiscal_number, printed_at}}``."""

    success: bool = True
    message: str
    order_id: str
    fiscal: dict[str, Any]

    @classmethod
    def of(cls, order_id: str, fiscal: FiscalRecord, message: str) -> SaleReply:
        return cls(message=message, order_id=order_id, fiscal=fiscal.model_dump(mode="json", exclude_none=True))


def _canonical(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def job_id_of(order_id: str) -> str:
    return str(uuid.uuid5(TILL_NAMESPACE, order_id))


def _minor(amount: Decimal) -> int:
    return int((amount / CENT).to_integral_value(ROUND_HALF_UP))


def _line(index: int, line: SaleLineIn) -> JobLine:
    unit_price = _minor(line.unit_price)
    gross = int((line.quantity * unit_price).to_integral_value(ROUND_HALF_UP))
    discount = _minor(line.discount) if line.discount is not None else 0
    if discount > gross:
        raise SaleRefused(422, "E_DISCOUNT_EXCEEDS_LINE", f"items[{index}].discount is more than the line")
    return JobLine(name=line.name, quantity=line.quantity, unit_price=unit_price, vat_rate=line.vat_rate,
                   discount=discount, amount=gross - discount)


def _type(method_id: str, given: PaymentType | None, where: str) -> PaymentType:
    if given is not None:
        return given
    try:
        return PaymentType(method_id)
    except ValueError:
        raise SaleRefused(422, "E_PAYMENT_TYPE_UNKNOWN", f"{where}: the till has no catalogue; say whether "
                                                        f"'{method_id}' is cash, card or other") from None


def _payments(sale: SaleIn, total: int) -> list[JobPayment]:
    if sale.payments is None:
        assert sale.payment_method_id is not None
        return [JobPayment(type=_type(sale.payment_method_id, sale.payment_type, "payment_method_id"),
                           method_id=sale.payment_method_id, amount=total)]
    payments = []
    for index, paid in enumerate(sale.payments):
        kind = _type(paid.payment_method_id, paid.type, f"payments[{index}]")
        try:
            payments.append(JobPayment(type=kind, method_id=paid.payment_method_id, amount=_minor(paid.amount),
                                       tendered=_minor(paid.tendered) if paid.tendered is not None else None))
        except ValidationError:
            raise SaleRefused(422, "E_TENDERED_INVALID", f"payments[{index}].tendered: only cash has a tendered "
                                                         "amount, and it covers the payment") from None
    paid_total = sum(p.amount for p in payments)
    if paid_total != total:
        raise SaleRefused(422, "E_PAYMENT_MISMATCH", f"the payments add up to {paid_total} cents, the sale's total "
                                                     f"is {total}")
    return payments


def receipt_for(sale: SaleIn, shop_id: str, now: int) -> FiscalJob:
    """The fiscal job the device prints for the sale; SaleRefused when no device could print it as sent."""
    lines = [_line(i, line) for i, line in enumerate(sale.items)]
    total = sum(line.amount for line in lines)
    if total <= 0 or total > MAX_MINOR_UNITS:
        raise SaleRefused(422, "E_AMOUNT_INVALID", "a sale's total must be above zero and within what a fiscal "
                                                   "receipt can carry")
    return FiscalJob(
        v=JOB_VERSION_2, job_id=job_id_of(sale.order_id), shop_id=shop_id, order_id=sale.order_id,
        order_internal_id=str(uuid.uuid4()), created_at=now, currency=sale.currency, operator=sale.user_id,
        lines=lines, payments=_payments(sale, total), total=total,
        buyer_tax_id=sale.client.tax_id if sale.client else None, printer=sale.printer,
    )
