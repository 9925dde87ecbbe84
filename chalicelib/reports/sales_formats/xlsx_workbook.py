"""XLSX: one sheet per table, money and counts as numbers a spreadsheet can sum (openpyxl, imported on first use).

The workbook is write-only: openpyxl streams each sheet's rows to a temporary file as they are appended and zips
them on save, so memory does not grow with the lines.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, BinaryIO

from chalicelib.reports.rendering import printable
from chalicelib.reports.sales import SalesReport
from chalicelib.reports.sales_formats.base import COUNTS, SalesFormat, sections

_MONEY_HEADERS = {"unit price", "discount", "amount", "gross", "net", "VAT"}


def write_xlsx(report: SalesReport, out: BinaryIO) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    for title, header, rows in sections(report):
        sheet = book.create_sheet(title)
        sheet.append(header)
        for row in rows:
            sheet.append([_cell(WriteOnlyCell(sheet, _xlsx_value(title, column, row, value)))
                          for column, value in zip(header, row)])
    book.save(out)


def _cell(cell: Any) -> Any:
    if isinstance(cell.value, Decimal):
        cell.number_format = "0.00"
    elif cell.data_type == "f":  # openpyxl stores any text starting with '=' as a live formula
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def _xlsx_value(section: str, column: str, row: list[str], value: str) -> str | int | Decimal:
    """Money and counts as numbers (a spreadsheet sums them); everything else as text."""
    if section == "Totals" and column == "value":
        return int(value) if row[0] in COUNTS else Decimal(value)
    if column in _MONEY_HEADERS:
        return Decimal(value)
    return int(value) if column == "orders" else printable(value)


FORMAT = SalesFormat("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", write_xlsx)
