"""CSV: one row per line, VAT rate, payment and total, spreadsheet-safe cells, with a BOM for Excel."""

from __future__ import annotations

from chalicelib.reports.rendering import csv_cell, csv_text
from chalicelib.reports.sales import SalesReport
from chalicelib.reports.sales_formats.base import SalesFormat, m, totals

CSV_COLUMNS = ["section", "order_id", "time", "refund", "name", "quantity", "unit_price", "vat_rate", "amount",
               "net", "vat", "count", "discount"]


def render_csv(report: SalesReport) -> str:
    rows: list[list[object]] = [CSV_COLUMNS]
    for l in report.lines:
        rows.append(["line", l.order_id, l.time, "1" if l.is_refund else "0", l.name, l.quantity, m(l.unit_price),
                     l.vat_rate, m(l.amount), "", "", "", m(l.discount)])
    for v in report.vats:
        rows.append(["vat", "", "", "", "", "", "", v.rate, m(v.gross), m(v.net), m(v.vat), "", ""])
    for p in report.payments:
        rows.append(["payment", "", "", "", p.name, "", "", "", m(p.amount), "", "", str(p.count), ""])
    for label, value in totals(report):
        rows.append(["total", "", "", "", label, "", "", "", value, "", "", "", ""])
    return "\ufeff" + csv_text([[csv_cell(cell) for cell in row] for row in rows])


FORMAT = SalesFormat("csv", "text/csv; charset=utf-8", render_csv)
