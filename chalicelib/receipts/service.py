"""eReceipts (parity with the fiskaly eReceipt API): idempotent PUT by UUIDv4, merchant reads,
listing, public access by an unguessable token, and the receipt of every terminated order.

One record per receipt, keyed by ``receipt_id``. Its public token is the receipt id
plus 136 random bits, so a public read is one strongly consistent GetItem and a
constant-time comparison, with no index that could lag behind a fresh PUT.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import uuid
from typing import Annotated, Any, Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from chalicelib.aws.clients import client, queue_url
from chalicelib.aws.storage import batch_write, from_item, to_item
from chalicelib.core import clock, money
from chalicelib.core import resource_names as names
from chalicelib.core.errors import (
    ConflictError,
    PublicAccessExpired,
    ReceiptNotFound,
    SchemaValidationError,
)
from chalicelib.core.logs import get_logger
from chalicelib.core.settings import settings
from chalicelib.core.validation import parse_data
from chalicelib.receipts import ekabs

log = get_logger(__name__)
API_VERSION = "1.0.0"
_SECRET_BYTES = 17  # 136 bits; with the 16-byte id, 44 URL-safe characters and no padding
TOKEN_LENGTH = 44
_INLINE_RECORD_LIMIT = 192 * 1024  # of SQS's 256 KiB message limit

MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=40)]
MetadataValue = Annotated[str, StringConstraints(max_length=500)]
Metadata = Annotated[dict[MetadataKey, MetadataValue], Field(max_length=20)]


class PublicLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expires_at: ekabs.Epoch = Field(description="When the public link stops working (UTC epoch seconds).")


class ReceiptPut(BaseModel):
    """Body of ``PUT /api/v1/receipts/{receipt_id}``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    receipt_schema: ekabs.ReceiptSchema = Field(alias="schema")
    user_association: Metadata = Field(default_factory=dict, description="Who the receipt belongs to (key/value).")
    metadata: Metadata = Field(default_factory=dict, description="Up to 20 keys of 40 chars, values of 500 chars.")
    public_link: PublicLinkIn | None = None

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude_none=True)

    def fingerprint(self) -> str:
        canonical = json.dumps(self.body(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class PublicLink(BaseModel):
    url: str
    expires_at: int


class PdfAsset(BaseModel):
    url: str | None = Field(description="Set once the asynchronous PDF render has finished.")


class Assets(BaseModel):
    pdf: PdfAsset


class Receipt(BaseModel):
    """The receipt resource as the merchant sees it."""

    model_config = ConfigDict(populate_by_name=True)
    id: str = Field(alias="_id")
    type: Literal["RECEIPT"] = Field(alias="_type")
    env: Literal["TEST", "LIVE"] = Field(alias="_env")
    version: str = Field(alias="_version")
    receipt_schema: ekabs.ReceiptSchema = Field(alias="schema")
    user_association: dict[str, str]
    metadata: dict[str, str]
    public_link: PublicLink
    assets: Assets


class PublicReceipt(BaseModel):
    """The receipt as anyone holding its public link sees it."""

    model_config = ConfigDict(populate_by_name=True)
    id: str = Field(alias="_id")
    type: Literal["RECEIPT"] = Field(alias="_type")
    version: str = Field(alias="_version")
    receipt_schema: ekabs.ReceiptSchema = Field(alias="schema")
    assets: Assets


class ReceiptList(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    type: Literal["RECEIPT_LIST"] = Field(alias="_type")
    env: Literal["TEST", "LIVE"] = Field(alias="_env")
    version: str = Field(alias="_version")
    count: int = Field(description="Number of receipts in data.")
    data: list[Receipt]


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order: Literal["ASC", "DESC"] = "ASC"
    limit: Annotated[int, Field(ge=1, le=100)] = 100
    offset: Annotated[int, Field(ge=0, le=100_000)] = 0


class PdfWork(BaseModel):
    """Message on the pdfs queue: render this receipt's PDF. It carries the stored record when that
    fits comfortably in a message, so rendering needs no read."""

    model_config = ConfigDict(extra="forbid")
    receipt_id: str
    record: dict[str, Any] | None = None


def _table() -> str:
    return settings().table(names.RECEIPTS_TABLE)


def _env() -> Literal["TEST", "LIVE"]:
    return "LIVE" if settings().stage == "prod" else "TEST"


# --- public tokens -------------------------------------------------------------------------------

def new_public_token(receipt_id: str) -> str:
    raw = uuid.UUID(receipt_id).bytes + secrets.token_bytes(_SECRET_BYTES)
    return base64.urlsafe_b64encode(raw).decode()


def receipt_id_of_token(token: str) -> str:
    """The receipt a token claims to open; ``ReceiptNotFound`` for anything that is not a token."""
    if len(token) != TOKEN_LENGTH:
        raise ReceiptNotFound("receipt not found")
    try:
        raw = base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ReceiptNotFound("receipt not found") from exc
    if len(raw) != 16 + _SECRET_BYTES:
        raise ReceiptNotFound("receipt not found")
    return str(uuid.UUID(bytes=raw[:16]))


def public_url(token: str) -> str:
    return f"{settings().public_base_url.rstrip('/')}/r/{token}"


# --- records and resources -----------------------------------------------------------------------

def new_record(merchant_id: str, receipt_id: str, request: ReceiptPut, now: int) -> dict[str, Any]:
    """The stored receipt for a validated PUT (pure)."""
    if request.public_link is not None and request.public_link.expires_at <= now:
        raise SchemaValidationError("public_link.expires_at must be in the future")
    expires_at = request.public_link.expires_at if request.public_link else now + settings().public_link_ttl
    return {
        "receipt_id": receipt_id,
        "merchant_id": merchant_id,
        "fingerprint": request.fingerprint(),
        "schema": request.body()["schema"],
        "user_association": request.user_association,
        "metadata": request.metadata,
        "public_token": new_public_token(receipt_id),
        "public_expires_at": expires_at,
        "created_at": clock.now_ms(),
    }


def _assets(record: dict[str, Any]) -> dict[str, Any]:
    url = f"{public_url(record['public_token'])}.pdf" if record.get("pdf_key") else None
    return {"pdf": {"url": url}}


def resource(record: dict[str, Any]) -> dict[str, Any]:
    """The receipt in the eReceipt API's resource shape."""
    return {
        "_id": record["receipt_id"],
        "_type": "RECEIPT",
        "_env": _env(),
        "_version": API_VERSION,
        "schema": record["schema"],
        "user_association": record.get("user_association", {}),
        "metadata": record.get("metadata", {}),
        "public_link": {"url": public_url(record["public_token"]), "expires_at": record["public_expires_at"]},
        "assets": _assets(record),
    }


def public_resource(record: dict[str, Any]) -> dict[str, Any]:
    return {"_id": record["receipt_id"], "_type": "RECEIPT", "_version": API_VERSION,
            "schema": record["schema"], "assets": _assets(record)}


# --- merchant API --------------------------------------------------------------------------------

def put_receipt(merchant_id: str, receipt_id: str, request: ReceiptPut) -> dict[str, Any]:
    """Create the receipt once; the same body again returns it, a different body is 409."""
    record = new_record(merchant_id, receipt_id, request, clock.now())
    try:
        client("dynamodb").put_item(TableName=_table(), Item=to_item(record),
                                    ConditionExpression="attribute_not_exists(receipt_id)",
                                    ReturnValuesOnConditionCheckFailure="ALL_OLD")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        existing = from_item(exc.response["Item"])
        if existing["merchant_id"] != merchant_id or existing["fingerprint"] != record["fingerprint"]:
            raise ConflictError(f"receipt {receipt_id} already exists with a different body") from exc
        if not existing.get("pdf_key"):
            request_pdf(existing)  # the first attempt may have stopped before asking for it
        return resource(existing)
    request_pdf(record)
    return resource(record)


def get_record(receipt_id: str) -> dict[str, Any] | None:
    response = client("dynamodb").get_item(TableName=_table(), Key={"receipt_id": {"S": receipt_id}},
                                           ConsistentRead=True)
    return from_item(response["Item"]) if "Item" in response else None


def get_receipt(merchant_id: str, receipt_id: str) -> dict[str, Any]:
    record = get_record(receipt_id)
    if record is None or record["merchant_id"] != merchant_id:
        raise ReceiptNotFound(f"receipt {receipt_id} not found")
    return resource(record)


def list_receipts(merchant_id: str, query: ListQuery) -> dict[str, Any]:
    """The merchant's receipts by creation time, paged by offset and limit."""
    wanted = query.offset + query.limit
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {
        "TableName": _table(), "IndexName": names.RECEIPTS_BY_MERCHANT_INDEX,
        "KeyConditionExpression": "merchant_id = :m", "ExpressionAttributeValues": {":m": {"S": merchant_id}},
        "ScanIndexForward": query.order == "ASC",
    }
    while len(items) < wanted:
        response = client("dynamodb").query(**request, Limit=wanted - len(items))
        items += response["Items"]
        if "LastEvaluatedKey" not in response:
            break
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    data = [resource(from_item(item)) for item in items[query.offset:wanted]]
    return {"_type": "RECEIPT_LIST", "_env": _env(), "_version": API_VERSION, "count": len(data), "data": data}


# --- public access -------------------------------------------------------------------------------

def by_public_token(token: str) -> dict[str, Any]:
    """The receipt behind a public token, unless that link has expired."""
    record = get_record(receipt_id_of_token(token))
    if record is None or not hmac.compare_digest(record["public_token"].encode(), token.encode()):
        raise ReceiptNotFound("receipt not found")
    if record["public_expires_at"] <= clock.now():
        raise PublicAccessExpired("the public link of this receipt has expired")
    return record


# --- PDFs ------------------------------------------------------------------------------------------

def pdf_key(receipt_id: str) -> str:
    return f"receipts/{receipt_id}.pdf"


def pdf_work(record: dict[str, Any]) -> str:
    """The pdfs-queue message for a stored record: with the record inline unless it is large."""
    body = PdfWork(receipt_id=record["receipt_id"], record=record).model_dump_json()
    if len(body) > _INLINE_RECORD_LIMIT:
        body = PdfWork(receipt_id=record["receipt_id"]).model_dump_json()
    return body


def request_pdf(record: dict[str, Any]) -> None:
    client("sqs").send_message(QueueUrl=queue_url(settings().queue(names.PDFS_QUEUE)), MessageBody=pdf_work(record))


def save_records(records: list[dict[str, Any]]) -> None:
    """Write whole records back (BatchWriteItem: no conditions; see ``receipt_public.render_pdfs``)."""
    batch_write(_table(), [{"PutRequest": {"Item": to_item(r)}} for r in records])


# --- receipts of orders ----------------------------------------------------------------------------

def _refund_of(order: dict[str, Any]) -> dict[str, Any] | None:
    """A refund's original receipt: its number and time as printed, and its eReceipt's public link."""
    parent = order.get("parent")
    if not order["is_refund"] or not parent:
        return None
    link = parent.get("public_link")
    return {"id": parent["order_id"], "number": parent["fiscal"]["fiscal_number"],
            "date": parent["fiscal"]["printed_at"], "url": link["url"] if link else None}


def _buyer(customer: dict[str, Any]) -> dict[str, Any] | None:
    buyer = {"name": customer.get("name"), "tax_number": customer.get("tax_id")}
    return {k: v for k, v in buyer.items() if v} or None


def put_for_order(order: dict[str, Any], shop_name: str) -> ReceiptPut:
    """The eReceipt PUT an order amounts to: same model, same validation as a merchant's PUT."""
    fiscal = order.get("fiscal") or {}
    total = money.format_minor(order["total"])
    customer = order.get("customer") or {}
    schema = {"ekabs_v0": {
        "head": {
            "id": order["order_id"],
            "number": fiscal.get("fiscal_number") or order["order_internal_id"][:8],
            "date": fiscal.get("printed_at", order["date"]),
            "is_refund": order["is_refund"],
            "refund_of": _refund_of(order),
            "seller": {"name": shop_name},
            "buyer": _buyer(customer),
            "pos": {"id": order["shop_id"], "cashier": order["user"]["name"]},
        },
        "data": {
            "currency": order["currency"],
            "full_amount_incl_vat": total,
            "payment_types": [{"name": p["name"], "type": p["type"], "amount": money.format_minor(p["amount"]),
                               **({"tendered": money.format_minor(p["tendered"])} if p.get("tendered") else {})}
                              for p in money.payments_of(order)],
            "vat_amounts": [{"percentage": v["rate"], "incl_vat": money.format_minor(v["gross"]),
                             "excl_vat": money.format_minor(v["net"]), "vat": money.format_minor(v["vat"])}
                            for v in order["vats"]],
            "lines": [{"text": line["name"],
                       "item": {"number": line.get("item_id"), "quantity": line["quantity"],
                                "price_per_unit": money.format_minor(line["unit_price"])},
                       **({"discount": money.format_minor(line["discount"])} if line.get("discount") else {}),
                       "vat_amounts": [{"percentage": line["vat_rate"], "incl_vat": money.format_minor(line["amount"])}]}
                      for line in order["lines"]],
        },
        "security": {"fiscal_device": fiscal.get("device"), "fiscal_number": fiscal.get("fiscal_number"),
                     "printed_at": fiscal.get("printed_at")},
    }}
    return parse_data(ReceiptPut, {"schema": schema, "metadata": {"order_id": order["order_id"],
                                                                 "shop_id": order["shop_id"]}})


def record_for_order(order: dict[str, Any], shop_name: str) -> dict[str, Any]:
    """The eReceipt record of an order being terminated. The caller writes it in the same transaction
    that terminates the order, so an order gets exactly one receipt and a fresh id is safe."""
    return new_record(order["merchant_id"], str(uuid.uuid4()), put_for_order(order, shop_name), clock.now())


def public_link(record: dict[str, Any]) -> dict[str, Any]:
    return {"url": public_url(record["public_token"]), "expires_at": record["public_expires_at"]}
