"""PDF: A4 landscape tables in the bridge's monospace font (fpdf2, imported on first use)."""

from __future__ import annotations

from typing import Any

from chalicelib.core.pdf_fonts import add_mono_fonts
from chalicelib.reports.sales import SalesReport
from chalicelib.reports.sales_formats.base import SalesFormat, sections


def render_pdf(report: SalesReport) -> bytes:
    from fpdf import FPDF

    pdf: Any = FPDF(orientation="landscape", unit="mm", format="A4")
    add_mono_fonts(pdf)
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


FORMAT = SalesFormat("pdf", "application/pdf", render_pdf)
