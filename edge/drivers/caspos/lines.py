"""A fiscal job's lines and payments as Caspos items and payment fields (seed 002 §Sales l.500-575, §Enum l.1859-1903)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from chalicelib.contracts import FiscalJob, JobLine, PaymentType
from edge.drivers.base import InvalidJob, UnsupportedDevice
from edge.drivers.caspos.api import CodeType, QuantityType, VatType
from edge.drivers.caspos.models import Item, Payments

# A rate as the job carries it -> the vatType that means that rate (§Enum/Vat types l.1861-1869): 18 % is Vat18
# (1), 0 % is Vat0 (5, "ƏDV 0%"), 2 % and 8 % the simplified tax (6, 7). VatFree (3, "ƏDV-dən azad") is not a
# rate: a shop whose 0 % goods are exempt maps 0 to 3 in the device's vat_codes; TradeSupplement (2) likewise.
DEFAULT_VAT_TYPES: dict[Decimal, VatType] = {
    Decimal(18): VatType.VAT18, Decimal(0): VatType.VAT0, Decimal(2): VatType.SIMPLIFIED_2, Decimal(8): VatType.SIMPLIFIED_8,
}


def vat_types(vat_codes: dict[Decimal, int]) -> dict[Decimal, VatType]:
    """The defaults with the device's configured ``vat_codes`` on top; a code that is no vatType is refused."""
    chosen = dict(DEFAULT_VAT_TYPES)
    for rate, code in vat_codes.items():
        if code not in VatType._value2member_map_:
            raise UnsupportedDevice(f"vat_codes: {code} is not a Caspos vatType ({', '.join(str(int(t)) for t in VatType)})")
        chosen[rate.normalize()] = VatType(code)
    return chosen


def vat_type(line: JobLine, types: dict[Decimal, VatType]) -> VatType:
    found = types.get(line.vat_rate.normalize())
    if found is None:
        raise InvalidJob(f"Caspos has no VAT type for {line.vat_rate}% (set the device's vat_codes)")
    if found is VatType.TRADE_SUPPLEMENT:
        raise InvalidJob(f"{line.name!r}: trade-margin VAT (vatType 2) needs the purchase price, which the job does not carry")
    return found


def item(position: int, line: JobLine, types: dict[Decimal, VatType]) -> Item:
    """One line. The job carries no barcode, unit or purchase price, so: the line's position as a plain-text code
    (codeType 0, "arbitrary value", l.1900), pieces (0) for a whole quantity and KQ (1) for a fractional one
    (l.1890-1891), and a trade-margin line (vatType 2) is refused, since its VAT needs the purchase price.

    A discount goes out as the item's ``discountAmount`` (§Parameter Descriptions l.61, "Discount on the item"),
    and the line is sent at what the customer pays, after the discount. The document never says whether the
    register takes ``discountAmount`` off the line; its Credit Sale example (l.619-634) settles it: one item at
    ``salePrice`` 480.0 with ``discountAmount`` 20.0 is paid 400 credit + 80 card = 480, and cashless payments
    cannot exceed the total (only cash gives change, l.46). So ``salePrice`` × quantity is already the paid amount
    and ``discountAmount`` only states the discount given: the line's own total travels as ``sum`` (l.56)."""
    found = vat_type(line, types)
    whole = line.quantity == line.quantity.to_integral_value()
    price, line_sum = line.unit_price, None
    exact = int((Decimal(line.unit_price) * line.quantity).to_integral_value(rounding=ROUND_HALF_UP))
    if exact != line.amount:
        # §Parameter Descriptions l.56: "sum" carries the line total when quantity × price does not give it (a
        # discounted or rounded line); the price is then the line's own average, so the two agree to a cent.
        price = int((Decimal(line.amount) / line.quantity).to_integral_value(rounding=ROUND_HALF_UP))
        line_sum = line.amount
    return Item(name=line.name, code=str(position), quantity=line.quantity, sale_price=price, vat_type=found,
                code_type=CodeType.PLAIN_TEXT, quantity_type=QuantityType.PIECE if whole else QuantityType.KG, line_sum=line_sum,
                discount=line.discount)


def vat_amounts(job: FiscalJob, types: dict[Decimal, VatType]) -> dict[VatType, int]:
    """The job's gross per vatType, as a RollBack's ``vatAmounts`` (§RollBack l.1419-1424: the example's one
    ``vatSum`` 0.70 is the whole ``sum`` 0.70, so a vatSum is the gross of that type, not the tax in it)."""
    sums: dict[VatType, int] = {}
    for line in job.lines:
        found = vat_type(line, types)
        sums[found] = sums.get(found, 0) + line.amount
    return sums


def payments(job: FiscalJob) -> Payments:
    """Every payment of the job in the document's fields (§Parameter Descriptions l.46-50): cash and card add up
    (split tender). Cash tendered goes out as ``cashPayment`` itself: "If the amount entered in this field exceeds
    the total cost of goods, the program will automatically calculate the change" (l.46) and prints "Given" and
    "Change". A refund pays money out: no change, so only the amount. Payment type ``other`` has no field: credit
    needs a credit contract and payer (§Credit Sale l.644-645), deposit the advance document
    (``prepaymentDocumentId``, l.556) and bonus the client's bonus card (l.66); a job carries none of them."""
    cash = card = 0
    for payment in job.tender:
        if payment.type is PaymentType.CASH:
            cash += payment.tendered if payment.tendered is not None and not job.is_refund else payment.amount
        elif payment.type is PaymentType.CARD:
            card += payment.amount
        else:
            raise InvalidJob(f"Caspos takes cash or card; payment {payment.method_id!r} of type 'other' has no Caspos field")
    return Payments(cash=cash, card=card)
