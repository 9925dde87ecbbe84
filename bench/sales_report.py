"""The daily sales export at scale: seconds and peak Python memory per 10,000 lines, for every format.

Renders one synthetic shop day of N single-line orders in each format through the same renderers the API uses
(``chalicelib.reports.sales_export.FORMATS``) and, in the same run, through fpdf2's ``table()`` layout that the
PDF used before, as the baseline the PDF is compared with. Peak memory is what tracemalloc sees during a render.

    .venv/bin/python bench/sales_report.py [--lines 10000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chalicelib.core.pdf_fonts import add_mono_fonts  # noqa: E402
from chalicelib.reports.sales import SalesReport, build_sales_report  # noqa: E402
from chalicelib.reports.sales_export import FORMATS  # noqa: E402
from chalicelib.reports.sales_formats.base import sections  # noqa: E402

PROFILE = {"shop_id": "0b5c6f8e-6a0e-4b8e-9d6f-0c5f6a3e2b1d", "name": "Bench shop", "timezone": "UTC", "currency": "EUR"}
DAY_START = 1796601600  # 2026-12-07T00:00:00Z


def shop_day(lines: int) -> SalesReport:
    orders = [{
        "order_id": f"B-{i:06d}", "order_internal_id": f"i-{i}", "date": DAY_START + i % 86400,
        "created_at": DAY_START + i % 86400, "currency": "EUR",
        "lines": [{"name": f"Flat white oat milk {i % 97}", "quantity": "1", "unit_price": 350, "vat_rate": "20",
                   "amount": 350}],
        "total": 350, "vat_total": 58, "vats": [{"rate": "20", "gross": 350, "net": 292, "vat": 58}],
        "payment": {"method_id": "cash", "name": "Cash", "type": "cash"}, "is_refund": False, "parent_order_id": None,
    } for i in range(lines)]
    return build_sales_report(PROFILE, "2026-12-07", orders)


def table_layout_pdf(report: SalesReport) -> bytes:
    """The baseline: every row through fpdf2's table(), which lays out each cell's text for wrapping."""
    from fpdf import FPDF

    pdf: Any = FPDF(orientation="landscape", unit="mm", format="A4")
    add_mono_fonts(pdf)
    pdf.add_page()
    for title, header, rows in sections(report):
        pdf.set_font("Mono", "B", 10)
        pdf.cell(0, 7, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Mono", "", 8)
        with pdf.table(text_align="LEFT", line_height=5) as table:
            for row in [header, *rows]:
                cells = table.row()
                for value in row:
                    cells.cell(value)
    return bytes(pdf.output())


def measure(render: Callable[[SalesReport], str | bytes], report: SalesReport) -> tuple[float, float, int]:
    """(seconds, peak MB, bytes) of one render; timed without tracemalloc, then traced once for memory."""
    started = time.perf_counter()
    body = render(report)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    render(report)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak / 1e6, len(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    args = parser.parse_args()
    report = shop_day(args.lines)
    per = 10_000 / args.lines
    results: dict[str, Any] = {"lines": args.lines}
    for name, fmt in FORMATS.items():
        seconds, peak, size = measure(fmt.render, report)
        results[name] = {"seconds_per_10k_lines": round(seconds * per, 3), "peak_mb": round(peak, 1), "bytes": size}
    seconds, peak, size = measure(table_layout_pdf, report)
    results["pdf_table_layout_baseline"] = {"seconds_per_10k_lines": round(seconds * per, 3), "peak_mb": round(peak, 1),
                                            "bytes": size}
    results["pdf_vs_table_layout"] = round(results["pdf"]["seconds_per_10k_lines"] / (seconds * per), 3)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
