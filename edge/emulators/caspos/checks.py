"""The checks seed 002 documents for a document's currency, lines, payments and bank fields, with its answer codes."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from edge.emulators.caspos import wire
from edge.emulators.caspos.ledger import PAYMENT_FIELDS

_CASHLESS = ("cardPayment", "creditPayment", "depositPayment", "bonusPayment")


class Refusal(Exception):
    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(detail or wire.MESSAGES.get(code, wire.MESSAGES[wire.GENERIC]))
        self.code = code


def currency(data: dict[str, Any]) -> None:
    # §Parameter Descriptions l.73: always AZN; anything else is 606 "invalid currency name".
    if data.get("currency", wire.CURRENCY) != wire.CURRENCY:
        raise Refusal(wire.INVALID_CURRENCY)


def vat_type(value: Any) -> int:
    if isinstance(value, bool) or int(value) not in wire.VAT_TYPES:
        raise Refusal(wire.INVALID_PERCENTAGES)  # §Common Errors 616 l.2034: "Incorrect type of VAT"
    return int(value)


def items(lines: Any) -> tuple[int, dict[int, int]]:
    """The lines' total and gross per vatType (§Sales items l.564-575)."""
    if not isinstance(lines, list) or not lines:
        raise Refusal(wire.ITEMS_EMPTY)
    total, vat = 0, {}
    for item in lines:
        if int(item.get("codeType", -1)) not in wire.CODE_TYPES:
            raise Refusal(wire.INVALID_ITEM_CODE_TYPE)  # §Common Errors 612 l.2014
        if int(item.get("quantityType", -1)) not in wire.QUANTITY_TYPES:
            raise Refusal(wire.JSON_TYPE_ERROR, "json: type: deserialize error: quantityType")  # §Enum/Quantity types l.1887
        line_type = vat_type(item.get("vatType", -1))
        if not str(item.get("name") or "").strip():
            raise Refusal(wire.INVALID_ITEM_NAME)
        quantity, price = Decimal(item["quantity"]), Decimal(item["salePrice"])
        if quantity <= 0 or price < 0:
            raise Refusal(wire.INVALID_ITEM_TOTAL)
        computed = int((quantity * price * 100).to_integral_value(rounding=ROUND_HALF_UP))
        # §Parameter Descriptions l.56: "sum" gives the line total when quantity × price rounds badly.
        line = wire.to_minor(item["sum"]) if "sum" in item else computed
        if abs(line - computed) > 1:
            raise Refusal(wire.INVALID_ITEM_TOTAL)
        if line_type == wire.TRADE_SUPPLEMENT:
            # Trade-margin VAT (l.1865) is on sale minus purchase price: that price must be given and not exceed the sale
            # price, else 617 "invalid item margin price" (§Error Messages).
            purchase = Decimal(item.get("purchasePrice", 0))
            if not 0 < purchase <= price:
                raise Refusal(wire.INVALID_MARGIN_PRICE)
        # discountAmount ("Discount on the item", l.61) is not taken off: the Credit Sale example (l.619-635) pays
        # 400 credit + 80 card = 480 for one item of 480.0 carrying "discountAmount": 20.0, and cashless payments
        # cannot exceed the total, so salePrice is what the customer pays and the discount is only stated. A
        # discount that is no amount, or below zero, makes the line's total wrong: 614.
        discount = item.get("discountAmount", 0)
        if isinstance(discount, bool) or not isinstance(discount, Decimal | int) or discount < 0:
            raise Refusal(wire.INVALID_ITEM_TOTAL)
        total += line
        vat[line_type] = vat.get(line_type, 0) + line
    return total, vat


def payments(data: dict[str, Any], total: int) -> dict[str, int]:
    """Only cash may exceed the total, the rest is change (§Parameter Descriptions l.46); together they cover it (607)."""
    paid = {k: wire.to_minor(data.get(k, 0)) for k in PAYMENT_FIELDS}
    if any(v < 0 for v in paid.values()):
        raise Refusal(wire.INVALID_TOTAL_SUM)
    cashless = sum(paid[k] for k in _CASHLESS)
    if cashless > total or cashless + paid["cashPayment"] < total:
        raise Refusal(wire.INVALID_TOTAL_SUM)
    rrn(data, paid)
    paid["cashPayment"] = total - cashless  # the change given back is not takings
    return paid


def rrn(data: dict[str, Any], paid: dict[str, int]) -> None:
    """The bank transaction's RRN: only with a card payment, and as long as every example's (12 characters)."""
    value = str(data.get("rrn") or "")
    if value and not paid["cardPayment"]:
        raise Refusal(wire.RRN_WITHOUT_CASHLESS)  # §Error Messages 648
    if value and len(value) != 12:
        raise Refusal(wire.INVALID_RRN_LENGTH)  # §Common Errors 646; every example RRN has 12 digits


def credit_parties(data: dict[str, Any]) -> None:
    if not 0 < len(str(data.get("creditContract") or "")) <= 64:
        raise Refusal(wire.CONTRACT_LENGTH)  # §Error Messages 630
    if not 0 < len(str(data.get("creditPayer") or "")) <= 128:
        raise Refusal(wire.PAYER_LENGTH)  # §Error Messages 631
