"""What the simulated register prints: receipt and report text, VAT arithmetic and the daily report."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from edge.emulators.simulated.models import (
    PAPER_WIDTH,
    CashTotals,
    Receipt,
    ReceiptLine,
    Report,
    VatTotal,
)


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
    out = ["SIMULATED FISCAL REGISTER", f"S/N {receipt.serial}", "REFUND" if receipt.is_refund else "SALE", "-" * PAPER_WIDTH]
    for line in receipt.lines:
        out.append(line.name)
        out.append(paper_row(f"  {line.quantity} x {format_minor(line.unit_price)}", f"{format_minor(line.amount)} {line.vat_group}"))
    out.append("-" * PAPER_WIDTH)
    out.append(paper_row("TOTAL", f"{receipt.currency} {format_minor(receipt.total)}"))
    out.append(paper_row(receipt.payment_type.upper(), format_minor(receipt.payment_amount)))
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
    cash_sales = sum(-r.total if r.is_refund else r.total for r in receipts if r.payment_type == "cash")
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
        paper_row("NET TOTAL", format_minor(total_sales - total_refunds)),
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
        cash=cash,
        text="\n".join(text),
    )
