"""The ZFP commands this driver sends (Tremol doc, pages per command) and the formats of their fields."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import IntEnum

ENCODING = "cp1251"  # p.6: texts in Windows-1251
SEPARATOR = ";"  # p.6: data fields separated with ';'


class Command(IntEnum):
    STATUS = 0x20  # p.10
    OPEN_SERVICE_RECEIPT = 0x2E  # p.38
    CLOSE_SERVICE_RECEIPT = 0x2F  # p.38
    OPEN_RECEIPT = 0x30  # p.39 sale, p.40 storno
    SELL = 0x31  # p.47, by VAT class
    SUBTOTAL = 0x33  # p.50
    PAYMENT = 0x35  # p.53
    PRINT_TEXT = 0x37  # p.54
    CLOSE_RECEIPT = 0x38  # p.54
    CANCEL_RECEIPT = 0x39  # p.55
    CASH_IN_OUT = 0x3B  # p.55
    READ_NUMBERS = 0x60  # p.25, serial and FM numbers
    READ_VAT_RATES = 0x62  # p.25
    READ_CLOCK = 0x68  # p.30
    DAILY_AMOUNTS = 0x6D  # p.59
    LAST_RECEIPT_NUMBER = 0x71  # p.72
    RECEIPT_INFO = 0x72  # p.72 current receipt, 'P' payments p.73, 'b' QR data of a receipt p.74
    LAST_DAILY_REPORT = 0x73  # p.76
    DAILY_REPORT = 0x7C  # p.80


# Commands that only read: asked again under a new message number when their answer is lost. 33h is one as this
# driver sends it ("0;0": no printing, no display, no discount; p.50).
QUERIES = frozenset({Command.STATUS, Command.READ_NUMBERS, Command.READ_VAT_RATES, Command.READ_CLOCK, Command.DAILY_AMOUNTS,
                     Command.LAST_RECEIPT_NUMBER, Command.RECEIPT_INFO, Command.LAST_DAILY_REPORT, Command.SUBTOTAL})

# p.47: VAT classes А..З, Cyrillic capitals.
VAT_CLASSES = ("А", "Б", "В", "Г", "Д", "Е", "Ж", "З")


class FieldError(ValueError):
    """A field of an answer is not in the documented format."""


def money(minor: int) -> str:
    """p.9: a price/value field, a decimal point number: 1330 -> '13.30', -50 -> '-0.50'."""
    sign = "-" if minor < 0 else ""
    units, cents = divmod(abs(minor), 100)
    return f"{sign}{units}.{cents:02d}"


_AMOUNT = re.compile(r"^([+-]?)(\d{1,13})(?:\.(\d{1,2}))?$")


def parse_amount(text: str) -> int:
    """An amount in an answer (p.9: a floating decimal point number, optionally signed) as minor units."""
    match = _AMOUNT.match(text.strip())
    if not match:
        raise FieldError(f"not an amount: {text.strip()!r}")
    sign, whole, cents = match.groups()
    minor = int(whole) * 100 + int((cents or "0").ljust(2, "0"))
    return -minor if sign == "-" else minor


def quantity(value: Decimal) -> str:
    """p.9: up to three digits after the decimal point, no exponent."""
    return format(value.quantize(Decimal("0.001")).normalize(), "f")


def line_amount(unit_price: int, qty: Decimal) -> int:
    """Price times quantity, rounded half up to the minor unit."""
    return int((Decimal(unit_price) * qty).to_integral_value(rounding=ROUND_HALF_UP))


def storno_moment(moment: datetime) -> str:
    """p.40: RelatedToRcpDateTime "DD-MM-YY HH:MM:SS"."""
    return moment.strftime("%d-%m-%y %H:%M:%S")


def parse_clock(text: str) -> datetime:
    """p.30: 68h answers "DD-MM-YYYY HH:MM" (the device clock, kept in UTC by this bridge)."""
    try:
        return datetime.strptime(text.strip(), "%d-%m-%Y %H:%M").replace(tzinfo=UTC)
    except ValueError as exc:
        raise FieldError(f"not a device date/time: {text!r}") from exc


_CLEAN = {**{code: "?" for code in range(0x20)}, ord(SEPARATOR): ","}


def clean(text: str) -> str:
    """A text of ours made safe for a field: control characters become '?', the field separator ',' (p.6)."""
    return text.translate(_CLEAN)


def encode_text(data: str) -> bytes:
    """A command's data in cp1251 (p.6); letters cp1251 lacks become '?'. ASCII, the most, has the faster codec."""
    return data.encode("ascii") if data.isascii() else data.encode(ENCODING, errors="replace")


def decode_text(data: bytes) -> str:
    return data.decode("ascii") if data.isascii() else data.decode(ENCODING, errors="replace")


def fit(text: str, limit: int) -> str:
    """A text of ours, made safe (``clean``) and cut to ``limit`` symbols (one byte each in cp1251)."""
    return clean(text)[:limit]
