"""The emulated register's memory: shifts and the documents in them, and the report bodies built from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from edge.emulators.caspos.wire import CURRENCY, DATE_FORMAT, VAT_TYPES, money

# Payment fields of every document (§Parameter Descriptions l.46-50).
PAYMENT_FIELDS = ("cashPayment", "cardPayment", "creditPayment", "depositPayment", "bonusPayment")


@dataclass
class Doc:
    uuid: str
    kind: str  # the control tape's "type" (§Control Tape l.1761): sale, money_back, deposit, withdraw, …
    number: int
    document_id: str
    total: int
    payments: dict[str, int]
    vat: dict[int, int]  # vatType -> gross amount of the lines with that type
    items: int
    at: datetime
    answer: dict[str, Any]
    rolled_back: bool = False


@dataclass
class Shift:
    number: int
    opened: datetime
    docs: list[Doc] = field(default_factory=list)
    closed: datetime | None = None


def vat_of(gross: int, vat_type: int) -> int:
    """The VAT inside a gross amount; nothing for an exempt type (§Enum/Vat types l.1861)."""
    percent = VAT_TYPES[vat_type]
    if not percent:
        return 0
    return int((Decimal(gross) * percent / (100 + percent)).to_integral_value(rounding=ROUND_HALF_UP))


def _vat_amounts(docs: list[Doc]) -> list[dict[str, Decimal]]:
    """``saleVatAmounts``: one entry per rate, without ``vatPercent`` for exempt sales (§Close Shift l.347-355)."""
    sums: dict[Decimal | None, int] = {}
    for doc in docs:
        for vat_type, gross in doc.vat.items():
            sums[VAT_TYPES[vat_type]] = sums.get(VAT_TYPES[vat_type], 0) + gross
    return [
        ({"vatPercent": percent.quantize(Decimal("0.0"))} if percent is not None else {}) | {"vatSum": money(gross)}
        for percent, gross in sums.items()
    ]


_REPORT_KINDS = {"sale": "sale", "money_back": "moneyBack", "rollback": "rollback", "correction": "correction", "credit": "creditpay", "prepayment": "prepay"}
_PAYMENT_SUFFIX = (("cashPayment", "CashSum"), ("cardPayment", "CashlessSum"), ("bonusPayment", "BonusSum"),
                   ("creditPayment", "CreditSum"), ("depositPayment", "PrepaymentSum"))


def shift_report(shift: Shift, now: datetime, last_doc_number: int) -> dict[str, Any]:
    """The X report and Close Shift body (§X-Report l.1456-1600, §Close Shift l.280-390)."""
    currency: dict[str, Any] = {"currency": CURRENCY}
    for kind, prefix in _REPORT_KINDS.items():
        docs = [d for d in shift.docs if d.kind == kind]
        currency[f"{prefix}Count"] = len(docs)
        currency[f"{prefix}Sum"] = money(sum(d.total for d in docs))
        for wire, suffix in _PAYMENT_SUFFIX:
            currency[f"{prefix}{suffix}"] = money(sum(d.payments.get(wire, 0) for d in docs))
        currency[f"{prefix}VatAmounts"] = _vat_amounts(docs)
    for kind in ("deposit", "withdraw"):
        docs = [d for d in shift.docs if d.kind == kind]
        currency[f"{kind}Count"], currency[f"{kind}Sum"] = len(docs), money(sum(d.total for d in docs))
    numbers = [d.number for d in shift.docs] or [last_doc_number]
    return {
        "currencies": [currency], "docCountToSend": 0, "firstDocNumber": min(numbers), "lastDocNumber": max(numbers),
        "createdAtUtc": now.strftime(DATE_FORMAT), "reportNumber": str(shift.number), "shiftOpenAtUtc": shift.opened.strftime(DATE_FORMAT),
    }


def periodic_report(shifts: list[Shift], start: datetime, end: datetime, now: datetime) -> dict[str, Any]:
    """``getPeriodicZReport`` over the shifts closed between two times (§Periodic Report l.1631-1725)."""
    docs = [d for s in shifts if s.closed and start <= s.closed <= end for d in s.docs]
    out: dict[str, Any] = {"date": now.strftime(DATE_FORMAT), "startDate": start.strftime(DATE_FORMAT), "endDate": end.strftime(DATE_FORMAT)}
    for kind, prefix in (("sale", "sale"), ("money_back", "saleReturn"), ("rollback", "cancellation"), ("correction", "correction"),
                         ("credit", "credit"), ("prepayment", "prepayment")):
        chosen = [d for d in docs if d.kind == kind]
        out[f"{prefix}Count"] = len(chosen)
        out[f"{prefix}CashTotal"] = money(sum(d.payments.get("cashPayment", 0) for d in chosen))
        out[f"{prefix}CashlessTotal"] = money(sum(d.payments.get("cardPayment", 0) for d in chosen))
        out[f"{prefix}BonusTotal"] = money(sum(d.payments.get("bonusPayment", 0) for d in chosen))
    for kind, prefix in (("deposit", "cashIn"), ("withdraw", "cashOut")):
        chosen = [d for d in docs if d.kind == kind]
        out[f"{prefix}Count"], out[f"{prefix}Total"] = len(chosen), money(sum(d.total for d in chosen))
    sales = sum(d.total for d in docs if d.kind in ("sale", "credit", "prepayment", "correction"))
    returns = sum(d.total for d in docs if d.kind in ("money_back", "rollback"))
    out["periodSum"] = money(sales - returns)
    return out


def control_tape(shift: Shift, now: datetime) -> dict[str, Any]:
    """``getControlTape``: every document of the open shift (§Control Tape l.1728-1806); no documentUUID in it."""
    tape = [
        {"createdAtUtc": d.at.strftime(DATE_FORMAT), "document_id": d.document_id, "item_count": d.items, "total_sum": money(d.total),
         "total_vat": money(sum(vat_of(g, t) for t, g in d.vat.items())), "delivered": True, "number": d.number,
         "short_document_id": d.document_id[:12], "type": d.kind}
        for d in shift.docs
    ]
    return {"createdAtUtc": now.strftime(DATE_FORMAT), "documents_quantity": len(tape), "shift_number": shift.number,
            "shiftOpenAtUtc": shift.opened.strftime(DATE_FORMAT), "tape": tape}
