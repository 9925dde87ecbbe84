"""HTML: the report as a page (autoescaped template ``sales.html``), written as the template renders it."""

from __future__ import annotations

from typing import BinaryIO

from chalicelib.reports.rendering import templates
from chalicelib.reports.sales import SalesReport
from chalicelib.reports.sales_formats.base import SalesFormat, sections


def write_html(report: SalesReport, out: BinaryIO) -> None:
    for chunk in templates().get_template("sales.html").generate(r=report, sections=sections(report)):
        out.write(chunk.encode())


FORMAT = SalesFormat("html", "text/html; charset=utf-8", write_html)
