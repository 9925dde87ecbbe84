"""The OpenAPI 3.1 document of the whole HTTP API, generated from the pydantic models.

``OPERATIONS`` names, for every route of ``app.py``, what it reads and answers;
a test fails when a route has no entry here. Built on first request and cached,
so a cold start never pays for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib import edge_api
from chalicelib.auth import merchants
from chalicelib.contracts import Heartbeat, HeartbeatAck, JobResult, ResultAck, TillSale, TillSaleAck
from chalicelib.fleet import view as fleet_view
from chalicelib.openapi import responses as m
from chalicelib.orders import service as orders
from chalicelib.orders import ws_order
from chalicelib.orders.adapters import registry as adapter_registry
from chalicelib.orders.adapters import service as adapters
from chalicelib.receipts import service as receipts
from chalicelib.reports import catalog_export as exports_catalog
from chalicelib.reports import sales_export as exports_sales
from chalicelib.reports.sales_formats import json_document as sales_json
from chalicelib.shops import pairing
from chalicelib.shops import service as shops
from chalicelib.webhooks import deliveries
from chalicelib.webhooks import sending as webhooks

Auth = Literal["bearer", "shop_key", "bearer_or_shop_key", "edge", "none"]
_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "bearer": [{"bearerAuth": []}],
    "shop_key": [{"shopKey": []}],
    "bearer_or_shop_key": [{"bearerAuth": []}, {"shopKey": []}],
    "edge": [{"edgeBearer": []}],
    "none": [],
}
_UUID_PARAMS = {"shop_id", "receipt_id"}
_PATTERNS = {"delivery_id": deliveries._DELIVERY_ID.pattern, "token": r"^[A-Za-z0-9_-]{44}$"}
_CATALOG_FILES = {"csv": "text/csv", "html": "text/html"}
_UUID4 = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$"
_ANY_FILE = "application/octet-stream"
_FILE_NOTE = (" Its Content-Type is the media type of the ?format= asked for, each listed here; "
              f"{_ANY_FILE} stands for any of them read as bytes, which is how a generated client reads the answer.")
_KINDS = ["items", "departments", "clients", "payment_methods", "delivery_methods", "users"]


def _media(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip()


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    auth: Auth = "bearer"
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    media: str = "application/json"
    path_enums: dict[str, list[str]] = field(default_factory=dict)
    body_media: str = "application/json"  # one: openapi-python-client 0.29 cannot import a module with two
    files: dict[str, str] = field(default_factory=dict)  # downloads: ?format= name -> media type, besides JSON
    headers: dict[str, str] = field(default_factory=dict)  # optional request headers -> description
    route: str | None = None  # the app.py route that serves this path, when the path is one of its forms


def _platform_headers() -> dict[str, str]:
    described: dict[str, str] = {}
    for adapter in adapter_registry.ADAPTERS.values():
        described[adapter.signature_header] = (f"{adapter.name}: base64 HMAC-SHA256 of the raw body with the secret "
                                               "set by PUT .../adapters/{platform}")
        described[adapter.topic_header] = f"{adapter.name}: the webhook's topic; {adapter.order_topic} records an order"
    return described


OPERATIONS: dict[tuple[str, str], Operation] = {
    ("POST", "/api/v1/auth"): Operation("Exchange an API key pair or a refresh token for tokens", "auth",
                                        auth="none", body=merchants.AuthRequest, response=m.AuthResponse),
    ("POST", "/api/v1/shops"): Operation("Create a shop with its jobs queue and keys", "shops",
                                         body=shops.CreateShop, response=m.ShopCreated, status=201),
    ("GET", "/api/v1/shops/{shop_id}"): Operation("Retrieve a shop", "shops", response=m.ShopView),
    ("DELETE", "/api/v1/shops/{shop_id}"): Operation(
        "Delete a shop: its keys stop working and its jobs queue is removed (orders and receipts are kept)", "shops",
        status=204),
    ("PUT", "/api/v1/shops/{shop_id}/catalog/{kind}/{entry_id}"): Operation(
        "Create or replace a catalogue entry", "catalog", body=m.CatalogEntryIn, response=m.CatalogEntryView,
        path_enums={"kind": _KINDS}),
    ("POST", "/api/v1/shops/{shop_id}/orders"): Operation(
        "Record an order in one idempotent call (201 created, 200 replay)", "orders", auth="shop_key",
        body=orders.OrderIn, response=orders.OrderOut, status=201),
    ("GET", "/api/v1/shops/{shop_id}/orders/{order_id}"): Operation(
        "Retrieve an order", "orders", auth="bearer_or_shop_key", response=orders.OrderOut),
    ("POST", "/ws/order"): Operation(
        "Record an order with the seed's parameter names (ID_SHOP, KEYPARAM, ...) as form fields (the same "
        "parameters are also read from the query string or a JSON body)",
        "orders", auth="none", body=ws_order.WsOrderParams, response=orders.OrderOut, status=201,
        body_media=ws_order.FORM),
    ("GET", "/api/v1/shops/{shop_id}/catalog/{kind}"): Operation(
        "Download a catalogue kind as json, csv or html", "catalog", query=exports_catalog.CatalogExportQuery,
        response=exports_catalog.CatalogExportOut, files=_CATALOG_FILES, path_enums={"kind": _KINDS}),
    ("GET", "/api/v1/shops/{shop_id}/reports/sales"): Operation(
        "Daily sales export for one shop day (its time zone); a file too large for a response (over 4 MB by "
        "default) answers 303 See Other, its Location a presigned S3 link valid for 5 minutes",
        "reports", query=exports_sales.SalesReportQuery,
        response=sales_json.SalesReportOut,
        files={name: _media(f.content_type) for name, f in exports_sales.FORMATS.items() if name != "json"}),
    ("GET", "/api/v1/shops/{shop_id}/webhook/deliveries"): Operation(
        "Webhook delivery log with every attempt", "webhooks", query=deliveries.DeliveryListQuery,
        response=deliveries.DeliveryListOut),
    ("POST", "/api/v1/shops/{shop_id}/webhook/deliveries/{delivery_id}/replay"): Operation(
        "Deliver a delivered or dead-lettered webhook again", "webhooks", response=deliveries.DeliveryOut, status=202),
    ("PUT", "/api/v1/shops/{shop_id}/adapters/{platform}"): Operation(
        "Set a platform's webhook secret and order defaults", "adapters", body=adapters.AdapterConfigIn,
        response=adapters.AdapterConfigOut, path_enums={"platform": list(adapter_registry.ADAPTERS)}),
    ("POST", "/api/v1/shops/{shop_id}/adapters/{platform}/orders"): Operation(
        "Shopify orders/create or WooCommerce order.created, HMAC-signed with the shop's secret", "adapters",
        auth="none", body=m.PlatformOrder, response=adapters.AdapterResultOut, status=201, headers=_platform_headers(),
        path_enums={"platform": list(adapter_registry.ADAPTERS)}),
    ("PUT", "/api/v1/shops/{shop_id}/webhook"): Operation(
        "Set the shop's webhook URL; returns a new signing secret", "webhooks",
        body=webhooks.WebhookConfigIn, response=m.WebhookConfigOut),
    ("POST", "/api/v1/edge/session"): Operation(
        "Open an edge session: edge JWT and credentials scoped to the shop's queue", "edge", auth="none",
        body=edge_api.EdgeSessionIn, response=m.EdgeSession),
    ("POST", "/api/v1/edge/results"): Operation("Report a job's result (idempotent by job_id)", "edge",
                                                auth="edge", body=JobResult, response=ResultAck),
    ("POST", "/api/v1/edge/sales"): Operation(
        "Upload a sale the till printed itself: a terminated order with source \"till\" (idempotent by order_id)",
        "edge", auth="edge", body=TillSale, response=TillSaleAck),
    ("POST", "/api/v1/edge/heartbeat"): Operation(
        "The edge's heartbeat, at least once a minute: version, devices with status and warnings, backlog",
        "edge", auth="edge", body=Heartbeat, response=HeartbeatAck),
    ("GET", "/api/v1/shops/{shop_id}/edge"): Operation(
        "The shop's edge: online (a heartbeat within 2 minutes), last seen, version, devices, backlog", "shops",
        response=fleet_view.EdgeView),
    ("PUT", "/api/v1/receipts/{receipt_id}"): Operation("Create a receipt (idempotent)", "receipts",
                                                        body=receipts.ReceiptPut, response=receipts.Receipt),
    ("GET", "/api/v1/receipts/{receipt_id}"): Operation("Retrieve a receipt", "receipts", response=receipts.Receipt),
    ("GET", "/api/v1/receipts"): Operation("List all receipts", "receipts", query=receipts.ListQuery,
                                           response=receipts.ReceiptList),
    ("GET", "/r/{token}"): Operation("Public receipt: the page with its QR code and PDF link", "public",
                                     auth="none", media="text/html"),
    ("GET", "/r/{token}.json"): Operation("Public receipt: the public resource", "public", auth="none",
                                          response=receipts.PublicReceipt, route="/r/{token}"),
    ("GET", "/r/{token}.pdf"): Operation("Public receipt: a redirect to a short-lived link to its PDF", "public",
                                         auth="none", status=302, route="/r/{token}"),
    ("GET", "/api/v1/openapi.json"): Operation("This document", "meta", auth="none"),
    ("POST", "/api/v1/auth/secret/rotate"): Operation(
        "Rotate an API key's secret: the new one is shown once, the old one and refresh tokens from logins "
        "before stop working at once", "auth", body=merchants.RotateSecretIn, response=merchants.RotatedSecretOut),
    ("POST", "/api/v1/shops/{shop_id}/keys/shop_key/rotate"): Operation(
        "Rotate the shop key: the new one is shown once, the old one stops working at once", "shops",
        response=shops.ShopKeyOut),
    ("POST", "/api/v1/shops/{shop_id}/keys/edge_key/rotate"): Operation(
        "Rotate the edge key: the new one is shown once; the old one and its edge sessions stop working at once",
        "shops", response=shops.EdgeKeyOut),
    ("POST", "/api/v1/shops/{shop_id}/edge/pairing"): Operation(
        "Issue a one-time code (15 minutes) that pairs a till: `edge pair <code>` on the till", "edge",
        response=pairing.PairingCodeOut),
    ("POST", "/api/v1/edge/pair"): Operation(
        "Exchange a pairing code for the shop's new edge key (the till paired before stops); a used, expired or "
        "unknown code is 400 E_PAIRING_CODE_INVALID", "edge", auth="none", body=pairing.PairIn,
        response=pairing.PairOut),
    ("POST", "/api/v1/shops/{shop_id}/webhook/secret/rotate"): Operation(
        "Rotate the webhook signing secret: shown once; deliveries carry signatures with both secrets during the "
        "grace period (body optional, default 24 h)", "webhooks", body=shops.WebhookSecretRotateIn,
        response=shops.WebhookSecretOut),
}


def _path_parameters(path: str, op: Operation) -> list[dict[str, Any]]:
    params = []
    for name in re.findall(r"{(\w+)}", path):
        schema: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[A-Za-z0-9._:-]+$"}
        if name in _UUID_PARAMS:
            schema = {"type": "string", "format": "uuid", "pattern": _UUID4}
        if name in _PATTERNS:
            schema = {"type": "string", "pattern": _PATTERNS[name]}
        if name in op.path_enums:
            schema = {"type": "string", "enum": op.path_enums[name]}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return [{"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema["properties"].items()]


def _header_parameters(op: Operation) -> list[dict[str, Any]]:
    return [{"name": name, "in": "header", "required": False, "description": text, "schema": {"type": "string"}}
            for name, text in op.headers.items()]


def _responses(op: Operation, refs: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    error = {"description": "Error (DESIGN §4 body)",
             "content": {"application/json": {"schema": refs[(m.ErrorBody, "serialization")]}}}
    ok: dict[str, Any] = {"description": "Success"}
    if op.status == 302:
        ok = {"description": "Redirect", "headers": {"Location": {"required": True, "schema": {"type": "string"}}}}
    elif op.status == 204:
        pass
    elif op.files:
        ok["description"] += "." + _FILE_NOTE
        ok["content"] = {_ANY_FILE: {"schema": {"type": "string", "format": "binary"}}}
        if op.response is not None:
            ok["content"]["application/json"] = {"schema": refs[(op.response, "serialization")]}
        for media in op.files.values():
            ok["content"].setdefault(media, {"schema": {"type": "string"}})
    elif op.media == "text/html":
        ok["content"] = {"text/html": {"schema": {"type": "string"}}}
    elif op.response is not None:
        ok["content"] = {"application/json": {"schema": refs[(op.response, "serialization")]}}
    else:
        ok["content"] = {"application/json": {"schema": {"type": "object"}}}
    responses: dict[str, Any] = {str(op.status): ok, "default": error}
    if op.status == 201:
        replay = "Replay of an earlier identical request"
        if op.tag == "adapters":
            replay += ", or a delivery acknowledged without an order (a ping, another topic)"
        responses["200"] = {**ok, "description": replay}
    return responses


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [
        (m.ErrorBody, "serialization"), (m.WebhookEvent, "serialization")]
    for op in OPERATIONS.values():
        if op.body is not None:
            models.append((op.body, "validation"))
        if op.response is not None:
            models.append((op.response, "serialization"))
    refs, definitions = models_json_schema(list(dict.fromkeys(models)), ref_template="#/components/schemas/{model}")
    paths: dict[str, dict[str, Any]] = {}
    for (method, path), op in OPERATIONS.items():
        operation: dict[str, Any] = {
            "summary": op.summary, "tags": [op.tag],
            "operationId": f"{method.lower()}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}",
            "security": _SECURITY[op.auth],
            "parameters": _path_parameters(path, op) + (_query_parameters(op.query) if op.query else [])
            + _header_parameters(op),
            "responses": _responses(op, refs),
        }
        if op.body is not None:
            operation["requestBody"] = {"required": True, "content": {
                op.body_media: {"schema": refs[(op.body, "validation")]}}}
        paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Receipt Bridge API", "version": receipts.API_VERSION,
                 "description": "Orders to fiscal receipts and eReceipts. Errors: "
                                '{"status_code", "error", "code", "message"}; every response has a request-id header.'},
        "paths": paths,
        "webhooks": {"order": {"post": {
            "summary": "An order's events, signed per Standard Webhooks (webhook-id, webhook-timestamp, "
                       "webhook-signature), POSTed to the shop's webhook URL", "tags": ["webhooks"],
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": refs[(m.WebhookEvent, "serialization")]}}},
            "responses": {"200": {"description": "Any 2xx acknowledges the event; anything else is retried"}},
        }}},
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "edgeBearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (edge session)"},
                "shopKey": {"type": "apiKey", "in": "header", "name": "X-Shop-Key"},
            },
        },
    }
