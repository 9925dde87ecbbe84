"""Response bodies of the routes whose views build plain dicts, as pydantic models for the
OpenAPI document (and for tests that hold responses to it). Request bodies are the
models the views already parse with."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from chalicelib.contracts import FailureReason
from chalicelib.orders.adapters.shopify import ShopifyOrder
from chalicelib.orders.adapters.woocommerce import WooOrder
from chalicelib.shops.catalog import Client, Department, Item, PaymentMethod


class ErrorBody(BaseModel):
    """DESIGN §4: every error, whatever the route."""

    status_code: int = Field(ge=400, le=599)
    error: str
    code: str = Field(pattern=r"^E_[A-Z_]+$")
    message: str


class AuthResponse(BaseModel):
    access_token: str
    access_token_claims: dict[str, Any]
    access_token_expires_in: int
    access_token_expires_at: int
    refresh_token: str
    refresh_token_expires_in: int
    refresh_token_expires_at: int


class ShopView(BaseModel):
    shop_id: str
    name: str
    timezone: str
    currency: str
    queue_url: str
    webhook_url: str | None = None
    created_at: int


class ShopCreated(ShopView):
    shop_key: str = Field(description="For web shops posting orders (X-Shop-Key); shown once.")
    edge_key: str = Field(description="For the shop's edge poller; shown once.")


class CatalogEntryIn(RootModel[Item | PaymentMethod | Client | Department]):
    """The body for one catalogue kind: items, payment_methods, clients; the rest are ``{name}``."""


class PlatformOrder(RootModel[ShopifyOrder | WooOrder]):
    """A Shopify ``orders/create`` or WooCommerce ``order.created`` payload, as the platform sends it."""


class CatalogEntryView(BaseModel):
    id: str
    name: str


class WebhookConfigOut(BaseModel):
    url: str
    secret: str = Field(description="Standard Webhooks signing secret (whsec_…); shown once.")
    events: list[str] = Field(description="The event types delivered: the order events unless the request named others.")


class EdgeCredentials(BaseModel):
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: int


class EdgeSession(BaseModel):
    token: str
    expires_at: int
    shop_id: str
    queue_url: str
    region: str
    credentials: EdgeCredentials


class WebhookItem(BaseModel):
    name: str
    quantity: str
    unitPrice: str
    discount: str = Field(description="VAT included, off quantity × unitPrice (the line's and its share of the order's).")
    price: str = Field(description="The line's total after its discount.")
    VATrate: str
    itemID: str | None


class WebhookVat(BaseModel):
    rate: str
    amount: str
    base: str


class WebhookEvent(BaseModel):
    """The body of every webhook (seed 003's fields and names), money as two-decimal strings. Each order is
    delivered ``validated`` then ``terminated`` (printed), or ``validated`` then ``failed`` (the edge gave up:
    ``reason`` and ``message`` say why); the later one never overtakes ``validated``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"allOf": [
        {"if": {"properties": {"type": {"const": "failed"}}}, "then": {"required": ["reason", "message"]}},
        {"if": {"properties": {"isRefund": {"const": True}}}, "then": {"required": ["parentOrderID"]}}]})
    type: Literal["validated", "terminated", "failed"]
    orderID: str = Field(description="The merchant's order_id.")
    orderInternalID: str = Field(description="The bridge's order_internal_id.")
    price: str
    clientID: str | None
    customer: dict[str, Any] | None
    cashBoxID: str
    deliveryMethod: str
    PDFinvoice: str | None
    items: list[WebhookItem]
    VATs: list[WebhookVat]
    VAT: str
    isRefund: bool
    parentOrderID: str | None = Field(default=None, description="Ours, in the seed's naming, only on a refund: the "
                                                                "orderID of the sale it reverses.")
    reason: FailureReason | None = Field(default=None, description="Only on failed: the edge's typed failure reason.")
    message: str | None = Field(default=None, description="Only on failed: the edge's message.")
