"""The EKaBS-shaped receipt schema (``schema.ekabs_v0``) and the arithmetic it must satisfy.

Money, quantities and percentages are decimal strings ("3.50", "2", "19"), never
JSON numbers. Beyond field shapes, a receipt must add up: every line's amount
is its quantity times its unit price less its discount, the lines, the VAT table and the payments
all sum to ``full_amount_incl_vat``, and each VAT row splits its gross amount
into net and VAT at its rate. Pure: no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic.fields import FieldInfo

from chalicelib.core import money


def _decimal_text(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (str, Decimal)):
        raise ValueError('must be a decimal string such as "3.50", not a JSON number')
    return value


def _decimal_text_type(bounds: FieldInfo) -> Any:
    """A Decimal within ``bounds`` that only a string (or Decimal) may carry, documented as one."""
    return Annotated[Decimal, BeforeValidator(_decimal_text), bounds,
                     WithJsonSchema(money.decimal_string_schema(bounds))]


Money = _decimal_text_type(Field(ge=0, le=Decimal("10000000000"), max_digits=14, decimal_places=2))
Quantity = _decimal_text_type(Field(gt=0, le=Decimal("100000"), max_digits=12, decimal_places=3))
Percentage = _decimal_text_type(Field(ge=0, le=100, max_digits=5, decimal_places=2))
Text = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
Epoch = Annotated[int, Field(ge=946684800, le=4102444800, description="UTC epoch seconds")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Address(_Strict):
    street: Text
    postal_code: ShortText
    city: Text
    # ISO 3166-1 alpha-3 ("DEU"), as DFKA's EKaBS schema, the one seed 004 says the receipt closely resembles, writes
    # country codes (issue 27, point 12); seed 004 itself gives no other form, so no other is accepted.
    country_code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = Field(
        description="ISO 3166-1 alpha-3, as in DFKA EKaBS: DEU, AUT, BGR.")


class Seller(_Strict):
    """The merchant as printed on the receipt."""

    name: Text
    tax_number: ShortText | None = None
    vat_id: ShortText | None = None
    address: Address | None = None


class Buyer(_Strict):
    name: Text | None = None
    customer_number: ShortText | None = None
    tax_number: ShortText | None = None
    email: Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    address: Address | None = None


class PointOfSale(_Strict):
    """The till, shop or web shop that made the sale."""

    id: ShortText
    name: Text | None = None
    cashier: Text | None = None


class RefundOf(_Strict):
    """The receipt a refund reverses, as its device numbered it, and where its eReceipt is."""

    id: ShortText = Field(description="The merchant's own id of the original sale.")
    number: ShortText = Field(description="The original's receipt number as printed.")
    date: Epoch = Field(description="When the original was printed.")
    url: Annotated[str, StringConstraints(max_length=2048, pattern=r"^https?://[^\s\"'<>]+$")] | None = Field(
        default=None, description="The original's eReceipt (its public link).")


class Head(_Strict):
    id: ShortText = Field(description="The merchant's own id of this sale.")
    number: ShortText = Field(description="Receipt number as printed.")
    date: Epoch
    is_refund: bool = False
    refund_of: RefundOf | None = Field(default=None, description="On a refund: the original receipt it reverses.")
    seller: Seller
    buyer: Buyer | None = None
    pos: PointOfSale | None = None

    @model_validator(mode="after")
    def _refund_names_original(self) -> Head:
        if self.refund_of is not None and not self.is_refund:
            raise ValueError("head.refund_of is only for a refund (is_refund)")
        return self


class LineVat(_Strict):
    percentage: Percentage
    incl_vat: Money


class LineItem(_Strict):
    number: ShortText | None = None
    gtin: Annotated[str, StringConstraints(pattern=r"^\d{8,14}$")] | None = None
    quantity: Quantity
    quantity_measure: ShortText | None = None
    price_per_unit: Money


class Line(_Strict):
    text: Text
    additional_text: Text | None = None
    item: LineItem
    discount: Money | None = Field(default=None, description="VAT included, off quantity x price_per_unit.")
    vat_amounts: Annotated[list[LineVat], Field(min_length=1, max_length=1)]

    @property
    def amount(self) -> int:
        return money.to_minor(self.vat_amounts[0].incl_vat)

    @property
    def percentage(self) -> Decimal:
        return self.vat_amounts[0].percentage.normalize()


class VatAmount(_Strict):
    percentage: Percentage
    incl_vat: Money
    excl_vat: Money
    vat: Money


class Payment(_Strict):
    """One entry of ``payment_types``. Not named ``PaymentType``: that is the contract's enum, and two schemas of
    one name cost a generated client one of them."""

    name: Text
    type: Literal["cash", "card", "other"] = "other"
    amount: Money
    tendered: Money | None = Field(default=None, description="Cash only: what the customer handed over.")

    @model_validator(mode="after")
    def _tendered_covers_cash(self) -> Payment:
        if self.tendered is not None and (self.type != "cash" or self.tendered < self.amount):
            raise ValueError("only a cash payment has a tendered amount, and it covers the payment")
        return self


class Security(_Strict):
    """Fiscal data of the printed receipt."""

    fiscal_device: ShortText | None = None
    fiscal_number: ShortText | None = None
    printed_at: Epoch | None = None


class Data(_Strict):
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    full_amount_incl_vat: Money
    payment_types: Annotated[list[Payment], Field(min_length=1, max_length=20)]
    vat_amounts: Annotated[list[VatAmount], Field(min_length=1, max_length=20)]
    lines: Annotated[list[Line], Field(min_length=1, max_length=500)]


class EkabsV0(_Strict):
    head: Head
    data: Data
    security: Security | None = None

    @model_validator(mode="after")
    def _adds_up(self) -> EkabsV0:
        problems = totals_problems(self.data)
        if problems:
            raise ValueError("; ".join(problems))
        return self


class ReceiptSchema(_Strict):
    ekabs_v0: EkabsV0


def totals_problems(data: Data) -> list[str]:
    """Every way ``data`` fails to add up, as messages naming the field (empty when it adds up)."""
    problems: list[str] = []
    total = money.to_minor(data.full_amount_incl_vat)
    by_rate: dict[Decimal, int] = defaultdict(int)
    lines_at_rate: dict[Decimal, int] = defaultdict(int)
    for index, line in enumerate(data.lines):
        discount = money.to_minor(line.discount) if line.discount is not None else 0
        expected = money.line_amount(line.item.quantity, money.to_minor(line.item.price_per_unit)) - discount
        if line.amount != expected:
            problems.append(f"data.lines[{index}]: incl_vat {money.format_minor(line.amount)} is not quantity x "
                            f"price_per_unit - discount = {money.format_minor(expected)}")
        by_rate[line.percentage] += line.amount
        lines_at_rate[line.percentage] += 1
    if sum(by_rate.values()) != total:
        problems.append(f"data.lines add up to {money.format_minor(sum(by_rate.values()))}, "
                        f"not full_amount_incl_vat {money.format_minor(total)}")
    paid = sum(money.to_minor(p.amount) for p in data.payment_types)
    if paid != total:
        problems.append(f"data.payment_types add up to {money.format_minor(paid)}, "
                        f"not full_amount_incl_vat {money.format_minor(total)}")
    seen: set[Decimal] = set()
    for index, row in enumerate(data.vat_amounts):
        rate = row.percentage.normalize()
        gross, net, vat = (money.to_minor(v) for v in (row.incl_vat, row.excl_vat, row.vat))
        where = f"data.vat_amounts[{index}]"
        if rate in seen:
            problems.append(f"{where}: percentage {money.plain_decimal(rate)} appears twice")
        seen.add(rate)
        if gross != by_rate.get(rate, 0):
            problems.append(f"{where}: incl_vat {money.format_minor(gross)} is not the sum of the lines at "
                            f"{money.plain_decimal(rate)}% ({money.format_minor(by_rate.get(rate, 0))})")
        if net + vat != gross:
            problems.append(f"{where}: excl_vat + vat is not incl_vat")
        # Per-line rounding may differ from rounding the group: allow one minor unit per line.
        if abs(vat - money.vat_included(gross, rate)) > max(1, lines_at_rate.get(rate, 0)):
            problems.append(f"{where}: vat {money.format_minor(vat)} is not {money.plain_decimal(rate)}% "
                            f"contained in {money.format_minor(gross)}")
    missing = set(by_rate) - seen
    if missing:
        problems.append("data.vat_amounts has no row for "
                        + ", ".join(f"{money.plain_decimal(r)}%" for r in sorted(missing)))
    return problems
