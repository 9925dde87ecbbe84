"""What the simulated register prints: receipt and report text, VAT arithmetic and the daily report."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, get_args

from edge.emulators.simulated.models import (
    PAPER_WIDTH,
    CashTotals,
    PaymentKind,
    PaymentTotal,
    Receipt,
    ReceiptLine,
    Report,
    VatTotal,
)

PAYMENT_KINDS: tuple[PaymentKind, ...] = get_args(PaymentKind)


def format_minor(amount: int) -> str:
    """Minor units as a two-decimal string: 1234 -> '12.34', -5 -> '-0.05'."""
    sign = "-" if amount < 0 else ""
    units, cents = divmod(abs(amount), 100)
    return f"{sign}{units}.{cents:02d}"


def vat_included(gross: int, rate: Decimal) -> int:
    """The VAT contained in a VAT-inclusive amount, rounded half up to a minor unit."""
    vat = Decimal(gross) * rate / (Decimal(100) + rate)
    return int(vat.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def fiscal_number_text(number: int) -> str:
    return f"{number:08d}"


def paper_row(left: str, right: str) -> str:
    return f"{left[: PAPER_WIDTH - len(right) - 1]:<{PAPER_WIDTH - len(right)}}{right}"


def paper_stamp(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def render_receipt(receipt: Receipt, groups: dict[str, Decimal]) -> str:
    out = ["SIMULATED FISCAL REGISTER", f"S/N {receipt.serial}", "REFUND" if receipt.is_refund else "SALE"]
    if receipt.refund_of is not None:
        original = receipt.refund_of
        out += [f"OF RECEIPT No {original.fiscal_number}", f"  S/N {original.serial}", f"  {paper_stamp(original.printed_at)}",
                paper_row("  ORIGINAL TOTAL", format_minor(original.total))]
    if receipt.buyer_tax_id is not None:
        out.append(f"BUYER TAX ID {receipt.buyer_tax_id}")
    out.append("-" * PAPER_WIDTH)
    for line in receipt.lines:
        out.append(line.name)
        if line.discount:
            out.append(paper_row(f"  {line.quantity} x {format_minor(line.unit_price)}", format_minor(line.amount + line.discount)))
            out.append(paper_row("  DISCOUNT", f"{format_minor(-line.discount)} {line.vat_group}"))
        else:
            out.append(paper_row(f"  {line.quantity} x {format_minor(line.unit_price)}", f"{format_minor(line.amount)} {line.vat_group}"))
    out.append("-" * PAPER_WIDTH)
    out.append(paper_row("TOTAL", f"{receipt.currency} {format_minor(receipt.total)}"))
    out += [paper_row(payment.type.upper(), format_minor(payment.amount)) for payment in receipt.payments]
    if receipt.change:
        out.append(paper_row("CHANGE", format_minor(receipt.change)))
    for group, gross in sorted(_group_sums(receipt.lines).items()):
        out.append(paper_row(f"VAT {group} {groups[group]}%", format_minor(vat_included(gross, groups[group]))))
    out += [
        f"OPERATOR {receipt.operator}",
        f"FISCAL RECEIPT No {receipt.fiscal_number}",
        f"SALE ID {receipt.sale_id}",
        paper_stamp(receipt.printed_at),
    ]
    return "\n".join(out)


def _group_sums(lines: list[ReceiptLine]) -> dict[str, int]:
    sums: dict[str, int] = {}
    for line in lines:
        sums[line.vat_group] = sums.get(line.vat_group, 0) + line.amount
    return sums


def _payment_totals(receipts: list[Receipt]) -> list[PaymentTotal]:
    """Per payment type (in the register's order), what sales took and refunds paid back, change deducted."""
    totals = []
    for kind in PAYMENT_KINDS:
        sales = sum(r.paid_by(kind) for r in receipts if not r.is_refund)
        refunds = sum(r.paid_by(kind) for r in receipts if r.is_refund)
        if sales or refunds:
            totals.append(PaymentTotal(type=kind, sales=sales, refunds=refunds, net=sales - refunds))
    return totals


def build_report(
    kind: Literal["X", "Z"],
    receipts: list[Receipt],
    groups: dict[str, Decimal],
    z_number: int | None,
    serial: str,
    now: int,
    moves: list[int] | None = None,
) -> Report:
    """Totals per VAT group over the given receipts (pure; rendering included)."""
    sales: dict[str, int] = {}
    refunds: dict[str, int] = {}
    for receipt in receipts:
        bucket = refunds if receipt.is_refund else sales
        for group, gross in _group_sums(receipt.lines).items():
            bucket[group] = bucket.get(group, 0) + gross
    totals = []
    for group in sorted(set(sales) | set(refunds)):
        net = sales.get(group, 0) - refunds.get(group, 0)
        totals.append(
            VatTotal(
                group=group,
                rate=groups[group],
                sales=sales.get(group, 0),
                refunds=refunds.get(group, 0),
                net=net,
                vat=vat_included(net, groups[group]),
            )
        )
    total_sales = sum(t.sales for t in totals)
    total_refunds = sum(t.refunds for t in totals)
    payments = _payment_totals(receipts)
    discounts = sum(line.discount for r in receipts for line in r.lines if not r.is_refund)
    cash_sales = next((p.net for p in payments if p.type == "cash"), 0)
    moves = moves or []
    cash = CashTotals(cash_sales=cash_sales, deposits=sum(m for m in moves if m > 0), withdrawals=-sum(m for m in moves if m < 0))
    title = f"Z REPORT No {z_number:04d}" if kind == "Z" and z_number is not None else "X REPORT"
    text = ["SIMULATED FISCAL REGISTER", f"S/N {serial}", title, "-" * PAPER_WIDTH]
    for t in totals:
        text.append(paper_row(f"{t.group} {t.rate}% sales", format_minor(t.sales)))
        text.append(paper_row(f"{t.group} {t.rate}% refunds", format_minor(t.refunds)))
        text.append(paper_row(f"{t.group} {t.rate}% VAT", format_minor(t.vat)))
    text += [
        "-" * PAPER_WIDTH,
        paper_row("RECEIPTS", str(len(receipts))),
        paper_row("SALES", format_minor(total_sales)),
        paper_row("REFUNDS", format_minor(total_refunds)),
        paper_row("NET TOTAL", format_minor(total_sales - total_refunds)),
        paper_row("DISCOUNTS", format_minor(discounts)),
        *(paper_row(f"{p.type.upper()} NET", format_minor(p.net)) for p in payments),
        paper_row("CASH SALES", format_minor(cash.cash_sales)),
        paper_row("CASH IN", format_minor(cash.deposits)),
        paper_row("CASH OUT", format_minor(cash.withdrawals)),
        paper_row("CASH IN DRAWER", format_minor(cash.in_drawer)),
        paper_stamp(now),
    ]
    return Report(
        kind=kind,
        z_number=z_number,
        created_at=now,
        receipt_count=len(receipts),
        totals=totals,
        sales=total_sales,
        refunds=total_refunds,
        net=total_sales - total_refunds,
        discounts=discounts,
        payments=payments,
        cash=cash,
        text="\n".join(text),
    )
