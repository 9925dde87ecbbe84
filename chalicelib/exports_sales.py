"""The daily sales report rendered as html, pdf, csv, xml or xlsx, every format from the same ``SalesReport``.

fpdf2 and openpyxl are imported inside their renderers: only a request for
that format pays for loading them.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Annotated, Any, Callable, Literal
from xml.etree import ElementTree

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator

from chalicelib import money
from chalicelib.exports import Rendered, csv_cell, csv_text, templates
from chalicelib.reports import SalesReport

Format = Literal["html", "pdf", "csv", "xml", "xlsx"]
CSV_COLUMNS = ["section", "order_id", "time", "refund", "name", "quantity", "unit_price", "vat_rate", "amount",
               "net", "vat", "count"]
TOTAL_FIELDS = ["orders", "refunds", "sales_gross", "refunds_gross", "net_gross", "net_vat", "net_excl_vat"]
_COUNTS = {"orders", "refunds"}
_MONEY_HEADERS = {"unit price", "amount", "gross", "net", "VAT"}


class SalesReportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    format: Format = "html"

    @field_validator("date")
    @classmethod
    def _calendar_day(cls, value: str) -> str:
        date.fromisoformat(value)
        return value


def _m(minor: int) -> str:
    return money.format_minor(minor)


def totals(report: SalesReport) -> list[tuple[str, str]]:
    """The totals block, as label and formatted value, in every format's order."""
    values = report.totals.model_dump()
    return [(name, str(values[name]) if name in _COUNTS else _m(values[name])) for name in TOTAL_FIELDS]


def sections(report: SalesReport) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of each table, every cell a display string."""
    return [
        ("Lines", ["order", "time", "refund", "item", "qty", "unit price", "VAT %", "amount"],
         [[l.order_id, l.time, "yes" if l.is_refund else "", l.name, l.quantity, _m(l.unit_price), l.vat_rate,
           _m(l.amount)] for l in report.lines]),
        ("VAT", ["rate %", "gross", "net", "VAT"], [[v.rate, _m(v.gross), _m(v.net), _m(v.vat)] for v in report.vats]),
        ("Payments", ["method", "type", "orders", "amount"],
         [[p.name, p.type, str(p.count), _m(p.amount)] for p in report.payments]),
        ("Totals", ["total", "value"], [[label, value] for label, value in totals(report)]),
    ]


def render_csv(report: SalesReport) -> str:
    rows: list[list[object]] = [CSV_COLUMNS]
    for l in report.lines:
        rows.append(["line", l.order_id, l.time, "1" if l.is_refund else "0", l.name, l.quantity, _m(l.unit_price),
                     l.vat_rate, _m(l.amount), "", "", ""])
    for v in report.vats:
        rows.append(["vat", "", "", "", "", "", "", v.rate, _m(v.gross), _m(v.net), _m(v.vat), ""])
    for p in report.payments:
        rows.append(["payment", "", "", "", p.name, "", "", "", _m(p.amount), "", "", str(p.count)])
    for label, value in totals(report):
        rows.append(["total", "", "", "", label, "", "", "", value, "", "", ""])
    return "\ufeff" + csv_text([[csv_cell(cell) for cell in row] for row in rows])


def render_html(report: SalesReport) -> str:
    return templates().get_template("sales.html").render(r=report, sections=sections(report))


def render_xml(report: SalesReport) -> str:
    root = ElementTree.Element("salesReport", shopId=report.shop_id, shop=report.shop_name, day=report.day,
                               timezone=report.timezone, currency=report.currency)
    lines = ElementTree.SubElement(root, "lines")
    for l in report.lines:
        ElementTree.SubElement(lines, "line", orderId=l.order_id, time=l.time, refund=str(l.is_refund).lower(),
                               name=l.name, quantity=l.quantity, unitPrice=_m(l.unit_price), vatRate=l.vat_rate,
                               amount=_m(l.amount))
    vats = ElementTree.SubElement(root, "vats")
    for v in report.vats:
        ElementTree.SubElement(vats, "vat", rate=v.rate, gross=_m(v.gross), net=_m(v.net), vat=_m(v.vat))
    payments = ElementTree.SubElement(root, "payments")
    for p in report.payments:
        ElementTree.SubElement(payments, "payment", methodId=p.method_id, name=p.name, type=p.type,
                               count=str(p.count), amount=_m(p.amount))
    ElementTree.SubElement(root, "totals", {name: value for name, value in totals(report)})
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True)


def render_pdf(report: SalesReport) -> bytes:
    from fpdf import FPDF

    pdf: Any = FPDF(orientation="landscape", unit="mm", format="A4")
    fonts = resources.files("chalicelib") / "fonts"
    with resources.as_file(fonts / "DejaVuSansMono.ttf") as regular, \
            resources.as_file(fonts / "DejaVuSansMono-Bold.ttf") as bold:
        pdf.add_font("Mono", "", str(regular))
        pdf.add_font("Mono", "B", str(bold))
    pdf.set_title(f"Sales {report.day} - {report.shop_name}")
    pdf.set_creator("Receipt Bridge")
    pdf.add_page()
    pdf.set_font("Mono", "B", 12)
    pdf.cell(0, 8, f"{report.shop_name} - sales {report.day} ({report.timezone}, {report.currency})",
             new_x="LMARGIN", new_y="NEXT")
    for title, header, rows in sections(report):
        pdf.ln(3)
        pdf.set_font("Mono", "B", 10)
        pdf.cell(0, 7, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Mono", "", 8)
        with pdf.table(text_align="LEFT", line_height=5) as table:
            for row in [header, *rows]:
                cells = table.row()
                for value in row:
                    cells.cell(value)
    return bytes(pdf.output())


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
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_value(section: str, column: str, row: list[str], value: str) -> str | int | Decimal:
    """Money and counts as numbers (a spreadsheet sums them); everything else as text."""
    if section == "Totals" and column == "value":
        return int(value) if row[0] in _COUNTS else Decimal(value)
    if column in _MONEY_HEADERS:
        return Decimal(value)
    return int(value) if column == "orders" else value


_RENDERERS: dict[str, tuple[Callable[[SalesReport], str | bytes], str]] = {
    "html": (render_html, "text/html; charset=utf-8"),
    "pdf": (render_pdf, "application/pdf"),
    "csv": (render_csv, "text/csv; charset=utf-8"),
    "xml": (render_xml, "application/xml"),
    "xlsx": (render_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


def render(report: SalesReport, fmt: Format) -> Rendered:
    renderer, content_type = _RENDERERS[fmt]
    return Rendered(renderer(report), content_type, f"sales-{report.shop_id[:8]}-{report.day}.{fmt}")
