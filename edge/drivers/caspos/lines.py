"""A fiscal job's lines and payment as Caspos items and payment fields (seed 002 §Sales l.500-575, §Enum l.1859-1903)."""

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


def item(position: int, line: JobLine, types: dict[Decimal, VatType]) -> Item:
    """One line. The job carries no barcode, unit or purchase price, so: the line's position as a plain-text code
    (codeType 0, "arbitrary value", l.1900), pieces (0) for a whole quantity and KQ (1) for a fractional one
    (l.1890-1891), and a trade-margin line (vatType 2) is refused, since its VAT needs the purchase price."""
    vat_type = types.get(line.vat_rate.normalize())
    if vat_type is None:
        raise InvalidJob(f"Caspos has no VAT type for {line.vat_rate}% (set the device's vat_codes)")
    if vat_type is VatType.TRADE_SUPPLEMENT:
        raise InvalidJob(f"{line.name!r}: trade-margin VAT (vatType 2) needs the purchase price, which the job does not carry")
    whole = line.quantity == line.quantity.to_integral_value()
    price, line_sum = line.unit_price, None
    exact = int((Decimal(line.unit_price) * line.quantity).to_integral_value(rounding=ROUND_HALF_UP))
    if exact != line.amount:
        # §Parameter Descriptions l.56: "sum" carries the line total when quantity × price does not give it (a
        # discounted or rounded line); the price is then the line's own average, so the two agree to a cent.
        price = int((Decimal(line.amount) / line.quantity).to_integral_value(rounding=ROUND_HALF_UP))
        line_sum = line.amount
    return Item(name=line.name, code=str(position), quantity=line.quantity, sale_price=price, vat_type=vat_type,
                code_type=CodeType.PLAIN_TEXT, quantity_type=QuantityType.PIECE if whole else QuantityType.KG, line_sum=line_sum)


def payments(job: FiscalJob) -> Payments:
    """Cash or card (§Parameter Descriptions l.46-50); the register has no field for another payment type."""
    if job.payment.type is PaymentType.CASH:
        return Payments(cash=job.payment.amount)
    if job.payment.type is PaymentType.CARD:
        return Payments(card=job.payment.amount)
    raise InvalidJob("Caspos takes cash or card for a sale; payment type 'other' has no Caspos field")
