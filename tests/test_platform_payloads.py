"""Shopify and WooCommerce as they really send orders (issue 27 points 1-8): their published sample payloads
(tests/fixtures/platforms/, each naming its source and what was changed) delivered signed through the adapter
route, the recorded order read back through the API (GET, the job on the shop's queue, the eReceipt after the edge
printed it) and compared with the platform's own total and tax to the cent."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from devstack.stack import DEMO_CATALOG
from tests.conftest import queue_messages
from tests.test_adapters import SHOPIFY_SECRET, WOO_SECRET, sign
from tests.test_edge_results import fiscalize

FIXTURES = Path(__file__).parent / "fixtures" / "platforms"
HEADERS = {"shopify": ("x-shopify-hmac-sha256", "x-shopify-topic", SHOPIFY_SECRET),
           "woocommerce": ("x-wc-webhook-signature", "x-wc-webhook-topic", WOO_SECRET)}


def fixture(name: str) -> dict[str, Any]:
    """The fixture's payload (its source and changes stay in the file)."""
    return json.loads((FIXTURES / name).read_text())["payload"]


def platform_shop(api, merchant, currency: str, vat_rates: list[str]) -> dict[str, Any]:
    """A shop in ``currency`` with the demo catalogue, both platforms configured with the device's ``vat_rates``."""
    created = api.call("POST", "/api/v1/shops", {"name": "Web shop", "currency": currency}, merchant["auth"])
    assert created.status_code == 201, created.body
    shop = created.json
    for kind, entry_id, entry in DEMO_CATALOG:
        assert api.call("PUT", f"/api/v1/shops/{shop['shop_id']}/catalog/{kind}/{entry_id}", entry,
                        merchant["auth"]).status_code == 200
    for platform, (_, _, secret) in HEADERS.items():
        body = {"secret": secret, "payment_method_id": "card", "delivery_method_id": "pickup",
                "user_id": "demo-cashier", "vat_rates": vat_rates}
        configured = api.call("PUT", f"/api/v1/shops/{shop['shop_id']}/adapters/{platform}", body, merchant["auth"])
        assert configured.status_code == 200 and configured.json["vat_rates"] == vat_rates, configured.body
    return shop


def deliver(api, shop, platform: str, payload: dict[str, Any], topic: str):
    """The payload as the platform posts it: JSON numbers stay numbers (Python's float repr round-trips the
    published decimal text), signed with the shop's secret."""
    raw = json.dumps(payload).encode()
    signature_header, topic_header, secret = HEADERS[platform]
    return api.call("POST", f"/api/v1/shops/{shop['shop_id']}/adapters/{platform}/orders", raw=raw,
                    headers={signature_header: sign(secret, raw), topic_header: topic})


def get(api, shop, order_id: str) -> Any:
    return api.call("GET", f"/api/v1/shops/{shop['shop_id']}/orders/{order_id}",
                    headers={"x-shop-key": shop["shop_key"]})


def jobs(shop) -> dict[str, dict[str, Any]]:
    return {job["order_id"]: job for job in (json.loads(m["Body"]) for m in queue_messages(shop["queue_url"]))}


def printed_totals(api, shop, order_id: str) -> tuple[str, str]:
    """(total, VAT) of the order's eReceipt once the edge printed it: what the bridge recorded."""
    fiscalize(api, shop, order_id)
    token = get(api, shop, order_id).json["public_link"]["url"].rsplit("/", 1)[-1]
    data = api.call("GET", f"/r/{token}.json").json["schema"]["ekabs_v0"]["data"]
    vat = sum((Decimal(row["vat"]) for row in data["vat_amounts"]), Decimal(0))
    return data["full_amount_incl_vat"], str(vat.quantize(Decimal("0.01")))


def refused(api, shop, response, status: int, code: str, order_id: str) -> None:
    assert response.status_code == status and response.json["code"] == code, response.body
    assert get(api, shop, order_id).json["code"] == "E_ORDER_NOT_FOUND"
    assert queue_messages(shop["queue_url"]) == []


def test_woocommerce_blank_and_hostile_values(api, merchant):
    """An empty tax total (WooCommerce writes "" for a tax it did not compute) is no tax; a refund list or an
    amount of the wrong shape is a 400 with nothing recorded."""
    shop = platform_shop(api, merchant, "USD", ["0"])
    payload = fixture("woo_order_723_refunds.json")
    blank = {**payload, "id": 900, "line_items": [{**payload["line_items"][0], "taxes": [{"id": 75, "total": ""}]},
                                                  *payload["line_items"][1:]]}
    assert deliver(api, shop, "woocommerce", blank, "order.created").status_code == 201
    queue_messages(shop["queue_url"])
    for hostile in ({**payload, "refunds": [{"id": 1, "total": "abc"}]}, {**payload, "refunds": "all"},
                    {**payload, "total": "1e400"}, {**payload, "fee_lines": [{"name": "x", "total": None}]},
                    {**payload, "id": 10**30}):
        r = deliver(api, shop, "woocommerce", hostile, "order.updated")
        assert r.status_code == 400 and r.json["code"] == "E_FAILED_SCHEMA_VALIDATION", r.body
    assert queue_messages(shop["queue_url"]) == []


SALES = [
    # fixture, platform, order id, shop currency, device rates, platform total, platform tax
    ("shopify_orders_create_test_notification.json", "shopify", "shopify-820982911946154508", "USD", ["0"],
     "403.00", "0.00"),
    ("shopify_order_1073459976_eur_tax.json", "shopify", "shopify-1073459976", "EUR", ["6"], "238.47", "13.50"),
    ("shopify_order_1073459981_discount.json", "shopify", "shopify-1073459981", "USD", ["0"], "181.09", "0.00"),
    ("woo_order_727.json", "woocommerce", "woo-727", "USD", ["7.5", "0"], "29.35", "1.35"),
    ("woo_order_728_coupon_fee.json", "woocommerce", "woo-728", "USD", ["7.5", "0"], "30.86", "1.46"),
    ("woo_order_723_refunds.json", "woocommerce", "woo-723", "USD", ["0"], "39.00", "0.00"),
]


@pytest.mark.parametrize("name, platform, order_id, currency, rates, total, tax", SALES)
def test_a_published_sale_is_recorded_at_the_platforms_total_and_tax(api, merchant, name, platform, order_id,
                                                                    currency, rates, total, tax):
    payload = fixture(name)
    assert payload.get("total_price", payload.get("total")) == total
    assert payload["total_tax"] == tax
    shop = platform_shop(api, merchant, currency, rates)
    topic = "orders/create" if platform == "shopify" else "order.created"
    r = deliver(api, shop, platform, payload, topic)
    assert r.status_code == 201, r.body
    recorded = get(api, shop, order_id).json
    assert (recorded["total"], recorded["currency"], recorded["is_refund"]) == (total, currency, False)
    assert printed_totals(api, shop, order_id) == (total, tax)
    again = deliver(api, shop, platform, payload, topic)
    assert again.status_code == 200 and again.json["order"]["order_internal_id"] == recorded["order_internal_id"]


def test_shopify_discount_allocations_and_shipping_map_onto_the_lines(api, merchant):
    """The test notification: two iPods at 199.00, 5.00 off the second (its discount_allocations, which its
    total_discount repeats: taken once), 10.00 shipping; 403.00, not the 408.00 of dropping the discount."""
    shop = platform_shop(api, merchant, "USD", ["20", "0"])
    assert deliver(api, shop, "shopify", fixture("shopify_orders_create_test_notification.json"),
                   "orders/create").status_code == 201
    job = jobs(shop)["shopify-820982911946154508"]
    assert [(line["name"], line["unit_price"], line.get("discount", 0), line["amount"], line["vat_rate"])
            for line in job["lines"]] == [("IPod Nano - 8GB", 19900, 0, 19900, "0"),
                                          ("IPod Nano - 8GB", 19900, 500, 19400, "0"),
                                          ("Shipping: Generic Shipping", 1000, 0, 1000, "0")]
    assert job["total"] == 40300, "untaxed lines stay at 0 %: no default rate is added on top (489.60 before)"


def test_a_catalogue_sku_never_replaces_the_price_paid(api, merchant):
    shop = platform_shop(api, merchant, "USD", ["0"])
    item = {"name": "iPod from the catalogue", "price": "150.00", "vat_rate": "20"}
    assert api.call("PUT", f"/api/v1/shops/{shop['shop_id']}/catalog/items/IPOD2008PINK", item,
                    merchant["auth"]).status_code == 200
    assert deliver(api, shop, "shopify", fixture("shopify_orders_create_test_notification.json"),
                   "orders/create").status_code == 201
    job = jobs(shop)["shopify-820982911946154508"]
    assert [line["unit_price"] for line in job["lines"][:2]] == [19900, 19900]
    assert get(api, shop, "shopify-820982911946154508").json["total"] == "403.00"


def test_a_line_with_several_taxes_is_refused_naming_it(api, merchant):
    """The REST sample whose coat carries 6 % and 2.5 %: never one invented 8.5 % rate."""
    shop = platform_shop(api, merchant, "USD", ["6", "2.5", "8.5", "0"])
    r = deliver(api, shop, "shopify", fixture("shopify_order_1073459963_two_taxes.json"), "orders/create")
    refused(api, shop, r, 422, "E_MULTIPLE_TAX_LINES", "shopify-1073459963")
    assert "'Red Leather Coat'" in r.json["message"] and "6%" in r.json["message"] and "2.5%" in r.json["message"]


def test_a_platform_tax_that_is_not_its_rate_is_refused(api, merchant):
    """The REST Order sample 450789469 charges 3.98 "6 %" tax on lines of 195.66: 6 % of them is 11.74, so its
    598.94 cannot be printed with Shopify's tax amounts; recomputing them (632.82 before) would invent tax."""
    shop = platform_shop(api, merchant, "USD", ["6"])
    r = deliver(api, shop, "shopify", fixture("shopify_order_450789469.json"), "orders/create")
    refused(api, shop, r, 422, "E_VAT_INCONSISTENT", "shopify-450789469")
    assert "VAT 3.98 is not 6% contained in 199.64" in r.json["message"]


@pytest.mark.parametrize("name, platform, rates, rate", [
    ("shopify_order_1073459976_eur_tax.json", "shopify", ["20", "9", "0"], "6%"),
    ("woo_order_727.json", "woocommerce", ["20", "0"], "0.45 on 6.00"),
])
def test_a_rate_the_device_cannot_print_is_refused_at_intake(api, merchant, name, platform, rates, rate):
    payload = fixture(name)
    shop = platform_shop(api, merchant, payload["currency"], rates)
    r = deliver(api, shop, platform, payload, "orders/create" if platform == "shopify" else "order.created")
    refused(api, shop, r, 422, "E_VAT_RATE_UNSUPPORTED", f"{'shopify' if platform == 'shopify' else 'woo'}-{payload['id']}")
    assert rate in r.json["message"]


def test_another_currency_is_refused_never_converted(api, merchant):
    shop = platform_shop(api, merchant, "EUR", ["0"])
    r = deliver(api, shop, "shopify", fixture("shopify_orders_create_test_notification.json"), "orders/create")
    refused(api, shop, r, 422, "E_CURRENCY_MISMATCH", "shopify-820982911946154508")
    r = deliver(api, shop, "woocommerce", fixture("woo_order_723_refunds.json"), "order.created")
    refused(api, shop, r, 422, "E_CURRENCY_MISMATCH", "woo-723")


def test_woocommerce_coupons_fees_and_shipping_are_lines(api, merchant):
    """The coupon is the line's subtotal less its total (0.64 with its tax), the fee a line of its own, shipping a
    line at its own rate; a negative fee is a discount off the whole order."""
    shop = platform_shop(api, merchant, "USD", ["7.5", "0"])
    payload = fixture("woo_order_728_coupon_fee.json")
    assert deliver(api, shop, "woocommerce", payload, "order.created").status_code == 201
    job = jobs(shop)["woo-728"]
    assert [(line["name"], line["quantity"], line["unit_price"], line.get("discount", 0), line["vat_rate"])
            for line in job["lines"]] == [
        ("Woo Single #1 x2", "1", 645, 64, "7.5"), ("Ship Your Idea \u2013 Color: Black, Size: M Test", "1", 1290, 0, "7.5"),
        ("Shipping: Flat Rate", "1", 1000, 0, "0"), ("Fee: Gift wrap", "1", 215, 0, "7.5")]
    assert job["total"] == 3086

    loyalty = {**payload, "id": 729, "total": "29.86",
               "fee_lines": [*payload["fee_lines"], {"id": 322, "name": "Loyalty", "total": "-1.00", "total_tax": "0.00",
                                                     "taxes": []}]}
    assert deliver(api, shop, "woocommerce", loyalty, "order.created").status_code == 201
    job = jobs(shop)["woo-729"]
    assert job["total"] == 2986 and sum(line.get("discount", 0) for line in job["lines"]) == 64 + 100
    wrong = {**payload, "id": 730, "total": "30.87"}
    r = deliver(api, shop, "woocommerce", wrong, "order.created")
    refused(api, shop, r, 422, "E_PLATFORM_TOTAL_MISMATCH", "woo-730")
    assert "30.86" in r.json["message"] and "30.87" in r.json["message"]


def _shopify_refund_parent(api, shop) -> None:
    """The sale the REST Refund samples refund (Order 450789469). Its published tax is refused (see
    test_a_platform_tax_that_is_not_its_rate_is_refused), so it is recorded through the order API at the
    sample's 598.94 (three iPods at 199.00 less 3.34, 3.33 and 3.33 of TENOFF, plus their 3.98 tax each)."""
    items = [{"name": "IPod Nano - 8gb", "quantity": "1", "unit_price": "202.98", "vat_rate": "6", "discount": d}
             for d in ("3.34", "3.33", "3.33")]
    body = {"order_id": "shopify-450789469", "payment_method_id": "card", "delivery_method_id": "pickup",
            "user_id": "demo-cashier", "items": items}
    r = api.call("POST", f"/api/v1/shops/{shop['shop_id']}/orders", body, {"x-shop-key": shop["shop_key"]})
    assert r.status_code == 201 and r.json["total"] == "598.94", r.body


# refund fixture, refund order id, money Shopify returned, its tax as the refund lines state it, the bridge's VAT
SHOPIFY_REFUNDS = [
    ("shopify_refund_929361471_shipping.json", "shopify-450789469-r929361471", "5.00", "0.00", "0.00"),
    # the sample returns 209.00 for two lines of 199.64/199.65: spread over them, VAT 6 % of 209.00
    ("shopify_refund_509562969_partial.json", "shopify-450789469-r509562969", "209.00", "7.96", "11.83"),
    # the sample names a line of 0.00 and returns 41.94: spread over the sale's three lines
    ("shopify_refund_929361472_no_lines.json", "shopify-450789469-r929361472", "41.94", "0.00", "2.37"),
]


def test_shopify_refunds_become_refund_orders_naming_the_sale_once_each(api, merchant):
    shop = platform_shop(api, merchant, "USD", ["6", "0"])
    _shopify_refund_parent(api, shop)
    shipping = fixture("shopify_refund_929361471_shipping.json")
    early = deliver(api, shop, "shopify", shipping, "refunds/create")
    assert early.status_code == 409 and early.json["code"] == "E_PARENT_NOT_FISCALIZED"
    fiscalize(api, shop, "shopify-450789469", "0000777")
    queue_messages(shop["queue_url"])
    for name, order_id, paid, _, vat in SHOPIFY_REFUNDS:
        payload = fixture(name)
        assert sum(Decimal(t["amount"]) for t in payload["transactions"] if t["kind"] == "refund") == Decimal(paid)
        r = deliver(api, shop, "shopify", payload, "refunds/create")
        assert r.status_code == 201, r.body
        [refund] = r.json["refunds"]
        assert (refund["order_id"], refund["total"], refund["is_refund"]) == (order_id, paid, True)
        assert refund["parent"]["order_id"] == "shopify-450789469"
        [job] = jobs(shop).values()
        assert job["original"]["fiscal"]["fiscal_number"] == "0000777" and job["total"] == int(Decimal(paid) * 100)
        again = deliver(api, shop, "shopify", payload, "refunds/create")
        assert again.status_code == 200 and again.json["refunds"][0]["order_internal_id"] == refund["order_internal_id"]
        assert queue_messages(shop["queue_url"]) == [], "the same refund delivered twice is one refund order"
        assert printed_totals(api, shop, order_id) == (paid, vat)
    assert get(api, shop, "shopify-450789469").json["refunded"] == "255.94"


def test_woocommerce_refunds_listed_by_order_updated_become_refund_orders(api, merchant):
    """Order 723 lists refunds 726 (10.00) and 724 (9.00); WooCommerce sends no refund webhook, so each becomes a
    refund order when an order.updated lists it, spread over the sale's lines (all at 0 % here)."""
    shop = platform_shop(api, merchant, "USD", ["0"])
    payload = fixture("woo_order_723_refunds.json")
    assert deliver(api, shop, "woocommerce", {**payload, "refunds": []}, "order.updated").json["ignored"] == \
        "no refund to record"
    assert deliver(api, shop, "woocommerce", payload, "order.created").status_code == 201
    fiscalize(api, shop, "woo-723", "0000723")
    queue_messages(shop["queue_url"])
    r = deliver(api, shop, "woocommerce", payload, "order.updated")
    assert r.status_code == 201, r.body
    assert [(o["order_id"], o["total"], o["parent"]["order_id"]) for o in r.json["refunds"]] == [
        ("woo-723-r726", "10.00", "woo-723"), ("woo-723-r724", "9.00", "woo-723")]
    refund_jobs = jobs(shop)
    assert sorted(refund_jobs) == ["woo-723-r724", "woo-723-r726"]
    assert [line["amount"] for line in refund_jobs["woo-723-r726"]["lines"]] == [231, 513, 256], \
        "10.00 over 9.00, 20.00 and 10.00: 230, 512, 256 rounded down, the 2 cents left to the largest remainders"
    again = deliver(api, shop, "woocommerce", payload, "order.updated")
    assert again.status_code == 200 and queue_messages(shop["queue_url"]) == []
    assert get(api, shop, "woo-723").json["refunded"] == "19.00"
    assert printed_totals(api, shop, "woo-723-r726") == ("10.00", "0.00")
    assert printed_totals(api, shop, "woo-723-r724") == ("9.00", "0.00")


def test_refund_deliveries_that_cannot_be_recorded_get_typed_errors(api, merchant):
    shop = platform_shop(api, merchant, "USD", ["6", "0"])
    unknown = deliver(api, shop, "shopify", fixture("shopify_refund_929361472_no_lines.json"), "refunds/create")
    assert unknown.status_code == 422 and unknown.json["code"] == "E_UNKNOWN_REFERENCE", unknown.body
    no_money = {**fixture("shopify_refund_929361471_shipping.json"), "transactions": []}
    assert deliver(api, shop, "shopify", no_money, "refunds/create").json["ignored"] == "no refund to record"
    euros = fixture("shopify_refund_929361471_shipping.json")
    euros["transactions"][0]["currency"] = "EUR"
    assert deliver(api, shop, "shopify", euros, "refunds/create").json["code"] == "E_CURRENCY_MISMATCH"
    for hostile in ({"id": 1}, {"id": 1, "order_id": 2, "transactions": [{"kind": "refund", "amount": "-5"}]},
                    {"id": 1, "order_id": 2, "refund_line_items": "x"}):
        r = deliver(api, shop, "shopify", hostile, "refunds/create")
        assert r.status_code == 400 and r.json["code"] == "E_FAILED_SCHEMA_VALIDATION", (hostile, r.body)
    assert queue_messages(shop["queue_url"]) == []


def test_a_lines_given_vat_is_recorded_not_recomputed(api, shop):
    """What the adapters rely on, through the order API: two lines of 1.05 at 20 % contain 0.175 each, which a
    platform rounds per line (0.18 + 0.18 = 0.36) where the bridge would round the group (2.10 contains 0.35): the
    given amounts are recorded. An amount further than a minor unit from the rate's, or VAT at 0 %, is refused."""
    def order(order_id: str, *vats: str, rate: str = "20") -> Any:
        items = [{"name": f"Card {i}", "quantity": "1", "unit_price": "1.05", "vat_rate": rate, "vat": vat}
                 for i, vat in enumerate(vats)]
        body = {"order_id": order_id, "payment_method_id": "card", "delivery_method_id": "pickup",
                "user_id": "demo-cashier", "items": items}
        return api.call("POST", f"/api/v1/shops/{shop['shop_id']}/orders", body, {"x-shop-key": shop["shop_key"]})

    assert order("V-1", "0.18", "0.18").status_code == 201
    assert printed_totals(api, shop, "V-1") == ("2.10", "0.36")
    for order_id, vats, rate in (("V-2", ("0.18", "0.16"), "20"), ("V-3", ("0.19", "0.18"), "20"),
                                 ("V-4", ("0.01", "0.00"), "0")):
        r = order(order_id, *vats, rate=rate)
        assert r.status_code == 422 and r.json["code"] == "E_VAT_INCONSISTENT", r.body
        assert get(api, shop, order_id).json["code"] == "E_ORDER_NOT_FOUND"
