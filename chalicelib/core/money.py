"""Money arithmetic: integer minor units inside, decimal strings at the edges."""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

CENT = Decimal("0.01")


def decimal_string_schema(bounds: FieldInfo) -> dict[str, str]:
    """The JSON Schema of a decimal string such as "3.50" within a Field's ``le`` and ``decimal_places``,
    above zero when it has ``gt``, else non-negative."""
    limits = {name: getattr(constraint, name) for constraint in bounds.metadata
              for name in ("gt", "le", "decimal_places") if getattr(constraint, name, None) is not None}
    integer_digits, places = len(str(int(limits["le"]))), limits["decimal_places"]
    if "gt" not in limits:
        return {"type": "string", "pattern": rf"^\d{{1,{integer_digits}}}(\.\d{{1,{places}}})?$"}
    fractions = "|".join("0" * zeros + "[1-9]" + (rf"\d{{0,{places - 1 - zeros}}}" if zeros < places - 1 else "")
                         for zeros in range(places))
    return {"type": "string", "pattern": rf"^([1-9]\d{{0,{integer_digits - 1}}}(\.\d{{1,{places}}})?|0\.({fractions}))$"}


def to_minor(amount: Decimal) -> int:
    return int((amount / CENT).to_integral_value(ROUND_HALF_UP))


def format_minor(minor: int) -> str:
    return str((Decimal(minor) * CENT).quantize(CENT))


def line_amount(quantity: Decimal, unit_price_minor: int) -> int:
    return int((quantity * unit_price_minor).to_integral_value(ROUND_HALF_UP))


def vat_included(gross_minor: int, rate: Decimal) -> int:
    """VAT contained in a VAT-inclusive amount, rounded half-up per rate group."""
    if rate == 0:
        return 0
    return int((Decimal(gross_minor) * rate / (100 + rate)).to_integral_value(ROUND_HALF_UP))


def vat_breakdown(lines: list[tuple[Decimal, int]]) -> list[dict[str, int | Decimal]]:
    """Group (vat_rate, gross amount) pairs into one entry per rate, sorted by rate."""
    gross: dict[Decimal, int] = defaultdict(int)
    for rate, amount in lines:
        gross[rate.normalize()] += amount
    return [
        {"rate": rate, "gross": total, "vat": vat_included(total, rate), "net": total - vat_included(total, rate)}
        for rate, total in sorted(gross.items())
    ]


def plain_decimal(value: Decimal) -> str:
    """'20' for 20, '9.5' for 9.50: the shortest exact decimal string, never exponent notation."""
    return format(value.normalize(), "f")


_ASCII_DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def ascii_decimal_text(value: Any) -> Any:
    """A decimal string as the API documents it: ASCII digits only. Python's Decimal reads Arabic-Indic ("٣") and
    full-width ("１") digits too, which no fiscal device or spreadsheet downstream would."""
    if isinstance(value, str) and not _ASCII_DECIMAL.match(value.strip()):
        raise ValueError("must be a decimal string of ASCII digits such as \"3.50\"")
    return value


def payments_of(order: dict[str, Any]) -> list[dict[str, Any]]:
    """A stored order's payments (minor units); an order recorded before split tender has one ``payment`` of its
    whole total. Receipts and reports both read orders this way and may not import each other."""
    return order.get("payments") or [{**order["payment"], "amount": order["total"]}]
