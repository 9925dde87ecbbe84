"""Command codes and field formats of the ISL command set, as the driver writes and reads them.

Money travels as decimal text with two places ("13.30"); quantities with up to three
("1.5"); the printer's clock as "DD-MM-YY HH:MM:SS". Inside, money is integer minor units.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import IntEnum

ENCODING = "cp1251"
CLOCK_FORMAT = "%d-%m-%y %H:%M:%S"


class Command(IntEnum):
    OPEN_SERVICE_RECEIPT = 0x26
    CLOSE_SERVICE_RECEIPT = 0x27
    SERVICE_TEXT = 0x2A
    OPEN_STORNO_RECEIPT = 0x2E
    OPEN_FISCAL_RECEIPT = 0x30
    SALE = 0x31
    SUBTOTAL = 0x33
    TOTAL = 0x35
    FISCAL_TEXT = 0x36
    CLOSE_FISCAL_RECEIPT = 0x38
    CANCEL_FISCAL_RECEIPT = 0x3C
    SET_CLOCK = 0x3D
    READ_CLOCK = 0x3E
    LAST_FISCAL_RECORD = 0x40
    DAILY_REPORT = 0x45
    CASH_IN_OUT = 0x46
    STATUS = 0x4A
    TRANSACTION_STATUS = 0x4C
    DIAGNOSTIC_INFO = 0x5A
    TAX_RATES = 0x61
    LAST_DOCUMENT_NUMBER = 0x71
    READ_DOCUMENT = 0x7D
    DAISY_CANCEL_FISCAL_RECEIPT = 0x82


class FieldError(ValueError):
    """A field of an answer is not in the documented format."""


def money(minor: int) -> str:
    """Minor units as protocol text: 1330 -> '13.30', -50 -> '-0.50'."""
    sign = "-" if minor < 0 else ""
    units, cents = divmod(abs(minor), 100)
    return f"{sign}{units}.{cents:02d}"


_AMOUNT = re.compile(r"^([+-]?)(\d{1,12})(?:\.(\d{1,2}))?$")


def parse_amount(text: str) -> int:
    """An amount in an answer (33h, 35h, 45h, 46h, 4Ch) as minor units, in either form a device sends.

    The documents give no format for these fields (C doc pp.12-19, P doc pp.18-25, Daisy doc pp.16-26).
    ErpNet.FP (BgIslFiscalPrinter.Commands.cs GetReceiptAmount, BgIslFiscalPrinter.cs Cash) reads an
    amount with a decimal point as currency units and one without as whole stotinki; so does this.
    """
    match = _AMOUNT.match(text.strip())
    if not match:
        raise FieldError(f"not an amount: {text.strip()!r}")
    sign, whole, cents = match.groups()
    minor = int(whole) * 100 + int(cents.ljust(2, "0")) if cents is not None else int(whole)
    return -minor if sign == "-" else minor


_THOUSANDTH = Decimal("0.001")


def quantity(value: Decimal) -> str:
    """A quantity as the printer takes it: no exponent, no trailing zeros, at most 3 decimals."""
    return format(value.quantize(_THOUSANDTH).normalize(), "f")


def line_amount(unit_price: int, qty: Decimal) -> int:
    """Price times quantity, rounded half up to the minor unit, as the printer computes it."""
    return int((Decimal(unit_price) * qty).to_integral_value(rounding=ROUND_HALF_UP))


def format_clock(moment: datetime) -> str:
    return moment.strftime(CLOCK_FORMAT)


_CLOCK = re.compile(r"(\d\d)-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)")


def parse_clock(text: str) -> datetime:
    """The printer clock (kept in UTC by this bridge) as an aware datetime.

    Read once per receipt, so parsed with one regex rather than ``strptime`` (several times
    slower); two-digit years follow ``strptime``'s rule: 69..99 are 19xx, 00..68 are 20xx.
    """
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        raise FieldError(f"not a printer date/time: {text!r}")
    day, month, year, hour, minute, second = map(int, match.groups())
    try:
        return datetime(year + (1900 if year >= 69 else 2000), month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:
        raise FieldError(f"not a printer date/time: {text!r}") from exc


_CONTROLS_TO_QUESTION_MARK = {code: "?" for code in range(0x20) if chr(code) not in "\t\n"}


def encode_text(text: str) -> bytes:
    """Text in the printer's code page; control characters but TAB/LF and unknown letters become '?'.

    The code page agrees with ASCII below 80h, and ASCII has the faster codec.
    """
    cleaned = text.translate(_CONTROLS_TO_QUESTION_MARK)
    return cleaned.encode("ascii") if cleaned.isascii() else cleaned.encode(ENCODING, errors="replace")


def decode_text(data: bytes) -> str:
    return data.decode("ascii") if data.isascii() else data.decode(ENCODING, errors="replace")
