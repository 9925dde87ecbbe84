"""CSV: one row per line, VAT rate, payment and total, spreadsheet-safe cells, with a BOM for Excel."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import BinaryIO

from chalicelib.reports.rendering import csv_cell
from chalicelib.reports.sales import SalesReport
from chalicelib.reports.sales_formats.base import SalesFormat, m, totals

CSV_COLUMNS = ["section", "order_id", "time", "refund", "name", "quantity", "unit_price", "vat_rate", "amount",
               "net", "vat", "count", "discount"]


def _rows(report: SalesReport) -> Iterator[list[object]]:
    yield CSV_COLUMNS
    for l in report.lines:
        yield ["line", l.order_id, l.time, "1" if l.is_refund else "0", l.name, l.quantity, m(l.unit_price),
               l.vat_rate, m(l.amount), "", "", "", m(l.discount)]
    for v in report.vats:
        yield ["vat", "", "", "", "", "", "", v.rate, m(v.gross), m(v.net), m(v.vat), "", ""]
    for p in report.payments:
        yield ["payment", "", "", "", p.name, "", "", "", m(p.amount), "", "", str(p.count), ""]
    for label, value in totals(report):
        yield ["total", "", "", "", label, "", "", "", value, "", "", "", ""]


def write_csv(report: SalesReport, out: BinaryIO) -> None:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    text.write("\ufeff")
    csv.writer(text, lineterminator="\r\n").writerows([csv_cell(cell) for cell in row] for row in _rows(report))
    text.flush()
    text.detach()  # the caller's stream stays open


FORMAT = SalesFormat("csv", "text/csv; charset=utf-8", write_csv)
