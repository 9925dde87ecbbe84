"""Numbers on the wire: prices, quantities and percentages in; amounts out.

Prices have up to 8 significant digits and the decimals set by command 53h (two here);
quantities up to 8 significant digits with at most 3 decimals (C doc p.10-11, P doc p.17,
Daisy doc p.15). Inside, money is integer stotinki and quantities integer thousandths.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from edge.emulators.isl.errors import SyntaxFault

_NUMBER = re.compile(r"(?P<sign>[+-]?)(?P<whole>\d+)(?:\.(?P<frac>\d+))?")


def _significant(whole: str, frac: str) -> int:
    return len((whole + frac).lstrip("0")) or 1


def parse_number(text: str, *, decimals: int, digits: int, signs: str = "") -> Decimal:
    """A decimal with at most ``decimals`` places and ``digits`` significant digits."""
    match = _NUMBER.fullmatch(text)
    if match is None or (match["sign"] and match["sign"] not in signs):
        raise SyntaxFault(f"not a number: {text!r}")
    frac = match["frac"] or ""
    if len(frac) > decimals or _significant(match["whole"], frac) > digits:
        raise SyntaxFault(f"number out of format: {text!r}")
    return Decimal(text)


def to_stotinki(value: Decimal) -> int:
    return int((value * 100).to_integral_value(rounding=ROUND_HALF_UP))


def parse_money(text: str, *, digits: int = 8, signs: str = "") -> int:
    return to_stotinki(parse_number(text, decimals=2, digits=digits, signs=signs))


def parse_quantity(text: str) -> int:
    """Thousandths of a unit."""
    value = parse_number(text, decimals=3, digits=8)
    if value <= 0:
        raise SyntaxFault("quantity must be positive")
    return int(value * 1000)


def line_amount(price: int, quantity: int) -> int:
    """Price times quantity, rounded by the device to the stotinka (C doc p.11)."""
    return int((Decimal(price) * quantity / 1000).to_integral_value(rounding=ROUND_HALF_UP))


def percent_of(amount: int, percent: Decimal) -> int:
    return int((Decimal(amount) * percent / 100).to_integral_value(rounding=ROUND_HALF_UP))


def decimal_text(stotinki: int, *, signed: bool = False) -> str:
    """``9.10`` (``+9.10`` when signed)."""
    sign = "-" if stotinki < 0 else ("+" if signed else "")
    return f"{sign}{abs(stotinki) // 100}.{abs(stotinki) % 100:02d}"


def stotinki_text(stotinki: int, *, signed: bool = False, width: int = 0) -> str:
    """``910`` (``+910`` when signed); ``width`` pads the digits with zeros."""
    sign = "-" if stotinki < 0 else ("+" if signed else "")
    return f"{sign}{abs(stotinki):0{width}d}"
