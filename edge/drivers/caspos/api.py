"""The Caspos Mobile integration API (seed 002): enums, error codes, numeric formats, JSON bodies.

The driver's wire types (the emulator has its own, ``edge/emulators/caspos/wire.py``). Requests are ``{"operation", "username", "password",
"data"}``; answers ``{"code", "message", "data"}``. Numbers travel as JSON numbers in the
seed's formats (quantity ``0.000``, prices and sums ``0.00``); here they are Decimals, and
money is integer minor units everywhere else.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from enum import IntEnum
from typing import Any

# Seed 002 has no printed page numbers: rules cite its section and the line of the text file.
DEFAULT_PORT = 5544  # §Introduction l.14
CONTENT_TYPE = "application/json; charset=utf-8"  # §Introduction l.15
DATE_FORMAT = "%d.%m.%Y %H:%M:%S"  # §Get Shift Status l.198, §Close Shift l.366
CURRENCY = "AZN"  # §Parameter Descriptions l.73: "Currency (always sent as AZN)"
SHIFT_LIMIT_HOURS = 24  # §Common Errors 504 l.1954-1960


class VatType(IntEnum):
    """§Enum/Vat types l.1861-1869."""

    VAT18 = 1
    TRADE_SUPPLEMENT = 2
    VAT_FREE = 3
    VAT0 = 5
    SIMPLIFIED_2 = 6
    SIMPLIFIED_8 = 7


class DocumentType(IntEnum):
    """§Enum/Document types l.1871-1885."""

    SALE = 0
    MONEY_BACK = 1
    DEPOSIT = 2
    WITHDRAW = 3
    X_REPORT = 4
    Z_REPORT = 5
    CORRECTION = 6
    ROLLBACK = 7
    CREDIT = 8
    PREPAYMENT = 9
    CREDIT_RETURN = 10
    PREPAYMENT_RETURN = 11


class QuantityType(IntEnum):
    """§Enum/Quantity types l.1887-1895: 0 Ədəd (pieces), 1 KQ, …"""

    PIECE = 0
    KG = 1
    LITRE = 2
    METRE = 3
    SQUARE_METRE = 4
    CUBIC_METRE = 5


class CodeType(IntEnum):
    """§Enum/Code Types l.1897-1903."""

    PLAIN_TEXT = 0
    EAN8 = 1
    EAN13 = 2
    SERVICE = 3


class MoneyBackType(IntEnum):
    """§Money Back notes l.1200-1204."""

    SALE = 0
    ADVANCE = 6
    CREDIT_PAY = 7


class Code(IntEnum):
    """Answer codes the driver acts on: §Errors l.1905-1910, §Common Errors l.1912-2074, §Error Messages l.2076 on."""

    OK = 0
    REPEATED_DOCUMENT_UUID = 1
    INVALID_LOGIN_SESSION = 401
    INVALID_USER_ROLE = 403
    INCORRECT_PIN = 404
    PIN_LOCKED = 405
    INVALID_DOCUMENT_TYPE = 501
    SHIFT_CLOSED = 503
    SHIFT_TOO_LONG = 504
    OFFLINE_TOO_LONG = 604
    INVALID_CURRENCY = 606
    INVALID_TOTAL_SUM = 607
    ITEMS_EMPTY = 610
    INVALID_ITEMS_SUM = 611
    INVALID_ITEM_CODE_TYPE = 612
    INVALID_VAT_TOTAL = 613
    INVALID_ITEM_TOTAL = 614
    INVALID_PERCENTAGES = 616
    ROLLBACK_PARENT_NOT_FOUND = 627
    WRONG_PARENT = 628
    INVALID_MONEYBACK_TYPE = 633
    PARENT_TOTAL_MISMATCH = 638
    ALREADY_ROLLED_BACK = 639
    RRN_WITHOUT_CASHLESS = 648
    GENERIC = 999


# Codes that say the document itself is wrong: sending it again can never succeed.
DOCUMENT_REJECTIONS = frozenset(
    {501, 606, 607, 608, 609, 610, 611, 612, 613, 614, 615, 616, 617, 618, 619, 620, 622, 627, 628, 629, 630, 631, 632, 633, 634, 635, 638, 639, 646, 647, 648, 649}
)

QTY = Decimal("0.001")
CENT = Decimal("0.01")


def amount(minor: int) -> Decimal:
    """Minor units as the seed's ``0.00`` number."""
    return (Decimal(minor) / 100).quantize(CENT)


def qty(value: Decimal) -> Decimal:
    """A quantity as the seed's ``0.000`` number."""
    return value.quantize(QTY, rounding=ROUND_HALF_UP)


def minor(value: Any) -> int:
    """A JSON number (parsed as Decimal) back to minor units, half up; ValueError if not a number."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise ValueError(f"not a number: {value!r}")
    return int((Decimal(value) * 100).to_integral_value(rounding=ROUND_HALF_UP))


def dumps(value: Any) -> bytes:
    """JSON with Decimals written as numbers exactly as quantized (``1.000``, ``0.70``), UTF-8."""

    def encode(item: Any) -> str:
        if isinstance(item, Decimal):
            return format(item, "f")
        if isinstance(item, bool) or item is None or isinstance(item, int | str):
            return json.dumps(item, ensure_ascii=False)
        if isinstance(item, dict):
            return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{encode(v)}" for k, v in item.items()) + "}"
        if isinstance(item, list | tuple):
            return "[" + ",".join(encode(v) for v in item) + "]"
        raise TypeError(f"cannot encode {type(item).__name__}")

    return encode(value).encode("utf-8")


def loads(body: bytes) -> Any:
    """Parse JSON with every non-integer number as Decimal (no float ever holds money)."""
    return json.loads(body.decode("utf-8"), parse_float=Decimal)
