"""HTML: the report as a page (autoescaped template ``sales.html``)."""

from __future__ import annotations

from chalicelib.reports.rendering import templates
from chalicelib.reports.sales import SalesReport
from chalicelib.reports.sales_formats.base import SalesFormat, sections


def render_html(report: SalesReport) -> str:
    return templates().get_template("sales.html").render(r=report, sections=sections(report))


FORMAT = SalesFormat("html", "text/html; charset=utf-8", render_html)
