"""XLSX: one sheet per table, money and counts as numbers a spreadsheet can sum (openpyxl, imported on first use)."""

from __future__ import annotations

import io
from decimal import Decimal

from chalicelib.reports.rendering import printable
from chalicelib.reports.sales import SalesReport
from chalicelib.reports.sales_formats.base import COUNTS, SalesFormat, sections

_MONEY_HEADERS = {"unit price", "discount", "amount", "gross", "net", "VAT"}


def render_xlsx(report: SalesReport) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, header, rows in sections(report):
        sheet = book.create_sheet(title)
        sheet.append(header)
        for row in rows:
            sheet.append([_xlsx_value(title, column, row, value) for column, value in zip(header, row)])
        for column in sheet.iter_cols(min_row=2):
            for cell in column:
                if isinstance(cell.value, Decimal):
                    cell.number_format = "0.00"
                elif cell.data_type == "f":  # openpyxl stores any text starting with '=' as a live formula
                    cell.data_type = "s"
                    cell.quotePrefix = True
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_value(section: str, column: str, row: list[str], value: str) -> str | int | Decimal:
    """Money and counts as numbers (a spreadsheet sums them); everything else as text."""
    if section == "Totals" and column == "value":
        return int(value) if row[0] in COUNTS else Decimal(value)
    if column in _MONEY_HEADERS:
        return Decimal(value)
    return int(value) if column == "orders" else printable(value)


FORMAT = SalesFormat("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", render_xlsx)
