"""The Caspos Mobile integration API as seed 002 writes it, for the emulator only (nothing from ``edge/drivers``).

Seed 002 (``../shared/seeds/002_06205e61675752b2.txt``) has no printed page numbers: every rule here cites
its section and the line of that text file, e.g. ``§Enum/Vat types l.1861``.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

# §Introduction l.14-15: HTTP on port 5544, "application/json; charset=utf-8".
PORT = 5544
CONTENT_TYPE = "application/json; charset=utf-8"
# §Get Shift Status l.175 / §Close Shift l.366-369: "dd.MM.yyyy HH:mm:ss".
DATE_FORMAT = "%d.%m.%Y %H:%M:%S"
# §Correction l.1355: first/lastOperationAtUtc are ISO 8601 with Z.
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# §Parameter Descriptions l.73: "currency: Currency (always sent as AZN)".
CURRENCY = "AZN"
# §Common Errors 504 l.1954-1960: a shift may stay open 24 hours.
SHIFT_HOURS = 24

# Every operation the document describes, by its section: Login, Logout, GetInfo, Get Shift Status, Open Shift, Close
# Shift, Deposit, Withdraw, Sales (and Credit Sale, Advance Pay), Credit Pay, Advance (Deposit) Sale, Advance Sale Items,
# Money Back (and Manual), Correction, RollBack, X-Report, Print Last, Periodic Report, Control Tape, Printer Connection,
# Open CashBox (l.86-1857).
OPERATIONS = frozenset({
    "toLogin", "toLogout", "getInfo", "getShiftStatus", "openShift", "closeShift", "deposit", "withDraw", "sale", "credit",
    "prepayment", "prepaymentProducts", "moneyBack", "correction", "rollBack", "getXReport", "printLastCheque",
    "getPeriodicZReport", "getControlTape", "isConnectedPrinter", "openCashbox",
})

# §Enum/Vat types l.1861-1869: vatType -> percent of VAT inside the price; None = exempt (VatFree, "ƏDV-dən azad").
# Type 2 (TradeSupplement, "Ticarət ƏDV-si 18%") is 18 % of the trade margin (sale minus purchase price).
# Types 6 and 7 ("Sadələşdirilmiş") are the simplified tax at 2 % and 8 %.
VAT_TYPES: dict[int, Decimal | None] = {1: Decimal(18), 2: Decimal(18), 3: None, 5: Decimal(0), 6: Decimal(2), 7: Decimal(8)}
TRADE_SUPPLEMENT = 2
VAT_FREE = 3
# §Enum/Quantity types l.1887-1895: 0 Ədəd (pieces), 1 KQ, 2 Litr, 3 Metr, 4 Kv. metr, 5 Kub. metr.
QUANTITY_TYPES = frozenset(range(6))
# §Enum/Code Types l.1897-1903: 0 plain text, 1 EAN8, 2 EAN13, 3 service code.
CODE_TYPES = frozenset(range(4))
# §Money Back notes l.1200-1204: moneyBackType 0 sale, 6 advance, 7 credit payment.
MONEY_BACK_TYPES = frozenset({0, 6, 7})

# Answer codes: §Errors l.1905-1910 (0, 1, 999) and §Error Messages l.2076 onwards (the device's own codes).
OK = 0
REPEATED_UUID = 1
INVALID_LOGIN_SESSION = 401
INCORRECT_PIN = 404
INVALID_DOCUMENT_TYPE = 501
SHIFT_STATUS = 503
SHIFT_DURATION = 504
LAST_DOC_NONE = 231
HANDLER_UNKNOWN_COMMAND = 305
INVALID_CURRENCY = 606
INVALID_TOTAL_SUM = 607
TOO_LONG_CASHIER = 608
ITEMS_EMPTY = 610
INVALID_ITEMS_SUM = 611
INVALID_ITEM_CODE_TYPE = 612
INVALID_VAT_TOTAL = 613
INVALID_ITEM_TOTAL = 614
INVALID_PERCENTAGES = 616
INVALID_MARGIN_PRICE = 617
ROLLBACK_PARENT_MISSING = 627
WRONG_PARENT = 628
CONTRACT_LENGTH = 630
PAYER_LENGTH = 631
CREDIT_PREPAY_FORBIDDEN = 632
INVALID_MONEY_BACK_TYPE = 633
INVALID_ITEM_NAME = 635
PARENT_TOTAL_MISMATCH = 638
ALREADY_ROLLED_BACK = 639
INVALID_DATETIME = 642
INVALID_RRN_LENGTH = 646
RRN_WITHOUT_CASHLESS = 648
JSON_NOT_RECOGNIZED = 1002
JSON_TYPE_ERROR = 1008
GENERIC = 999

MESSAGES: dict[int, str] = {
    OK: "Success operation",
    REPEATED_UUID: "Repeated DocumentUUID value",
    LAST_DOC_NONE: "last doc: no documents have been created yet",
    HANDLER_UNKNOWN_COMMAND: "handler: unknown command",
    INVALID_LOGIN_SESSION: "invalid login session",
    INCORRECT_PIN: "incorrect pin code",
    INVALID_DOCUMENT_TYPE: "invalid document type",
    SHIFT_STATUS: "document: invalid shift status",
    SHIFT_DURATION: "document: invalid shift duration",
    INVALID_CURRENCY: "invalid currency name",
    INVALID_TOTAL_SUM: "invalid total sum",
    TOO_LONG_CASHIER: "too long cashier string",
    ITEMS_EMPTY: "items array is empty",
    INVALID_ITEMS_SUM: "invalid items sum",
    INVALID_ITEM_CODE_TYPE: "invalid item code type",
    INVALID_VAT_TOTAL: "invalid vat amounts total",
    INVALID_ITEM_TOTAL: "invalid total sum in one item",
    INVALID_PERCENTAGES: "invalid percentages",
    INVALID_MARGIN_PRICE: "invalid item margin price",
    ROLLBACK_PARENT_MISSING: "sale doc for rollback cannot be found",
    WRONG_PARENT: "you have entered a wrong parent doc",
    CONTRACT_LENGTH: "contract field has invalid length",
    PAYER_LENGTH: "payer name field has invalid length",
    CREDIT_PREPAY_FORBIDDEN: "credit/prepay sum is forbidden",
    INVALID_MONEY_BACK_TYPE: "invalid moneyback type value",
    INVALID_ITEM_NAME: "invalid item name len",
    PARENT_TOTAL_MISMATCH: "total sum mismatch the parent document",
    ALREADY_ROLLED_BACK: "the parent doc you have entered has been already rolled back",
    INVALID_DATETIME: "invalid datetime value",
    INVALID_RRN_LENGTH: "invalid length of RRN",
    RRN_WITHOUT_CASHLESS: "RRN cannot be used without cashless funds",
    JSON_NOT_RECOGNIZED: "json: input is not recognized",
    JSON_TYPE_ERROR: "json: type: deserialize error",
    GENERIC: "Error message:",
}

CENT = Decimal("0.01")


def money(minor: int) -> Decimal:
    """Minor units as the document's ``0.00`` number (§Introduction l.16)."""
    return (Decimal(minor) / 100).quantize(CENT)


def to_minor(value: Any) -> int:
    """A JSON number to minor units, half up; TypeError for anything that is not a number."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"not a number: {value!r}")
    return int((Decimal(value) * 100).to_integral_value(rounding=ROUND_HALF_UP))


def encode(value: Any) -> bytes:
    """UTF-8 JSON with Decimals written exactly as quantized (``2.80``), as the device writes its answers."""

    def write(item: Any) -> str:
        if isinstance(item, Decimal):
            return format(item, "f")
        if isinstance(item, dict):
            return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{write(v)}" for k, v in item.items()) + "}"
        if isinstance(item, list | tuple):
            return "[" + ",".join(write(v) for v in item) + "]"
        return json.dumps(item, ensure_ascii=False)

    return write(value).encode("utf-8")


def decode(body: bytes) -> Any:
    """JSON with every fractional number as Decimal."""
    return json.loads(body.decode("utf-8"), parse_float=Decimal)
