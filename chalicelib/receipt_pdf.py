"""The receipt as a PDF: an 80 mm till-roll page drawn with fpdf2, a DejaVu Sans Mono font
(every script a shop may print, not only Latin-1) and the QR code of its public link.

fpdf2 and its font subsetting are imported lazily: only the PDF handler pays for them.
"""

from __future__ import annotations

import io
from importlib import resources
from typing import Any

import segno

from chalicelib.receipt_view import ReceiptView

WIDTH_MM = 80
MARGIN_MM = 5
LINE_MM = 4.2
QR_MM = 30


def _height(view: ReceiptView) -> float:
    rows = 10 + len(view.merchant_details) + 2 * len(view.lines) + len(view.vat_rows) + len(view.payments) + len(view.fiscal)
    return 2 * MARGIN_MM + rows * LINE_MM + QR_MM + 30


def _qr_png(url: str) -> io.BytesIO:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=8, border=2)
    buffer.seek(0)
    return buffer


def render(view: ReceiptView) -> bytes:
    from fpdf import FPDF

    pdf: Any = FPDF(unit="mm", format=(WIDTH_MM, _height(view)))
    pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    pdf.set_auto_page_break(True, MARGIN_MM)
    pdf.set_title(f"{view.title} {view.number} - {view.merchant}")
    pdf.set_creator("Receipt Bridge")
    fonts = resources.files("chalicelib") / "fonts"
    with resources.as_file(fonts / "DejaVuSansMono.ttf") as regular, resources.as_file(fonts / "DejaVuSansMono-Bold.ttf") as bold:
        pdf.add_font("Mono", "", str(regular))
        pdf.add_font("Mono", "B", str(bold))
    pdf.add_page()
    width = WIDTH_MM - 2 * MARGIN_MM

    def text(value: str, *, size: float = 8, style: str = "", align: str = "L") -> None:
        pdf.set_font("Mono", style, size)
        pdf.multi_cell(width, LINE_MM, value, align=align, new_x="LMARGIN", new_y="NEXT")

    def pair(left: str, right: str, *, style: str = "") -> None:
        pdf.set_font("Mono", style, 8)
        pdf.cell(width * 0.62, LINE_MM, left)
        pdf.cell(width * 0.38, LINE_MM, right, align="R", new_x="LMARGIN", new_y="NEXT")

    def rule() -> None:
        pdf.ln(1)
        pdf.line(MARGIN_MM, pdf.get_y(), WIDTH_MM - MARGIN_MM, pdf.get_y())
        pdf.ln(1)

    text(view.merchant, size=11, style="B", align="C")
    for detail in view.merchant_details:
        text(detail, size=7, align="C")
    text(f"{view.title} {view.number}", align="C")
    text(view.issued, size=7, align="C")
    if view.pos:
        text(view.pos, size=7, align="C")
    if view.buyer:
        text(f"For {view.buyer}", size=7, align="C")
    rule()
    for line in view.lines:
        text(line.text + (f" ({line.detail})" if line.detail else ""))
        pair(f"  {line.quantity} x {line.unit_price}  {line.vat}%", line.amount)
    rule()
    pair(f"TOTAL {view.currency}", view.total, style="B")
    for name, amount in view.payments:
        pair(f"Paid by {name}", amount)
    rule()
    pair("VAT", "net / VAT / gross")
    for row in view.vat_rows:
        pair(f"{row.rate}%", f"{row.net} / {row.vat} / {row.gross}")
    if view.fiscal:
        rule()
        for label, value in view.fiscal:
            pair(label, value)
    rule()
    pdf.image(_qr_png(view.url), x=(WIDTH_MM - QR_MM) / 2, w=QR_MM, h=QR_MM)
    text(view.url, size=5, align="C")
    return bytes(pdf.output())
