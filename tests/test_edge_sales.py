"""Sales the till printed itself, uploaded through ``POST /api/v1/edge/sales`` (DESIGN §4.4, §5; issue 20 point 1):
a terminated order with ``source: "till"``, its eReceipt, its webhooks and its place in the daily report, once."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from chalicelib.aws.clients import client
from chalicelib.contracts import (
    FiscalJob,
    FiscalRecord,
    JobLine,
    JobPayment,
    PaymentType,
    TillSale,
)
from chalicelib.core import resource_names as names
from chalicelib.core.settings import settings
from tests.conftest import demo_order, run_dispatch
from tests.test_edge_results import fiscalize, open_session

SOLD_AT = 1_780_000_000  # 2026-05-28 20:26:40 UTC
DAY = datetime.fromtimestamp(SOLD_AT, UTC).date().isoformat()


def till_sale(shop: dict, order_id: str, number: str = "0000101", **changes) -> TillSale:
    """Two coffees (3.50) cash and a cookie (1.20, 9 %) card, 0.20 off the cookie: 8.00 as the till printed it."""
    receipt = FiscalJob(
        v=2, job_id=str(uuid.uuid5(uuid.NAMESPACE_URL, order_id)), shop_id=shop["shop_id"], order_id=order_id,
        order_internal_id=str(uuid.uuid4()), created_at=SOLD_AT, operator="demo-cashier",
        lines=[JobLine(name="Coffee", quantity=Decimal(2), unit_price=350, vat_rate=Decimal(20), amount=700),
               JobLine(name="Cookie", quantity=Decimal(1), unit_price=120, vat_rate=Decimal(9), discount=20, amount=100)],
        payments=[JobPayment(type=PaymentType.CASH, method_id="cash", amount=500, tendered=1000),
                  JobPayment(type=PaymentType.CARD, method_id="card", amount=300)],
        total=800,
    )
    sale = TillSale(receipt=receipt, fiscal=FiscalRecord(device="SIM-1", fiscal_number=number, printed_at=SOLD_AT),
                    sold_at=SOLD_AT)
    return sale.model_copy(update=changes)


def upload(api, session, sale: TillSale | bytes):
    raw = sale if isinstance(sale, bytes) else sale.model_dump_json().encode()
    return api.call("POST", "/api/v1/edge/sales", raw=raw, headers={"authorization": f"Bearer {session['token']}"})


def order_of(api, shop, order_id: str):
    return api.call("GET", f"/api/v1/shops/{shop['shop_id']}/orders/{order_id}", headers={"x-shop-key": shop["shop_key"]})


def webhooks_of(hooks, order_id: str) -> list[dict]:
    """The order's webhooks as the shop's receiver got them, once the orders stream has been handled."""
    run_dispatch()
    return [delivery.body for delivery in hooks.for_order(order_id)]


def test_a_till_sale_becomes_a_terminated_till_order_with_its_receipt_and_webhooks(api, shop, shop_hooks):
    session = open_session(api, shop)
    sale = till_sale(shop, "TILL-1")
    r = upload(api, session, sale)
    assert r.status_code == 200, r.body
    assert r.json["order_status"] == "terminated" and r.json["duplicate"] is False
    order = order_of(api, shop, "TILL-1").json
    assert order["status"] == "terminated" and order["source"] == "till"
    assert order["total"] == "8.00" and order["fiscal"]["fiscal_number"] == "0000101"
    assert order["receipt_id"] == r.json["receipt_id"] and order["public_link"]["url"].startswith("http://127.0.0.1:8000/r/")
    page = api.call("GET", "/r/" + order["public_link"]["url"].rsplit("/", 1)[-1])
    assert page.status_code == 200 and b"Cookie" in page.body and b"0000101" in page.body
    hooks = webhooks_of(shop_hooks, "TILL-1")
    assert [h["type"] for h in hooks] == ["validated", "terminated"]
    assert hooks[1]["price"] == "8.00" and hooks[1]["PDFinvoice"] == order["public_link"]["url"] + ".pdf"
    assert [(i["name"], i["price"], i["discount"]) for i in hooks[1]["items"]] == [("Coffee", "7.00", "0.00"),
                                                                                   ("Cookie", "1.00", "0.20")]


def test_a_web_order_says_it_came_from_the_web(api, shop):
    api.call("POST", f"/api/v1/shops/{shop['shop_id']}/orders", demo_order("WEB-1"), {"x-shop-key": shop["shop_key"]})
    assert order_of(api, shop, "WEB-1").json["source"] == "web"


def test_the_same_upload_again_records_nothing_twice(api, shop, shop_hooks):
    """The edge lost the ack and uploads again: one order, one receipt, the same webhook ids (deduplicated)."""
    session = open_session(api, shop)
    sale = till_sale(shop, "TILL-2")
    first, again = upload(api, session, sale), upload(api, session, sale)
    assert first.json["duplicate"] is False and again.status_code == 200 and again.json["duplicate"] is True
    assert again.json["receipt_id"] == first.json["receipt_id"]
    receipts = client("dynamodb").scan(TableName=settings().table(names.RECEIPTS_TABLE))["Items"]
    assert [r["receipt_id"]["S"] for r in receipts] == [first.json["receipt_id"]]
    assert [h["type"] for h in webhooks_of(shop_hooks, "TILL-2")] == ["validated", "terminated"]


def test_another_body_under_the_same_order_id_is_a_typed_409(api, shop):
    session = open_session(api, shop)
    assert upload(api, session, till_sale(shop, "TILL-3")).status_code == 200
    other = upload(api, session, till_sale(shop, "TILL-3", number="0000999"))
    assert other.status_code == 409 and other.json["code"] == "E_CONFLICT"
    assert order_of(api, shop, "TILL-3").json["fiscal"]["fiscal_number"] == "0000101", "the first sale stays"
    api.call("POST", f"/api/v1/shops/{shop['shop_id']}/orders", demo_order("WEB-2"), {"x-shop-key": shop["shop_key"]})
    clash = upload(api, session, till_sale(shop, "WEB-2"))
    assert clash.status_code == 409 and clash.json["code"] == "E_CONFLICT"
    assert order_of(api, shop, "WEB-2").json["source"] == "web"


def test_only_the_shops_own_edge_uploads_its_sales(api, shop, merchant):
    other_shop = api.call("POST", "/api/v1/shops", {"name": "Other shop"}, merchant["auth"]).json
    forged = upload(api, open_session(api, other_shop), till_sale(shop, "TILL-4"))
    assert forged.status_code == 403 and forged.json["code"] == "E_FORBIDDEN"
    no_token = api.call("POST", "/api/v1/edge/sales", raw=till_sale(shop, "TILL-4").model_dump_json().encode())
    assert no_token.status_code == 401
    assert order_of(api, shop, "TILL-4").status_code == 404


def test_hostile_bodies_are_typed_400s(api, shop):
    session = open_session(api, shop)
    body = json.loads(till_sale(shop, "TILL-5").model_dump_json())
    for broken in ({**body, "receipt": {**body["receipt"], "total": 801}},
                   {**body, "fiscal": {**body["fiscal"], "fiscal_number": " "}},
                   {**body, "receipt": {**body["receipt"], "is_refund": True}},
                   {**body, "extra": 1}, [], {"receipt": None}):
        r = upload(api, session, json.dumps(broken).encode())
        assert r.status_code == 400 and r.json["code"] == "E_FAILED_SCHEMA_VALIDATION", (broken, r.body)
    assert upload(api, session, b"\xff{").status_code == 400
    assert order_of(api, shop, "TILL-5").status_code == 404


def test_a_till_sale_counts_in_the_daily_report_and_can_be_refunded(api, shop, merchant):
    session = open_session(api, shop)
    upload(api, session, till_sale(shop, "TILL-6"))
    r = api.call("GET", f"/api/v1/shops/{shop['shop_id']}/reports/sales?date={DAY}&format=csv", headers=merchant["auth"])
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.body.decode())))
    assert any("TILL-6" in row and "Cookie" in row for row in rows), rows
    refund = demo_order("TILL-6-R", is_refund=True, parent_order_id="TILL-6",
                        items=[{"name": "Coffee", "quantity": "1", "unit_price": "3.50", "vat_rate": "20"}])
    created = api.call("POST", f"/api/v1/shops/{shop['shop_id']}/orders", refund, {"x-shop-key": shop["shop_key"]})
    assert created.status_code == 201, created.body
    assert order_of(api, shop, "TILL-6-R").json["parent"]["fiscal"]["fiscal_number"] == "0000101"


def test_a_web_order_fiscalized_keeps_working_beside_till_sales(api, shop):
    api.call("POST", f"/api/v1/shops/{shop['shop_id']}/orders", demo_order("WEB-3"), {"x-shop-key": shop["shop_key"]})
    fiscalize(api, shop, "WEB-3")
    assert upload(api, open_session(api, shop), till_sale(shop, "TILL-7")).status_code == 200
    assert {order_of(api, shop, o).json["status"] for o in ("WEB-3", "TILL-7")} == {"terminated"}
