"""The receipt as a PDF: an 80 mm till-roll page drawn with fpdf2, a DejaVu Sans Mono font
(every script a shop may print, not only Latin-1) and the QR code of its public link.

The layout is a list of blocks computed first (pure), so the page can be cut to the
receipt's exact length in one drawing pass: with a monospaced font, how many lines a
text wraps to is known from its length. fpdf2 and segno are imported lazily: only the PDF handler
pays for it.
"""

from __future__ import annotations

import io
import math
import textwrap
from dataclasses import dataclass
from typing import Any, Literal

from chalicelib.core.pdf_fonts import add_mono_fonts
from chalicelib.receipts.view import ReceiptView

WIDTH_MM = 80
MARGIN_MM = 5
LINE_MM = 4.2
RULE_MM = 2
QR_MM = 30
CONTENT_MM = WIDTH_MM - 2 * MARGIN_MM
_ADVANCE_EM = 0.602  # DejaVu Sans Mono: every glyph is this wide
_MM_PER_PT = 25.4 / 72


@dataclass(frozen=True)
class Block:
    kind: Literal["text", "pair", "rule", "qr"]
    text: str = ""
    right: str = ""
    size: float = 8
    bold: bool = False
    centered: bool = False

    def height(self) -> float:
        if self.kind == "rule":
            return RULE_MM
        if self.kind == "qr":
            return QR_MM
        if self.kind == "pair":
            return LINE_MM
        per_line = max(1, math.floor(CONTENT_MM / (_ADVANCE_EM * self.size * _MM_PER_PT)))
        # Word wrap as fpdf2 does it, plus one line of slack for where the two break differently.
        return LINE_MM * len(textwrap.wrap(self.text, per_line, break_long_words=True) or [""]) + (LINE_MM if len(self.text) > per_line else 0)


def layout(view: ReceiptView) -> list[Block]:
    """The receipt, top to bottom."""
    blocks = [Block("text", view.merchant, size=11, bold=True, centered=True)]
    blocks += [Block("text", detail, size=7, centered=True) for detail in view.merchant_details]
    blocks += [Block("text", f"{view.title} {view.number}", centered=True), Block("text", view.issued, size=7, centered=True)]
    blocks += [Block("text", extra, size=7, centered=True) for extra in (
        view.pos, view.buyer and f"For {view.buyer}", view.buyer_tax_number and f"Buyer tax no. {view.buyer_tax_number}",
        view.refund_of and f"Refund of receipt {view.refund_of.number} of {view.refund_of.issued}") if extra]
    if view.refund_of and view.refund_of.url:
        blocks.append(Block("text", view.refund_of.url, size=5, centered=True))
    blocks.append(Block("rule"))
    for line in view.lines:
        blocks.append(Block("text", line.text + (f" ({line.detail})" if line.detail else "")))
        blocks.append(Block("pair", f"  {line.quantity} x {line.unit_price}  {line.vat}%", line.amount))
        if line.discount:
            blocks.append(Block("pair", "  discount", f"-{line.discount}"))
    blocks += [Block("rule"), Block("pair", f"TOTAL {view.currency}", view.total, bold=True)]
    blocks += [Block("pair", f"Paid by {name}", amount) for name, amount in view.payments]
    for tendered, change in view.change:
        blocks += [Block("pair", "Cash tendered", tendered), Block("pair", "Change", change)]
    blocks += [Block("rule"), Block("pair", "VAT", "net / VAT / gross")]
    blocks += [Block("pair", f"{row.rate}%", f"{row.net} / {row.vat} / {row.gross}") for row in view.vat_rows]
    if view.fiscal:
        blocks.append(Block("rule"))
        blocks += [Block("pair", label, value) for label, value in view.fiscal]
    blocks += [Block("rule"), Block("qr", view.url), Block("text", view.url, size=5, centered=True)]
    return blocks


def _qr_png(url: str) -> io.BytesIO:
    import segno

    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=8, border=2)
    buffer.seek(0)
    return buffer


def render(view: ReceiptView) -> bytes:
    from fpdf import FPDF

    blocks = layout(view)
    pdf: Any = FPDF(unit="mm", format=(WIDTH_MM, 2 * MARGIN_MM + sum(block.height() for block in blocks)))
    pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    pdf.set_auto_page_break(False)
    pdf.set_title(f"{view.title} {view.number} - {view.merchant}")
    pdf.set_creator("Receipt Bridge")
    add_mono_fonts(pdf)
    pdf.add_page()
    for block in blocks:
        pdf.set_font("Mono", "B" if block.bold else "", block.size)
        if block.kind == "text":
            pdf.multi_cell(CONTENT_MM, LINE_MM, block.text, align="C" if block.centered else "L",
                           new_x="LMARGIN", new_y="NEXT")
        elif block.kind == "pair":
            pdf.cell(CONTENT_MM * 0.62, LINE_MM, block.text)
            pdf.cell(CONTENT_MM * 0.38, LINE_MM, block.right, align="R", new_x="LMARGIN", new_y="NEXT")
        elif block.kind == "rule":
            pdf.ln(RULE_MM / 2)
            pdf.line(MARGIN_MM, pdf.get_y(), WIDTH_MM - MARGIN_MM, pdf.get_y())
            pdf.ln(RULE_MM / 2)
        else:
            pdf.image(_qr_png(block.text), x=(WIDTH_MM - QR_MM) / 2, w=QR_MM, h=QR_MM)
    return bytes(pdf.output())
