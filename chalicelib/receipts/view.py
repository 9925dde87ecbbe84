"""What a person sees on a receipt, computed once for the web page and the PDF (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from chalicelib.core import money


@dataclass(frozen=True)
class LineView:
    text: str
    detail: str | None
    quantity: str
    unit_price: str
    amount: str
    vat: str
    discount: str | None


@dataclass(frozen=True)
class RefundOfView:
    """The original receipt a refund reverses: printed number and time, and the link to its eReceipt."""

    number: str
    issued: str
    url: str | None


@dataclass(frozen=True)
class VatRow:
    rate: str
    net: str
    vat: str
    gross: str


@dataclass(frozen=True)
class ReceiptView:
    title: str
    merchant: str
    merchant_details: list[str]
    number: str
    issued: str
    buyer: str | None
    buyer_tax_number: str | None
    refund_of: RefundOfView | None
    pos: str | None
    lines: list[LineView]
    vat_rows: list[VatRow]
    total: str
    currency: str
    payments: list[tuple[str, str]]
    change: list[tuple[str, str]]
    fiscal: list[tuple[str, str]]
    url: str
    pdf_url: str | None
    expires: str


def when(epoch: int | None) -> str:
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%d %b %Y, %H:%M UTC")


def _amount(text: str) -> str:
    return money.format_minor(money.to_minor(Decimal(text)))


def _address(seller: dict[str, Any]) -> list[str]:
    address = seller.get("address")
    details = [f"{address['street']}, {address['postal_code']} {address['city']}, {address['country_code']}"] if address else []
    if seller.get("vat_id"):
        details.append(f"VAT ID {seller['vat_id']}")
    if seller.get("tax_number"):
        details.append(f"Tax no. {seller['tax_number']}")
    return details


def build(record: dict[str, Any], url: str, pdf_url: str | None) -> ReceiptView:
    ekabs = record["schema"]["ekabs_v0"]
    head, data, security = ekabs["head"], ekabs["data"], ekabs.get("security") or {}
    pos = head.get("pos") or {}
    fiscal = [(label, value) for label, value in (
        ("Fiscal receipt no.", security.get("fiscal_number")),
        ("Fiscal device", security.get("fiscal_device")),
        ("Printed", when(security.get("printed_at")) if security.get("printed_at") else None),
    ) if value]
    refund_of = head.get("refund_of")
    return ReceiptView(
        title="Refund" if head.get("is_refund") else "Receipt",
        merchant=head["seller"]["name"],
        merchant_details=_address(head["seller"]),
        number=head["number"],
        issued=when(head["date"]),
        buyer=(head.get("buyer") or {}).get("name"),
        buyer_tax_number=(head.get("buyer") or {}).get("tax_number"),
        refund_of=RefundOfView(number=refund_of["number"], issued=when(refund_of["date"]), url=refund_of.get("url"))
        if refund_of else None,
        pos=" · ".join(p for p in (pos.get("name") or pos.get("id"), pos.get("cashier") and f"served by {pos['cashier']}") if p) or None,
        lines=[LineView(text=line["text"], detail=line.get("additional_text"),
                        quantity=money.plain_decimal(Decimal(line["item"]["quantity"])),
                        unit_price=_amount(line["item"]["price_per_unit"]),
                        amount=_amount(line["vat_amounts"][0]["incl_vat"]),
                        vat=money.plain_decimal(Decimal(line["vat_amounts"][0]["percentage"])),
                        discount=_amount(line["discount"]) if line.get("discount") else None)
               for line in data["lines"]],
        vat_rows=[VatRow(rate=money.plain_decimal(Decimal(row["percentage"])), net=_amount(row["excl_vat"]),
                         vat=_amount(row["vat"]), gross=_amount(row["incl_vat"])) for row in data["vat_amounts"]],
        total=_amount(data["full_amount_incl_vat"]),
        currency=data["currency"],
        payments=[(p["name"], _amount(p["amount"])) for p in data["payment_types"]],
        change=[(_amount(p["tendered"]), money.format_minor(money.to_minor(Decimal(p["tendered"]) - Decimal(p["amount"]))))
                for p in data["payment_types"] if p.get("tendered")],
        fiscal=fiscal,
        url=url,
        pdf_url=pdf_url,
        expires=when(record["public_expires_at"]),
    )
