"""The daily sales report download: the query, the format registry, and where the rendered file goes.

Adding a format is a module in ``sales_formats/`` (its ``FORMAT``) plus one line in ``FORMATS``. fpdf2 and
openpyxl are imported inside their renderers: only a request for that format pays for loading them.

Every format is written into a spooled temporary file (memory up to ``SPOOL_BYTES``, then Lambda's /tmp). A file
up to ``settings().report_inline_bytes`` is answered inline; a larger one would not fit a Lambda response (6 MB,
and binary bodies grow by a third in base64), so it is uploaded to the reports bucket (multipart above 8 MB, one
part in memory at a time) and the API answers with a short-lived presigned link to it, as for receipt PDFs.
"""

from __future__ import annotations

import io
import tempfile
import uuid
from datetime import date
from typing import IO, Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator

from chalicelib.aws.clients import client
from chalicelib.core import media
from chalicelib.core import resource_names as names
from chalicelib.core.settings import settings
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
SPOOL_BYTES = 1 << 20
PRESIGNED_SECONDS = 300
PART_BYTES = 8 << 20


class SalesReportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    format: Format = "html"

    @field_validator("date")
    @classmethod
    def _calendar_day(cls, value: str) -> str:
        date.fromisoformat(value)
        return value


def filename(report: SalesReport, fmt: str) -> str:
    return f"sales-{report.shop_id[:8]}-{report.day}.{fmt}"


def _rendered(body: bytes, report: SalesReport, fmt: str) -> Rendered:
    """Text formats as text (a Lambda response carries only the binary types base64-encoded)."""
    content_type = FORMATS[fmt].content_type
    return Rendered(body if content_type in media.BINARY_TYPES else body.decode(), content_type, filename(report, fmt))


def render(report: SalesReport, fmt: str) -> Rendered:
    """The whole file in memory (the console's download of a day it has shown)."""
    out = io.BytesIO()
    FORMATS[fmt].write(report, out)
    return _rendered(out.getvalue(), report, fmt)


def deliver(report: SalesReport, fmt: str) -> Rendered | str:
    """The file inline when it fits a response, else a presigned link to it in the reports bucket."""
    chosen = FORMATS[fmt]
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        chosen.write(report, spool)
        size = spool.tell()
        spool.seek(0)
        if size <= settings().report_inline_bytes:
            return _rendered(spool.read(), report, fmt)
        return _upload(spool, report, fmt)


def _upload(body: IO[bytes], report: SalesReport, fmt: str) -> str:
    from boto3.s3.transfer import TransferConfig

    bucket = settings().bucket(names.REPORTS_BUCKET)
    key = f"sales/{report.shop_id}/{report.day}/{uuid.uuid4()}.{fmt}"
    s3 = client("s3")
    s3.upload_fileobj(body, bucket, key, ExtraArgs={"ContentType": FORMATS[fmt].content_type,
                                                    "ServerSideEncryption": "AES256"},
                      Config=TransferConfig(multipart_threshold=PART_BYTES, multipart_chunksize=PART_BYTES,
                                            use_threads=False))
    return str(s3.generate_presigned_url("get_object", ExpiresIn=PRESIGNED_SECONDS, Params={
        "Bucket": bucket, "Key": key, "ResponseContentType": FORMATS[fmt].content_type,
        "ResponseContentDisposition": f'attachment; filename="{filename(report, fmt)}"'}))
