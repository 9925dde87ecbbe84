"""Order intake (one idempotent call), order lookup, and the order's job.

``build_order`` is pure: catalogue resolution, money and VAT, the fiscal job.
``record_order`` does the I/O: one DynamoDB transaction conditioned on the
merchant's ``order_id`` (the order, its job, its entry in the shop's day index
and, for a refund, the parent's refunded amount, conditioned on what is left).
The order's insert reaches ``outbox`` through the table's stream, which queues
the job on the shop's queue and the ``validated`` webhook.

The job is built as version 2 of the contract (split tender, discounts spread to the cent, the buyer's
tax id, the original receipt a refund names, the printer); the outbox writes it in version 1's shape
when it needs nothing of version 2. A refund's parent must be printed already: its fiscal record is
what the refund's device names.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Annotated, Any, get_args

from botocore.exceptions import ClientError
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from chalicelib.aws.clients import client
from chalicelib.aws.storage import (
    batch_get,
    cancellation_codes,
    from_item,
    key,
    to_item,
)
from chalicelib.contracts import (
    JOB_VERSION_2,
    MAX_MINOR_UNITS,
    FailureReason,
    FiscalJob,
    FiscalRecord,
    Identifier,
    JobLine,
    JobPayment,
    OriginalReceipt,
    PaymentType,
    Quantity,
)
from chalicelib.core import clock, money
from chalicelib.core.errors import (
    AmountTooLarge,
    AuthenticationError,
    CatalogReferenceError,
    ConflictError,
    DiscountExceedsLine,
    OrderNotFound,
    ParentNotFiscalized,
    PaymentMismatch,
    RefundExceedsParent,
    SchemaValidationError,
    ServiceUnavailable,
    TenderedInvalid,
    VatInconsistent,
)
from chalicelib.core.settings import settings
from chalicelib.reports.sales import local_day
from chalicelib.shops.catalog import CatalogKind, Client, PriceString, RateString
from chalicelib.shops.service import ShopSnapshot


def _reject_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError("money and quantities are decimal strings such as \"3.50\", not JSON numbers")
    return money.ascii_decimal_text(value)


def _decimal_string(inner: Any) -> Any:
    """``inner`` (Annotated[Decimal, Field(...)]) as the API documents it: a decimal string within its
    bounds. A JSON integer is tolerated, a float refused."""
    bounds = get_args(inner)[1]
    return Annotated[inner, BeforeValidator(_reject_float), WithJsonSchema(money.decimal_string_schema(bounds))]


_CATALOGUE_OR_FREE_LINE = {"anyOf": [
    {"required": ["item_id"], "properties": {"item_id": {"type": "string"}}},
    {"required": ["name", "unit_price", "vat_rate"],
     "properties": {"name": {"type": "string"}, "unit_price": {"type": "string"}, "vat_rate": {"type": "string"}}},
]}
# Exactly one of the two, said without oneOf (a generated client turns an object with a top-level oneOf into Any):
# no payments means a payment_method_id, and never both.
_ONE_PAYMENT_OR_SPLIT = {"allOf": [{"if": {"not": {"required": ["payments"]}}, "then": {"required": ["payment_method_id"]}},
                                   {"not": {"required": ["payment_method_id", "payments"]}}]}
# A payment or discount: what a fiscal receipt can carry (MAX_MINOR_UNITS), in cents.
PaymentAmount = Annotated[Decimal, Field(gt=0, le=Decimal(MAX_MINOR_UNITS) / 100, max_digits=14, decimal_places=2)]
DiscountAmount = Annotated[Decimal, Field(ge=0, le=Decimal(MAX_MINOR_UNITS) / 100, max_digits=14, decimal_places=2)]
PrinterName = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class OrderLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_CATALOGUE_OR_FREE_LINE)
    item_id: Identifier | None = None
    name: Annotated[str, StringConstraints(min_length=1, max_length=72, strip_whitespace=True)] | None = None
    quantity: _decimal_string(Quantity)
    unit_price: _decimal_string(PriceString) | None = None
    vat_rate: _decimal_string(RateString) | None = None
    discount: _decimal_string(DiscountAmount) | None = Field(
        default=None, description="VAT included, off this line's quantity × unit_price.")
    vat: _decimal_string(DiscountAmount) | None = Field(
        default=None, description="The VAT this line's amount contains, as the shop platform computed it (within a "
                                  "minor unit of vat_rate's); without it the bridge computes it per rate.")

    @model_validator(mode="after")
    def _catalogue_or_free_line(self) -> OrderLineIn:
        if self.item_id is None and (self.name is None or self.unit_price is None or self.vat_rate is None):
            raise ValueError("a line needs item_id, or name with unit_price and vat_rate")
        return self


class PaymentIn(BaseModel):
    """One payment of a split tender; ``tendered`` (cash only) is what the customer handed over."""

    model_config = ConfigDict(extra="forbid")
    payment_method_id: Identifier
    amount: _decimal_string(PaymentAmount)
    tendered: _decimal_string(PaymentAmount) | None = Field(
        default=None, description="Cash only, at least amount: the receipt prints the change.")


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_ONE_PAYMENT_OR_SPLIT)
    order_id: Identifier
    payment_method_id: Identifier | None = Field(default=None, description="One payment of the whole total.")
    payments: Annotated[list[PaymentIn], Field(min_length=1, max_length=10)] | None = Field(
        default=None, description="Split tender instead of payment_method_id: the amounts add up to the total.")
    delivery_method_id: Identifier
    user_id: Identifier
    client_id: Identifier | None = None
    client: Client | None = None
    items: Annotated[list[OrderLineIn], Field(min_length=1, max_length=500)]
    discount: _decimal_string(DiscountAmount) | None = Field(
        default=None, description="VAT included, off the whole order: spread over the lines pro rata, to the cent.")
    date: Annotated[int, Field(ge=946684800, le=4102444800)] | None = None
    is_refund: bool = False
    parent_order_id: Identifier | None = None
    printer: PrinterName | None = Field(
        default=None, description="The edge fiscal device (its name) that prints this order; else the edge's default.")

    @model_validator(mode="after")
    def _consistent(self) -> OrderIn:
        if (self.payment_method_id is None) == (self.payments is None):
            raise ValueError("give payment_method_id or payments, one of them")
        if self.client_id is not None and self.client is not None:
            raise ValueError("give client_id or client, not both")
        if self.is_refund != (self.parent_order_id is not None):
            raise ValueError("a refund (is_refund) needs parent_order_id, and only a refund has one")
        return self

    def fingerprint(self) -> str:
        """Equal for equal orders: decimals compared by value ("1.2" and "1.20" are one price)."""
        canonical = json.dumps(_canonical(self.model_dump(exclude_none=True)), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, Decimal):
        return money.plain_decimal(value)
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _reference(snapshot: ShopSnapshot, kind: CatalogKind, entry_id: str, field: str) -> dict[str, Any]:
    entry = snapshot.catalog.get(kind, entry_id)
    if entry is None:
        raise CatalogReferenceError(f"{field} '{entry_id}' is not in this shop's {kind.value}")
    return entry


def _line(snapshot: ShopSnapshot, index: int, line: OrderLineIn) -> dict[str, Any]:
    if line.item_id is not None:
        item = _reference(snapshot, CatalogKind.ITEMS, line.item_id, f"items[{index}].item_id")
        name, price, rate = item["name"], Decimal(item["price"]), Decimal(item["vat_rate"])
    else:
        name, price, rate = line.name, line.unit_price, line.vat_rate
    unit_price = money.to_minor(price)
    gross = money.line_amount(line.quantity, unit_price)
    discount = money.to_minor(line.discount) if line.discount is not None else 0
    if discount > gross or discount > line.quantity * unit_price:
        raise DiscountExceedsLine(f"items[{index}].discount {money.format_minor(discount)} is more than the line "
                                  f"({money.format_minor(gross)})")
    recorded = {
        "item_id": line.item_id,
        "name": name,
        "quantity": money.plain_decimal(line.quantity),
        "unit_price": unit_price,
        "vat_rate": money.plain_decimal(rate),
        "discount": discount,
        "amount": gross - discount,
    }
    if line.vat is not None:
        recorded["vat"] = money.to_minor(line.vat)
    return recorded


def _check_vat(index: int, line: dict[str, Any]) -> None:
    """A given VAT amount is the line's rate contained in its amount, within one minor unit of the exact value (so
    a rate group's sum stays within the eReceipt's one unit per line of the group's own rounding)."""
    rate = Decimal(line["vat_rate"])
    exact = Decimal(line["amount"]) * rate / (100 + rate)
    if abs(line["vat"] - exact) >= 1 or (rate == 0 and line["vat"] != 0):
        raise VatInconsistent(f"items[{index}] '{line['name']}': VAT {money.format_minor(line['vat'])} is not "
                              f"{money.plain_decimal(rate)}% contained in {money.format_minor(line['amount'])}")


def _vats(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """VAT per rate: the given line amounts where a line has one, the rate's share of the others' sum."""
    computed = money.vat_breakdown([(Decimal(line["vat_rate"]), line["amount"]) for line in lines if "vat" not in line])
    groups: dict[Decimal, dict[str, Any]] = {Decimal(v["rate"]): dict(v) for v in computed}
    for line in lines:
        if "vat" in line:
            group = groups.setdefault(Decimal(line["vat_rate"]).normalize(),
                                      {"rate": Decimal(line["vat_rate"]).normalize(), "gross": 0, "vat": 0, "net": 0})
            group["gross"] += line["amount"]
            group["vat"] += line["vat"]
            group["net"] += line["amount"] - line["vat"]
    return [groups[rate] for rate in sorted(groups)]


def _spread_discount(lines: list[dict[str, Any]], discount: int) -> None:
    """Take the order's discount off its lines pro rata to what each still costs, to the cent: every line
    its share rounded down, the cents left over one each to the lines with the largest remainders (the
    earlier line first on a tie), so the lines still add up to the order's total."""
    base = sum(line["amount"] for line in lines)
    if discount > base:
        raise DiscountExceedsLine(f"the order's discount {money.format_minor(discount)} is more than its lines "
                                  f"({money.format_minor(base)})")
    if discount == 0:
        return
    shares = [discount * line["amount"] // base for line in lines]
    by_remainder = sorted(range(len(lines)), key=lambda i: (-(discount * lines[i]["amount"] % base), i))
    for i in by_remainder[:discount - sum(shares)]:
        shares[i] += 1
    for index, (line, share) in enumerate(zip(lines, shares)):
        line["discount"] += share
        line["amount"] -= share
        if line["discount"] > Decimal(line["quantity"]) * line["unit_price"]:
            raise DiscountExceedsLine(f"the order's discount takes items[{index}] below zero")


def _payments(snapshot: ShopSnapshot, request: OrderIn, total: int) -> list[dict[str, Any]]:
    """The order's payments, each with its catalogue method: one of the whole total, or the split tender
    (which must add up to the total; ``tendered`` only on cash, and covering its payment)."""
    if request.payments is None:
        method = _reference(snapshot, CatalogKind.PAYMENT_METHODS, request.payment_method_id, "payment_method_id")
        return [{"method_id": request.payment_method_id, "name": method["name"], "type": method["type"],
                 "amount": total}]
    methods = [_reference(snapshot, CatalogKind.PAYMENT_METHODS, p.payment_method_id,
                          f"payments[{i}].payment_method_id") for i, p in enumerate(request.payments)]
    payments: list[dict[str, Any]] = []
    for index, (paid, method) in enumerate(zip(request.payments, methods)):
        payment = {"method_id": paid.payment_method_id, "name": method["name"], "type": method["type"],
                   "amount": money.to_minor(paid.amount)}
        if paid.tendered is not None:
            payment["tendered"] = money.to_minor(paid.tendered)
            if method["type"] != PaymentType.CASH.value:
                raise TenderedInvalid(f"payments[{index}].tendered: only a cash payment has a tendered amount "
                                      f"('{paid.payment_method_id}' is {method['type']})")
            if payment["tendered"] < payment["amount"]:
                raise TenderedInvalid(f"payments[{index}].tendered {money.format_minor(payment['tendered'])} is less "
                                      f"than its amount {money.format_minor(payment['amount'])}")
        payments.append(payment)
    paid_total = sum(payment["amount"] for payment in payments)
    if paid_total != total:
        raise PaymentMismatch(f"the payments add up to {money.format_minor(paid_total)}, the order's total is "
                              f"{money.format_minor(total)}")
    return payments


def _original(parent: dict[str, Any]) -> dict[str, Any]:
    """What a refund keeps of its parent sale: the fiscal record its device must name, the total it may
    reverse, and the parent's eReceipt link (the refund's eReceipt links to it)."""
    return {"order_id": parent["order_id"], "fiscal": parent["fiscal"], "total": parent["total"],
            "receipt_id": parent.get("receipt_id"), "public_link": parent.get("public_link")}


def build_order(snapshot: ShopSnapshot, request: OrderIn, now: int,
                parent: dict[str, Any] | None = None) -> dict[str, Any]:
    """The order record the bridge stores, with its fiscal job; no I/O. ``parent`` is a refund's
    fiscalized parent sale."""
    delivery = _reference(snapshot, CatalogKind.DELIVERY_METHODS, request.delivery_method_id, "delivery_method_id")
    user = _reference(snapshot, CatalogKind.USERS, request.user_id, "user_id")
    if request.client_id is not None:
        customer = _reference(snapshot, CatalogKind.CLIENTS, request.client_id, "client_id")
    else:
        customer = request.client.model_dump(exclude_none=True) if request.client else None
    lines = [_line(snapshot, i, line) for i, line in enumerate(request.items)]
    if request.discount is not None:
        _spread_discount(lines, money.to_minor(request.discount))
    total = sum(line["amount"] for line in lines)
    if total > MAX_MINOR_UNITS:
        raise AmountTooLarge(f"the order's total {money.format_minor(total)} is more than a fiscal receipt can carry "
                             f"({money.format_minor(MAX_MINOR_UNITS)})")
    if total <= 0:
        raise SchemaValidationError("an order's total must be greater than zero")
    for index, line in enumerate(lines):
        if "vat" in line:
            _check_vat(index, line)
    payments = _payments(snapshot, request, total)
    vats = _vats(lines)
    original = _original(parent) if parent is not None else None
    order_internal_id, job_id = str(uuid.uuid4()), str(uuid.uuid4())
    job = FiscalJob(
        v=JOB_VERSION_2,
        job_id=job_id,
        shop_id=snapshot.shop_id,
        order_id=request.order_id,
        order_internal_id=order_internal_id,
        created_at=now,
        currency=snapshot.profile["currency"],
        is_refund=request.is_refund,
        operator=request.user_id,
        lines=[JobLine(name=l["name"], quantity=Decimal(l["quantity"]), unit_price=l["unit_price"],
                       vat_rate=Decimal(l["vat_rate"]), discount=l["discount"], amount=l["amount"]) for l in lines],
        payments=[JobPayment(type=PaymentType(p["type"]), method_id=p["method_id"], amount=p["amount"],
                             tendered=p.get("tendered")) for p in payments],
        total=total,
        buyer_tax_id=(customer or {}).get("tax_id"),
        original=OriginalReceipt(order_id=original["order_id"], fiscal=FiscalRecord(**original["fiscal"]),
                                 total=original["total"]) if original else None,
        printer=request.printer,
    )
    return {
        "order_id": request.order_id,
        "order_internal_id": order_internal_id,
        "shop_id": snapshot.shop_id,
        "merchant_id": snapshot.profile["merchant_id"],
        "status": "validated",
        "fingerprint": request.fingerprint(),
        "created_at": now,
        "date": request.date or now,
        "currency": snapshot.profile["currency"],
        "lines": lines,
        "total": total,
        "discount": sum(line["discount"] for line in lines),
        "vat_total": sum(int(v["vat"]) for v in vats),
        "vats": [{**v, "rate": money.plain_decimal(Decimal(v["rate"]))} for v in vats],
        "payments": payments,
        "delivery": {"method_id": request.delivery_method_id, "name": delivery["name"]},
        "user": {"user_id": request.user_id, "name": user["name"]},
        "client_id": request.client_id,
        "customer": customer,
        "is_refund": request.is_refund,
        "parent_order_id": request.parent_order_id,
        "parent": original,
        "printer": request.printer,
        "job_id": job_id,
        "job": job.model_dump(mode="json"),
        "jobs_queue_url": snapshot.profile["queue_url"],
    }


def order_key(shop_id: str, order_id: str) -> dict[str, Any]:
    return key(f"SHOP#{shop_id}", f"ORDER#{order_id}")


def job_key(job_id: str) -> dict[str, Any]:
    return key(f"JOB#{job_id}", "JOB")


def _table() -> str:
    return settings().table("orders")


def get_order(shop_id: str, order_id: str) -> dict[str, Any]:
    response = client("dynamodb").get_item(TableName=_table(), Key=order_key(shop_id, order_id), ConsistentRead=True)
    if "Item" not in response:
        raise OrderNotFound(f"order {order_id} not found")
    return from_item(response["Item"])


_DAY_FIELDS = ("order_id", "order_internal_id", "date", "created_at", "currency", "lines", "total", "vat_total",
               "vats", "payments", "discount", "is_refund", "parent_order_id")


def day_entry(shop_id: str, day: str, order: dict[str, Any]) -> dict[str, Any]:
    """The order's entry in the shop's day index (what the daily sales report reads)."""
    return {"pk": f"DAY#{shop_id}#{day}", "sk": f"ORDER#{order['order_id']}", **{name: order[name] for name in _DAY_FIELDS}}


def _parent(snapshot: ShopSnapshot, parent_order_id: str) -> dict[str, Any]:
    try:
        parent = get_order(snapshot.shop_id, parent_order_id)
    except OrderNotFound:
        parent = None
    if parent is None or parent["is_refund"]:
        raise CatalogReferenceError("parent_order_id must name an existing sale of this shop")
    if not parent.get("fiscal"):
        raise ParentNotFiscalized(f"order {parent_order_id} has no fiscal receipt yet ({parent['status']}): a refund "
                                  "names the original receipt, so it can be recorded once the sale is printed")
    return parent


def _refund_claim(table: str, snapshot: ShopSnapshot, parent: dict[str, Any], amount: int) -> dict[str, Any]:
    """Add the refund to its parent's refunded amount, only if it fits in what is left."""
    return {"Update": {
        "TableName": table, "Key": order_key(snapshot.shop_id, parent["order_id"]),
        "UpdateExpression": "SET refunded_total = if_not_exists(refunded_total, :zero) + :amount",
        "ConditionExpression": "is_refund = :false AND #total >= :amount AND "
                               "(attribute_not_exists(refunded_total) OR refunded_total <= :room)",
        "ExpressionAttributeNames": {"#total": "total"},
        "ExpressionAttributeValues": to_item({":zero": 0, ":amount": amount, ":false": False,
                                              ":room": parent["total"] - amount}),
    }}


def record_order(snapshot: ShopSnapshot, request: OrderIn, *, guard: dict[str, Any] | None = None) -> tuple[dict[str, Any], bool]:
    """Record the order and its job atomically; return (order, created). The table's stream dispatches it.

    One synchronous AWS request: the transaction. ``guard`` (the shop key's
    condition check) rides in the transaction: a key rotated or a shop deleted a moment ago is refused there."""
    try:
        parent = _parent(snapshot, request.parent_order_id) if request.parent_order_id is not None else None
    except ParentNotFiscalized:
        recorded = _replayed(snapshot.shop_id, request)  # a refund recorded before refunds needed a printed parent
        if recorded is None:
            raise
        return recorded, False
    order = build_order(snapshot, request, clock.now(), parent)
    table = _table()
    day = local_day(snapshot.profile.get("timezone"), order["date"])
    items: list[dict[str, Any]] = [
        {"Put": {"TableName": table, "ConditionExpression": "attribute_not_exists(pk)",
                 "Item": to_item({"pk": f"SHOP#{snapshot.shop_id}", "sk": f"ORDER#{request.order_id}", **order})}},
        {"Put": {"TableName": table, "ConditionExpression": "attribute_not_exists(pk)",
                 "Item": to_item({"pk": f"JOB#{order['job_id']}", "sk": "JOB", "job_id": order["job_id"],
                                  "shop_id": snapshot.shop_id, "order_id": request.order_id,
                                  "status": "queued", "created_at": order["created_at"]})}},
        {"Put": {"TableName": table, "Item": to_item(day_entry(snapshot.shop_id, day, order))}},
    ]
    if parent is not None:
        items.append(_refund_claim(table, snapshot, parent, order["total"]))
    if guard is not None:
        items.insert(0, guard)
    try:
        client("dynamodb").transact_write_items(TransactItems=items)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        codes = cancellation_codes(exc)
        if guard is not None:
            if codes and codes[0] == "ConditionalCheckFailed":
                raise AuthenticationError("invalid shop key") from exc
            codes = codes[1:]
        return _not_recorded(snapshot.shop_id, request, order, codes, exc), False
    return order, True


def _replayed(shop_id: str, request: OrderIn) -> dict[str, Any] | None:
    """The order already recorded under ``request.order_id``, or None; a different body under that id is
    a conflict."""
    existing = _stored_order(shop_id, request.order_id)
    if existing is None:
        return None
    if existing["fingerprint"] != request.fingerprint():
        raise ConflictError(f"order {request.order_id} exists with a different body")
    return existing


def _not_recorded(shop_id: str, request: OrderIn, order: dict[str, Any], codes: list[str],
                  exc: ClientError) -> dict[str, Any]:
    """Why a transaction was cancelled: a replay (the stored order, in one read), a conflict, or a refund
    too large."""
    existing = _stored_order(shop_id, request.order_id)
    if existing is None:
        if request.is_refund and (not codes or codes[-1] == "ConditionalCheckFailed"):
            raise RefundExceedsParent(f"refund {request.order_id} exceeds what is left to refund of order "
                                      f"{request.parent_order_id}") from exc
        raise ServiceUnavailable("a concurrent request touched this order; retry with the same request") from exc
    if existing["fingerprint"] != order["fingerprint"]:
        raise ConflictError(f"order {request.order_id} exists with a different body") from exc
    return existing


def _stored_order(shop_id: str, order_id: str) -> dict[str, Any] | None:
    response = client("dynamodb").get_item(TableName=_table(), Key=order_key(shop_id, order_id), ConsistentRead=True)
    return from_item(response["Item"]) if "Item" in response else None


def stored_order(shop_id: str, order_id: str) -> dict[str, Any]:
    """The order as stored (the console's trace reads its every field); ``OrderNotFound`` if there is none."""
    order = _stored_order(shop_id, order_id)
    if order is None:
        raise OrderNotFound(f"order {order_id} not found")
    return order


def orders_by_id(shop_id: str, order_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The shop's orders of these ids (a BatchGetItem per hundred), by order id; ids not found are left out."""
    return {order["order_id"]: order for order in batch_get(_table(), [order_key(shop_id, i) for i in order_ids])}


def day_orders(shop_id: str, day: str) -> Iterator[dict[str, Any]]:
    """Every order (sales and refunds) in the shop's day index for that local day, read a page (1 MB) at a time:
    a busy day is never held whole."""
    for page in client("dynamodb").get_paginator("query").paginate(
        TableName=_table(), KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"DAY#{shop_id}#{day}"}},
    ):
        yield from (from_item(item) for item in page["Items"])


class PublicLinkOut(BaseModel):
    url: str
    expires_at: int


class ParentOut(BaseModel):
    order_id: str
    fiscal: FiscalRecord | None = Field(description="The parent sale's fiscal record, as its device printed it.")


class FailureOut(BaseModel):
    """Why an order ended ``failed``: the edge's typed reason and its message."""

    reason: FailureReason
    message: str


class OrderOut(BaseModel):
    """An order as the API shows it (both order routes, adapters, lookups)."""

    order_id: str
    order_internal_id: str
    status: str
    source: str = Field(description='"web" for an order recorded through the API (or a shop platform), "till" for a '
                                    'sale the edge printed at the till (POST /manage/sales) and uploaded later.')
    total: str
    currency: str
    is_refund: bool
    parent_order_id: str | None
    parent: ParentOut | None = Field(description="For a refund: the sale it reverses and that sale's fiscal record.")
    refunded: str | None = Field(description="Sum of the refunds recorded against this sale, for sales.")
    created_at: int
    fiscal: FiscalRecord | None = Field(description="The printed receipt as its device numbers it; null until printed.")
    failure: FailureOut | None
    receipt_id: str | None
    public_link: PublicLinkOut | None
    invoice_pdf: str | None


def public_view(order: dict[str, Any]) -> dict[str, Any]:
    link = order.get("public_link")
    return OrderOut(
        order_id=order["order_id"],
        order_internal_id=order["order_internal_id"],
        status=order["status"],
        source=order.get("source", "web"),
        total=money.format_minor(order["total"]),
        currency=order["currency"],
        is_refund=order["is_refund"],
        parent_order_id=order.get("parent_order_id"),
        parent={"order_id": order["parent_order_id"], "fiscal": (order.get("parent") or {}).get("fiscal")}
        if order["is_refund"] else None,
        refunded=None if order["is_refund"] else money.format_minor(order.get("refunded_total", 0)),
        created_at=order["created_at"],
        fiscal=order.get("fiscal"),
        failure=order.get("failure"),
        receipt_id=order.get("receipt_id"),
        public_link=link,
        invoice_pdf=f"{link['url']}.pdf" if link else None,
    ).model_dump(mode="json")
