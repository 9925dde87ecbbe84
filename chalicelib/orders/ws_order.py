"""`POST /ws/order`: the cloud POS web service's parameter names, mapped onto ``OrderIn``.

Parameters come as form fields (``application/x-www-form-urlencoded``) or in
the query string, named as in seed 003: ``ID_SHOP``, ``KEYPARAM``,
``ID_PAYMENTMETHOD``, ``ID_DELIVERYMETHOD``, ``ID_USER``, ``ID_CLIENT`` or the
new client's ``CLIENT_NAME``/``CLIENT_EMAIL``/``CLIENT_PHONE``/``CLIENT_ADDRESS``,
``items`` (a JSON array of order lines), ``date`` (unix seconds) and
``order_id``; a refund adds ``is_refund`` and ``parent_order_id``. What the second wave added to the
JSON route comes under the same names here: ``payments`` (a JSON array, instead of ``ID_PAYMENTMETHOD``),
``discount``, ``printer`` and, in the seed's style, ``CLIENT_TAX_ID``. Pure: no I/O.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from chalicelib.core.errors import SchemaValidationError, UnsupportedMediaType
from chalicelib.core.media import FORM
from chalicelib.core.validation import parse_data
from chalicelib.orders.service import OrderIn

_Text = Annotated[str, StringConstraints(min_length=1, max_length=300, strip_whitespace=True)]
MAX_FIELDS = 40


class WsOrderParams(BaseModel):
    """The seed's parameters, every value a string as forms and query strings carry them."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False)
    shop_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(alias="ID_SHOP")
    shop_key: Annotated[str, StringConstraints(min_length=1, max_length=256)] = Field(alias="KEYPARAM")
    payment_method_id: _Text | None = Field(default=None, alias="ID_PAYMENTMETHOD")
    payments: Annotated[str, StringConstraints(min_length=2, max_length=20_000)] | None = None
    delivery_method_id: _Text = Field(alias="ID_DELIVERYMETHOD")
    user_id: _Text = Field(alias="ID_USER")
    client_id: _Text | None = Field(default=None, alias="ID_CLIENT")
    client_name: _Text | None = Field(default=None, alias="CLIENT_NAME")
    client_email: _Text | None = Field(default=None, alias="CLIENT_EMAIL")
    client_phone: _Text | None = Field(default=None, alias="CLIENT_PHONE")
    client_address: _Text | None = Field(default=None, alias="CLIENT_ADDRESS")
    client_tax_id: _Text | None = Field(default=None, alias="CLIENT_TAX_ID")
    items: Annotated[str, StringConstraints(min_length=2, max_length=200_000)]
    date: Annotated[str, StringConstraints(pattern=r"^\d{1,12}$")] | None = None
    order_id: _Text
    is_refund: Annotated[str, StringConstraints(pattern=r"^(?i:true|false|1|0)$")] | None = None
    parent_order_id: _Text | None = None
    discount: _Text | None = None
    printer: _Text | None = None


def collect(query: dict[str, list[str]], content_type: str | None, body: bytes | None) -> dict[str, str]:
    """Query and form parameters as one mapping; blank values count as absent, a repeated name is refused."""
    pairs = [(name, value) for name, values in query.items() for value in values]
    form_body = body if body and body.strip() else None
    if form_body and not (content_type or "").lower().startswith(FORM):
        raise UnsupportedMediaType(f"send the parameters as {FORM} form fields or in the query string")
    if form_body:
        try:
            pairs += parse_qsl(form_body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
        except (UnicodeDecodeError, ValueError) as exc:
            raise SchemaValidationError("form body must be UTF-8 application/x-www-form-urlencoded") from exc
    if len(pairs) > MAX_FIELDS:
        raise SchemaValidationError(f"at most {MAX_FIELDS} parameters")
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise SchemaValidationError(f"parameter {name} given more than once")
        if value.strip():
            params[name] = value
    return params


def _json_list(name: str, text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise SchemaValidationError(f"{name} must be a JSON array") from exc


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def to_order(params: WsOrderParams) -> OrderIn:
    """The same order the JSON route takes; JSON numbers in ``items`` are read as exact decimals."""
    client_fields = {"name": params.client_name, "email": params.client_email, "phone": params.client_phone,
                     "address": params.client_address, "tax_id": params.client_tax_id}
    client = {k: v for k, v in client_fields.items() if v is not None} or None
    body: dict[str, Any] = {
        "order_id": params.order_id,
        "payment_method_id": params.payment_method_id,
        "payments": _json_list("payments", params.payments),
        "delivery_method_id": params.delivery_method_id,
        "user_id": params.user_id,
        "client_id": params.client_id,
        "client": client,
        "items": _json_list("items", params.items),
        "date": int(params.date) if params.date is not None else None,
        "is_refund": (params.is_refund or "false").lower() in ("true", "1"),
        "parent_order_id": params.parent_order_id,
        "discount": params.discount,
        "printer": params.printer,
    }
    return parse_data(OrderIn, {k: v for k, v in body.items() if v is not None})
