"""The daily sales report download: the query, the format registry, and the file it renders.

Adding a format is a module in ``sales_formats/`` (its ``FORMAT``) plus one line in ``FORMATS``. fpdf2 and
openpyxl are imported inside their renderers: only a request for that format pays for loading them.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator

from chalicelib.reports.rendering import Rendered
from chalicelib.reports.sales import SalesReport
from chalicelib.reports.sales_formats import (
    csv_table,
    html_page,
    json_document,
    pdf_document,
    xlsx_workbook,
    xml_document,
)
from chalicelib.reports.sales_formats.base import SalesFormat

FORMATS: dict[str, SalesFormat] = {
    f.name: f for f in (html_page.FORMAT, pdf_document.FORMAT, csv_table.FORMAT, xml_document.FORMAT, xlsx_workbook.FORMAT,
                        json_document.FORMAT)
}
Format = Literal[tuple(FORMATS)]  # type: ignore[valid-type]


class SalesReportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    format: Format = "html"

    @field_validator("date")
    @classmethod
    def _calendar_day(cls, value: str) -> str:
        date.fromisoformat(value)
        return value


def render(report: SalesReport, fmt: str) -> Rendered:
    chosen = FORMATS[fmt]
    return Rendered(chosen.render(report), chosen.content_type, f"sales-{report.shop_id[:8]}-{report.day}.{fmt}")
