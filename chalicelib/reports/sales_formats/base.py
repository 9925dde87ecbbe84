"""What a sales-report format is, and the tables every format lays out the same way."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import BinaryIO

from chalicelib.core import money
from chalicelib.reports.sales import SalesReport

TOTAL_FIELDS = ["orders", "refunds", "sales_gross", "refunds_gross", "net_gross", "net_vat", "net_excl_vat", "discounts"]
COUNTS = {"orders", "refunds"}


@dataclass(frozen=True)
class SalesFormat:
    """One download format: its ``format=`` name, content type, and the renderer (heavy libraries imported inside),
    which writes the file into a binary stream as it goes instead of building it in memory."""

    name: str
    content_type: str
    write: Callable[[SalesReport, BinaryIO], None]


def m(minor: int) -> str:
    return money.format_minor(minor)


def totals(report: SalesReport) -> list[tuple[str, str]]:
    """The totals block, as label and formatted value, in every format's order."""
    values = report.totals.model_dump()
    return [(name, str(values[name]) if name in COUNTS else m(values[name])) for name in TOTAL_FIELDS]


def sections(report: SalesReport) -> list[tuple[str, list[str], Iterable[list[str]]]]:
    """(title, header, rows) of each table, every cell a display string; the rows are made as they are read (once)."""
    return [
        ("Lines", ["order", "time", "refund", "item", "qty", "unit price", "VAT %", "discount", "amount"],
         ([l.order_id, l.time, "yes" if l.is_refund else "", l.name, l.quantity, m(l.unit_price), l.vat_rate,
           m(l.discount), m(l.amount)] for l in report.lines)),
        ("VAT", ["rate %", "gross", "net", "VAT"], ([v.rate, m(v.gross), m(v.net), m(v.vat)] for v in report.vats)),
        ("Payments", ["method", "type", "orders", "amount"],
         ([p.name, p.type, str(p.count), m(p.amount)] for p in report.payments)),
        ("Totals", ["total", "value"], ([label, value] for label, value in totals(report))),
    ]
