"""The monospace fonts every PDF the bridge renders is set in (DejaVu Sans Mono, ``core/fonts/``)."""

from __future__ import annotations

from importlib import resources
from typing import Any

FAMILY = "Mono"


def add_mono_fonts(pdf: Any) -> None:
    """Register the regular and bold faces on an fpdf2 document as family ``Mono``."""
    fonts = resources.files("chalicelib.core") / "fonts"
    with resources.as_file(fonts / "DejaVuSansMono.ttf") as regular, resources.as_file(fonts / "DejaVuSansMono-Bold.ttf") as bold:
        pdf.add_font(FAMILY, "", str(regular))
        pdf.add_font(FAMILY, "B", str(bold))
