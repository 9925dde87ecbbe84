"""The customer-facing receipt page: Jinja2 template, QR code of its own URL (segno, inline SVG).

Jinja2 and segno are imported on first render, so a cold start of the API pays for neither.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chalicelib.receipts.view import ReceiptView


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("chalicelib.receipts", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
    )


def qr_svg(url: str) -> str:
    import segno

    return str(segno.make(url, error="m").svg_inline(scale=4, border=2, dark="#111827", omitsize=True))


def render(view: ReceiptView) -> str:
    return _environment().get_template("receipt.html").render(r=view, qr_svg=qr_svg(view.url))
