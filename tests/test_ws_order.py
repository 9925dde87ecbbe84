"""`POST /ws/order`: the seed's parameter names as form fields or query, onto the same intake."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from chalicelib.contracts import FiscalJob
from tests.conftest import queue_messages
from tests.test_edge_results import fiscalize

FORM = {"content-type": "application/x-www-form-urlencoded"}


def params(shop, order_id: str, **overrides) -> dict[str, str]:
    base = {"ID_SHOP": shop["shop_id"], "KEYPARAM": shop["shop_key"], "ID_PAYMENTMETHOD": "card",
            "ID_DELIVERYMETHOD": "pickup", "ID_USER": "demo-cashier", "order_id": order_id,
            "items": json.dumps([{"item_id": "coffee", "quantity": 2},
                                 {"name": "Cookie", "quantity": "1", "unit_price": 1.20, "vat_rate": "9"}])}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def form_post(api, fields: dict[str, str], query: str = ""):
    return api.call("POST", f"/ws/order{query}", raw=urlencode(fields).encode(), headers=FORM)


def test_form_post_records_the_order_once(api, shop):
    first = form_post(api, params(shop, "WS-1", date="1767225600", CLIENT_NAME="Ana", CLIENT_EMAIL="ana@example.com"))
    assert first.status_code == 201, first.body
    assert first.json["total"] == "8.20" and first.json["status"] == "validated" and first.json["order_id"] == "WS-1"
    again = form_post(api, params(shop, "WS-1", date="1767225600", CLIENT_NAME="Ana", CLIENT_EMAIL="ana@example.com"))
    assert again.status_code == 200 and again.json["order_internal_id"] == first.json["order_internal_id"]
    different = form_post(api, params(shop, "WS-1", ID_PAYMENTMETHOD="cash"))
    assert different.status_code == 409 and different.json["code"] == "E_CONFLICT"
    assert len(queue_messages(shop["queue_url"])) == 1


def test_query_string_works_and_matches_the_json_route(api, shop):
    r = api.call("POST", "/ws/order?" + urlencode(params(shop, "WS-2", ID_CLIENT=None)), headers={})
    assert r.status_code == 201, r.body
    same = api.call("POST", f"/api/v1/shops/{shop['shop_id']}/orders", {
        "order_id": "WS-2", "payment_method_id": "card", "delivery_method_id": "pickup", "user_id": "demo-cashier",
        "items": [{"item_id": "coffee", "quantity": "2"},
                  {"name": "Cookie", "quantity": "1", "unit_price": "1.20", "vat_rate": "9"}]},
        {"x-shop-key": shop["shop_key"]})
    assert same.status_code == 200, "the seed's names and the JSON body are the same order"


def test_refund_through_the_seed_names(api, shop):
    assert form_post(api, params(shop, "WS-3")).status_code == 201
    fiscalize(api, shop, "WS-3")
    refund = params(shop, "WS-3R", is_refund="true", parent_order_id="WS-3",
                    items=json.dumps([{"name": "Back", "quantity": "1", "unit_price": "9.00", "vat_rate": "20"}]))
    r = form_post(api, refund)
    assert r.status_code == 422 and r.json["code"] == "E_REFUND_EXCEEDS_PARENT"


def test_split_tender_discount_tax_id_and_printer_through_the_seed_names(api, shop):
    fields = params(shop, "WS-6", ID_PAYMENTMETHOD=None, discount="0.20", CLIENT_NAME="Ana", CLIENT_TAX_ID="BG123456789",
                    printer="till-2", payments=json.dumps([{"payment_method_id": "cash", "amount": "5.00",
                                                            "tendered": "10"},
                                                           {"payment_method_id": "card", "amount": 3.00}]))
    r = form_post(api, fields)
    assert r.status_code == 201 and r.json["total"] == "8.00", r.body
    [job] = [FiscalJob.model_validate_json(m["Body"]) for m in queue_messages(shop["queue_url"])]
    assert [(p.method_id, p.amount, p.tendered) for p in job.tender] == [("cash", 500, 1000), ("card", 300, None)]
    assert (job.v, job.buyer_tax_id, job.printer, sum(line.discount for line in job.lines)) == (2, "BG123456789", "till-2", 20)
    both = form_post(api, {**fields, "order_id": "WS-7", "ID_PAYMENTMETHOD": "card"})
    assert both.status_code == 400 and both.json["code"] == "E_FAILED_SCHEMA_VALIDATION"
    short = form_post(api, {**fields, "order_id": "WS-8", "discount": "0.30"})
    assert short.status_code == 422 and short.json["code"] == "E_PAYMENT_MISMATCH"
    broken = form_post(api, {**fields, "order_id": "WS-9", "payments": "[{"})
    assert broken.status_code == 400 and "payments" in broken.json["message"]


def test_hostile_parameters_get_typed_errors(api, shop):
    cases = [
        (params(shop, "WS-4", KEYPARAM="shk_wrong"), 401, "E_AUTHENTICATION"),
        (params(shop, "WS-4", ID_SHOP="not-a-uuid"), 400, "E_FAILED_SCHEMA_VALIDATION"),
        (params(shop, "WS-4", ID_USER="ghost"), 422, "E_UNKNOWN_REFERENCE"),
        (params(shop, "WS-4", items="[{"), 400, "E_FAILED_SCHEMA_VALIDATION"),
        (params(shop, "WS-4", items='{"a": 1}'), 400, "E_FAILED_SCHEMA_VALIDATION"),
        (params(shop, "WS-4", items='[{"item_id": "coffee", "quantity": NaN}]'), 400, "E_FAILED_SCHEMA_VALIDATION"),
        (params(shop, "WS-4", date="yesterday"), 400, "E_FAILED_SCHEMA_VALIDATION"),
        (params(shop, "WS-4", date="99999999999"), 400, "E_FAILED_SCHEMA_VALIDATION"),
        (params(shop, "WS-4", ID_CLIENT="c1", CLIENT_NAME="Both"), 400, "E_FAILED_SCHEMA_VALIDATION"),
        (params(shop, "WS-4", CLIENT_EMAIL="no-name@example.com"), 400, "E_FAILED_SCHEMA_VALIDATION"),
        (params(shop, "WS-4", EXTRA="x"), 400, "E_FAILED_SCHEMA_VALIDATION"),
        (params(shop, None), 400, "E_FAILED_SCHEMA_VALIDATION"),
        (params(shop, "WS-4", is_refund="maybe"), 400, "E_FAILED_SCHEMA_VALIDATION"),
        ({}, 400, "E_FAILED_SCHEMA_VALIDATION"),
    ]
    for fields, status, code in cases:
        r = form_post(api, fields)
        assert (r.status_code, r.json["code"]) == (status, code), (fields, r.body)
    repeated = form_post(api, params(shop, "WS-4"), query="?order_id=WS-5")
    assert repeated.status_code == 400 and "more than once" in repeated.json["message"]
    as_json = api.call("POST", "/ws/order", raw=json.dumps(params(shop, "WS-4")).encode())
    assert as_json.status_code == 415 and as_json.json["code"] == "E_UNSUPPORTED_MEDIA_TYPE"
    binary = api.call("POST", "/ws/order", raw=b"\xff\xfe=\x00", headers=FORM)
    assert binary.status_code == 400
    flood = api.call("POST", "/ws/order", raw=("&".join(f"f{i}=1" for i in range(500))).encode(), headers=FORM)
    assert flood.status_code == 400


def test_the_local_access_log_never_holds_a_shop_key_from_the_query_string(tmp_path):
    """/ws/order takes KEYPARAM in the query (seed 003): the local API's access log keeps the name, not the key."""
    import os
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request
    from pathlib import Path

    from devstack.harness import free_port

    root = Path(__file__).resolve().parents[1]
    port = free_port()
    env = {**os.environ, "AWS_DEFAULT_REGION": "eu-central-1", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing"}
    server = subprocess.Popen([sys.executable, "-m", "devstack.chalice_local", "--project-dir", str(root), "local",
                               "--stage", "local", "--host", "127.0.0.1", "--port", str(port), "--no-autoreload"],
                              cwd=root, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}/ws/order?ID_SHOP=not-a-shop&KEYPARAM=s3cret-shop-key&order_id=A-1"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=5)
            except urllib.error.HTTPError as answer:
                assert 400 <= answer.code < 500
                break
            except OSError:
                assert time.monotonic() < deadline, "chalice local did not start"
                time.sleep(0.3)
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    log = out + err
    assert "KEYPARAM=***" in log, log[-2000:]
    assert "s3cret-shop-key" not in log
