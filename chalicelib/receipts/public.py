"""What the holder of a public receipt link gets (page, JSON, PDF), and the PDF render behind it.

``/r/{token}`` is one route: ``<token>.json`` and ``<token>.pdf`` are told apart by
suffix, since tokens are URL-safe base64 and never contain a dot.
"""

from __future__ import annotations

from typing import Any

from chalicelib.aws.clients import client
from chalicelib.core import clock
from chalicelib.core import resource_names as names
from chalicelib.core.errors import PdfLinkMissing
from chalicelib.core.logs import get_logger
from chalicelib.core.settings import settings
from chalicelib.receipts import page as receipt_page
from chalicelib.receipts import pdf as receipt_pdf
from chalicelib.receipts import service as receipts
from chalicelib.receipts import view as receipt_view

log = get_logger(__name__)
PRESIGNED_SECONDS = 300


def _view(record: dict[str, Any]) -> receipt_view.ReceiptView:
    url = receipts.public_url(record["public_token"])
    return receipt_view.build(record, url, f"{url}.pdf" if record.get("pdf_key") else None)


def page(token: str) -> str:
    return receipt_page.render(_view(receipts.by_public_token(token)))


def public_json(token: str) -> dict[str, Any]:
    return receipts.public_resource(receipts.by_public_token(token))


def pdf_location(token: str) -> str:
    """A short-lived S3 link to the PDF, never valid beyond the public link itself."""
    record = receipts.by_public_token(token)
    if not record.get("pdf_key"):
        raise PdfLinkMissing("the PDF of this receipt has not been created yet; retry shortly")
    expires_in = max(1, min(PRESIGNED_SECONDS, record["public_expires_at"] - clock.now()))
    return str(client("s3").generate_presigned_url(
        "get_object", ExpiresIn=expires_in,
        Params={"Bucket": settings().bucket(names.PDF_BUCKET), "Key": record["pdf_key"],
                "ResponseContentType": "application/pdf",
                "ResponseContentDisposition": f'inline; filename="receipt-{record["receipt_id"]}.pdf"'},
    ))


def store_pdf(record: dict[str, Any]) -> str:
    """Render a receipt's PDF and store it under its key; return the key. The same record always gives the same
    bytes under the same key, so storing again is harmless."""
    url = receipts.public_url(record["public_token"])
    body = receipt_pdf.render(receipt_view.build(record, url, f"{url}.pdf"))
    key = receipts.pdf_key(record["receipt_id"])
    client("s3").put_object(Bucket=settings().bucket(names.PDF_BUCKET), Key=key,
                            Body=body, ContentType="application/pdf", ServerSideEncryption="AES256")
    log.info("pdf_rendered", receipt_id=record["receipt_id"], bytes=len(body))
    return key


def discard_pdf(record: dict[str, Any]) -> None:
    """Delete a stored PDF whose receipt was never written (the transaction that would have written it failed)."""
    client("s3").delete_object(Bucket=settings().bucket(names.PDF_BUCKET), Key=receipts.pdf_key(record["receipt_id"]))


def render_pdfs(works: list[receipts.PdfWork]) -> int:
    """Render and store a batch of receipts' PDFs, then mark them ready in one write request; return
    how many. Idempotent: the same key gets the same bytes, and a receipt's record only ever gains its
    ``pdf_key``, so writing the record back whole (BatchWriteItem has no conditions) changes nothing else."""
    rendered: list[dict[str, Any]] = []
    for work in works:
        record = work.record if work.record is not None else receipts.get_record(work.receipt_id)
        if record is None:
            log.warning("pdf_skipped_unknown_receipt", receipt_id=work.receipt_id)
            continue
        rendered.append({**record, "pdf_key": store_pdf(record)})
    receipts.save_records(rendered)
    return len(rendered)
