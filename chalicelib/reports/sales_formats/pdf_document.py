"""PDF: A4 landscape tables in the bridge's monospace font (fpdf2, imported on first use).

Each row is one line of text, its columns padded to fixed widths, the header repeated at the top of every page.
fpdf2's ``table()`` lays out every cell's text for wrapping, ~9 ms a line, so a busy day's report passed the API's
29 s; in a monospace font the columns need no measuring, and one ``cell`` per row is all fpdf2 has to lay out.
A value longer than its column (at most 40 characters) is cut with an ellipsis.
fpdf2 builds the whole document in memory (its pages' content streams, ~1 KB a line) and has no streaming mode;
the rows themselves are made as they are laid out, once to measure the columns and once to print them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, BinaryIO

from chalicelib.core.pdf_fonts import FAMILY, add_mono_fonts
from chalicelib.reports.sales import SalesReport
from chalicelib.reports.sales_formats.base import SalesFormat, sections

ROW_MM = 5.0
BODY_PT = 8
CHAR_MM = 0.6 * BODY_PT * 25.4 / 72  # DejaVu Sans Mono's advance is 0.6 em
MAX_COLUMN = 40


def _widths(header: list[str], rows: Iterable[list[str]], page_mm: float) -> list[int]:
    """Column widths in characters: each column's longest value, at most MAX_COLUMN, shrunk to fit the page."""
    longest = [len(name) for name in header]
    for row in rows:
        longest = [max(width, len(value)) for width, value in zip(longest, row)]
    widths = [min(chars, MAX_COLUMN) for chars in longest]
    room = int(page_mm / CHAR_MM) - 2 * len(widths)
    while sum(widths) > room and max(widths) > 4:
        widest = widths.index(max(widths))
        widths[widest] -= 1
    return widths


def _line(values: list[str], widths: list[int]) -> str:
    return "  ".join(value.ljust(width) if len(value) <= width else value[: width - 1] + "…"
                     for value, width in zip(values, widths)).rstrip()


def _row(pdf: Any, text: str, *, header: bool = False) -> None:
    pdf.set_font(FAMILY, "B" if header else "", BODY_PT)
    pdf.cell(0, ROW_MM, text, border="B" if header else 0, new_x="LMARGIN", new_y="NEXT")


def write_pdf(report: SalesReport, out: BinaryIO) -> None:
    from fpdf import FPDF

    pdf: Any = FPDF(orientation="landscape", unit="mm", format="A4")
    add_mono_fonts(pdf)
    pdf.set_title(f"Sales {report.day} - {report.shop_name}")
    pdf.set_creator("Receipt Bridge")
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_font(FAMILY, "B", 12)
    pdf.cell(0, 8, f"{report.shop_name} - sales {report.day} ({report.timezone}, {report.currency})",
             new_x="LMARGIN", new_y="NEXT")
    bottom = pdf.h - pdf.b_margin
    measured = [_widths(header, rows, pdf.epw) for _, header, rows in sections(report)]
    for (title, header, rows), widths in zip(sections(report), measured):
        heading = _line(header, widths)
        if pdf.get_y() + 10 + 2 * ROW_MM > bottom:
            pdf.add_page()
        pdf.ln(3)
        pdf.set_font(FAMILY, "B", 10)
        pdf.cell(0, 7, title, new_x="LMARGIN", new_y="NEXT")
        _row(pdf, heading, header=True)
        pdf.set_font(FAMILY, "", BODY_PT)
        for row in rows:
            if pdf.get_y() + ROW_MM > bottom:
                pdf.add_page()
                _row(pdf, heading, header=True)
                pdf.set_font(FAMILY, "", BODY_PT)
            pdf.cell(0, ROW_MM, _line(row, widths), new_x="LMARGIN", new_y="NEXT")
    out.write(pdf.output())


FORMAT = SalesFormat("pdf", "application/pdf", write_pdf)
