"""Shopify `orders/create` and WooCommerce `order.created` webhooks, HMAC-checked, recorded as orders."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from tests.conftest import queue_messages

SHOPIFY_SECRET = "shpss_" + "a" * 32
WOO_SECRET = "woo-secret-of-the-merchant"


def sign(secret: str, raw: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()


def configure(api, shop, merchant, platform: str, secret: str, **overrides):
    body = {"secret": secret, "payment_method_id": "card", "delivery_method_id": "pickup", "user_id": "demo-cashier",
            "vat_rates": ["20", "9", "0"], **overrides}
    return api.call("PUT", f"/api/v1/shops/{shop['shop_id']}/adapters/{platform}", body, merchant["auth"])


@pytest.fixture
def adapters(api, shop, merchant):
    assert configure(api, shop, merchant, "shopify", SHOPIFY_SECRET).status_code == 200
    assert configure(api, shop, merchant, "woocommerce", WOO_SECRET).status_code == 200


def shopify_body(order_id: int = 820982911946154508) -> bytes:
    # JSON numbers (tax rates) exactly as Shopify sends them; read as decimals, never floats
    return json.dumps({
        "id": order_id, "name": "#9999", "created_at": "2026-01-10T11:00:00+01:00", "currency": "EUR",
        "taxes_included": True, "total_price": "16.40", "financial_status": "paid",
        "line_items": [
            {"id": 1, "title": "Coffee", "sku": "coffee", "quantity": 2, "price": "3.50",
             "tax_lines": [{"rate": 0.2, "price": "1.17", "title": "VAT"}]},
            {"id": 2, "title": "Mug \"Bridge\"", "sku": "MUG-1", "quantity": 3, "price": "2.40",
             "tax_lines": [{"rate": 0.2, "price": "1.20", "title": "VAT"}]},
        ],
        "shipping_lines": [{"title": "Standard", "price": "2.20", "tax_lines": [{"rate": 0.2, "price": "0.37"}]}],
        "customer": {"id": 5, "first_name": "Ana", "last_name": "Silva", "email": "ana@example.com"},
    }).encode()


def woo_body(order_id: int = 727) -> bytes:
    return json.dumps({
        "id": order_id, "number": str(order_id), "status": "processing", "currency": "EUR", "total": "37.60",
        "date_created_gmt": "2026-01-10T10:00:00", "prices_include_tax": False,
        "line_items": [
            {"id": 11, "name": "Tea", "product_id": 3, "sku": "tea", "quantity": 1, "price": 2.3333,
             "subtotal": "2.33", "total": "2.33", "total_tax": "0.47", "taxes": [{"id": 1, "total": "0.47"}]},
            {"id": 12, "name": "Book", "product_id": 4, "sku": "", "quantity": 3, "price": 9.1743,
             "total": "27.52", "total_tax": "2.48", "taxes": [{"id": 2, "total": "2.48"}]},
        ],
        "tax_lines": [{"id": 90, "rate_id": 1, "rate_percent": 20}, {"id": 91, "rate_id": 2, "rate_percent": 9}],
        "shipping_lines": [{"method_title": "Flat rate", "total": "4.00", "total_tax": "0.80"}],
        "billing": {"first_name": "Jo", "last_name": "", "email": "jo@example.com", "phone": "+359 2 000"},
    }).encode()


def deliver(api, shop, platform: str, raw: bytes, signature: str | None, topic: str | None = None):
    headers = {"x-shopify-topic": topic or "orders/create"} if platform == "shopify" else \
        {"x-wc-webhook-topic": topic or "order.created"}
    header = "x-shopify-hmac-sha256" if platform == "shopify" else "x-wc-webhook-signature"
    if signature is not None:
        headers[header] = signature
    return api.call("POST", f"/api/v1/shops/{shop['shop_id']}/adapters/{platform}/orders", raw=raw, headers=headers)


def test_shopify_order_becomes_an_order_once(api, shop, adapters):
    raw = shopify_body()
    r = deliver(api, shop, "shopify", raw, sign(SHOPIFY_SECRET, raw))
    assert r.status_code == 201, r.body
    order = r.json["order"]
    assert order["order_id"] == "shopify-820982911946154508" and order["total"] == "16.40"
    again = deliver(api, shop, "shopify", raw, sign(SHOPIFY_SECRET, raw))
    assert again.status_code == 200 and again.json["order"]["order_internal_id"] == order["order_internal_id"]
    [job] = [json.loads(m["Body"]) for m in queue_messages(shop["queue_url"])]
    assert [(l["name"], l["quantity"], l["unit_price"], l["vat_rate"]) for l in job["lines"]] == [
        ("Coffee", "2", 350, "20"), ("Mug \"Bridge\"", "3", 240, "20"), ("Shipping: Standard", "1", 220, "20")]


def test_woocommerce_order_maps_net_prices_and_tax_rates(api, shop, adapters):
    raw = woo_body()
    r = deliver(api, shop, "woocommerce", raw, sign(WOO_SECRET, raw))
    assert r.status_code == 201, r.body
    assert r.json["order"]["order_id"] == "woo-727"
    [job] = [json.loads(m["Body"]) for m in queue_messages(shop["queue_url"])]
    assert [(l["name"], l["quantity"], l["unit_price"], l["vat_rate"]) for l in job["lines"]] == [
        ("Tea", "1", 280, "20"), ("Book", "3", 1000, "9"), ("Shipping: Flat rate", "1", 480, "20")]
    assert r.json["order"]["total"] == "37.60"


def test_bad_signatures_are_401(api, shop, adapters):
    raw = shopify_body(1)
    cases = [("shopify", raw, None), ("shopify", raw, "bm90IGl0"), ("shopify", raw, sign(WOO_SECRET, raw)),
             ("shopify", raw + b" ", sign(SHOPIFY_SECRET, raw)), ("woocommerce", woo_body(2), sign(SHOPIFY_SECRET, woo_body(2)))]
    for platform, body, signature in cases:
        r = deliver(api, shop, platform, body, signature)
        assert r.status_code == 401 and r.json["code"] == "E_SIGNATURE_INVALID", (platform, signature)
    assert queue_messages(shop["queue_url"]) == []


def test_unconfigured_shop_ping_and_other_topics(api, shop, merchant):
    raw = shopify_body(3)
    assert deliver(api, shop, "shopify", raw, sign(SHOPIFY_SECRET, raw)).status_code == 401
    configure(api, shop, merchant, "shopify", SHOPIFY_SECRET)
    other = deliver(api, shop, "shopify", raw, sign(SHOPIFY_SECRET, raw), topic="orders/updated")
    assert other.status_code == 200 and other.json == {"order": None, "refunds": [], "ignored": "topic orders/updated"}
    ping = api.call("POST", f"/api/v1/shops/{shop['shop_id']}/adapters/woocommerce/orders", raw=b"webhook_id=42",
                    headers={"content-type": "application/x-www-form-urlencoded"})
    assert ping.status_code == 200 and ping.json["ignored"] == "ping"
    unknown = api.call("POST", "/api/v1/shops/00000000-0000-4000-8000-000000000000/adapters/shopify/orders", raw=raw,
                       headers={"x-shopify-hmac-sha256": sign(SHOPIFY_SECRET, raw)})
    assert unknown.status_code == 401
    assert queue_messages(shop["queue_url"]) == []


def test_hostile_bodies_get_typed_errors(api, shop, adapters):
    bodies = [b"{", b"[]", b'{"id": 1}', b'{"id": 1, "line_items": []}', b'{"id": NaN, "line_items": []}',
              json.dumps({"id": 4, "line_items": [{"title": "x", "quantity": 1, "price": "-1"}]}).encode(),
              json.dumps({"id": 5, "line_items": [{"title": "x", "quantity": 1, "price": "1e400"}]}).encode()]
    for raw in bodies:
        r = deliver(api, shop, "shopify", raw, sign(SHOPIFY_SECRET, raw))
        assert r.status_code == 400 and r.json["code"] == "E_FAILED_SCHEMA_VALIDATION", (raw, r.body)


def test_config_is_owner_only_and_checked(api, shop, merchant):
    r = configure(api, shop, merchant, "shopify", SHOPIFY_SECRET, payment_method_id="paypal")
    assert r.status_code == 422 and r.json["code"] == "E_UNKNOWN_REFERENCE"
    assert configure(api, shop, merchant, "shopify", "short").status_code == 400
    assert configure(api, shop, merchant, "magento", SHOPIFY_SECRET).status_code == 400
    ok = configure(api, shop, merchant, "woocommerce", WOO_SECRET)
    assert ok.status_code == 200 and "secret" not in ok.json
    assert ok.json["endpoint"].endswith(f"/api/v1/shops/{shop['shop_id']}/adapters/woocommerce/orders")
    assert api.call("PUT", f"/api/v1/shops/{shop['shop_id']}/adapters/shopify", {"secret": SHOPIFY_SECRET}).status_code == 401
