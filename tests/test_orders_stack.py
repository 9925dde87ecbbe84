"""Orders and webhooks on the real local stack: concurrent duplicates, concurrent refunds, scheduled retries."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import httpx
import pytest

from devstack.demo import demo_order_body, wait_for_status
from devstack.harness import RunningStack, running_stack
from edge.emulators.simulated.register import SimulatedRegister

THREADS = 12


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[RunningStack]:
    env = {"BRIDGE_WEBHOOK_RETRY_BASE_SECONDS": "1", "BRIDGE_PUMP_SCHEDULE_SECONDS": "1"}
    with running_stack(tmp_path_factory.mktemp("orders-stack"), extra_env=env) as running:
        yield running


def orders_url(stack) -> str:
    return f"{stack.demo['api_base']}/api/v1/shops/{stack.demo['shop']['shop_id']}/orders"


def shop_key(stack) -> dict[str, str]:
    return {"x-shop-key": stack.demo["shop"]["shop_key"]}


def at_once(call, count: int = THREADS) -> list[httpx.Response]:
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: call(), range(count)))


def terminated(stack, order_id: str) -> dict:
    with httpx.Client(base_url=stack.demo["api_base"], timeout=30) as http:
        return wait_for_status(http, f"/api/v1/shops/{stack.demo['shop']['shop_id']}/orders/{order_id}",
                               shop_key(stack), "terminated", timeout=60)


def test_duplicate_posts_at_once_create_one_order(stack, receiver):
    register = SimulatedRegister(stack.var_dir / "edge" / "simulated_register.sqlite")
    before = len(register.receipts())
    json_posts = at_once(lambda: httpx.post(orders_url(stack), json=demo_order_body("DUP-1"), headers=shop_key(stack),
                                            timeout=30))
    form = {"ID_SHOP": stack.demo["shop"]["shop_id"], "KEYPARAM": stack.demo["shop"]["shop_key"],
            "ID_PAYMENTMETHOD": "cash", "ID_DELIVERYMETHOD": "pickup", "ID_USER": "demo-cashier", "order_id": "DUP-2",
            "items": '[{"item_id": "tea", "quantity": "2"}]'}
    ws_posts = at_once(lambda: httpx.post(f"{stack.demo['api_base']}/ws/order", content=urlencode(form),
                                          headers={"content-type": "application/x-www-form-urlencoded"}, timeout=30))
    for responses in (json_posts, ws_posts):
        assert sorted(r.status_code for r in responses) == [200] * (THREADS - 1) + [201], [r.text for r in responses]
        assert len({r.json()["order_internal_id"] for r in responses}) == 1
    terminated(stack, "DUP-1")
    terminated(stack, "DUP-2")
    assert len(register.receipts()) == before + 2, "one fiscal receipt per order"
    for order_id in ("DUP-1", "DUP-2"):
        assert [d.body["type"] for d in receiver.wait_for(order_id, 2, timeout=30)] == ["validated", "terminated"]


def test_concurrent_refunds_never_exceed_the_parent(stack):
    assert httpx.post(orders_url(stack), json=demo_order_body("PAR-1"), headers=shop_key(stack), timeout=30).status_code == 201
    terminated(stack, "PAR-1")  # a refund names its original's fiscal receipt: the sale is printed first
    counter = iter(range(THREADS))

    def refund() -> httpx.Response:
        body = {**demo_order_body(f"PAR-1-R{next(counter)}"), "is_refund": True, "parent_order_id": "PAR-1",
                "items": [{"name": "Refund", "quantity": "1", "unit_price": "3.00", "vat_rate": "20"}]}
        return httpx.post(orders_url(stack), json=body, headers=shop_key(stack), timeout=30)

    statuses = sorted(r.status_code for r in at_once(refund))
    assert statuses == [201] * 3 + [422] * (THREADS - 3), "9.80 holds three refunds of 3.00, not four"
    parent = httpx.get(f"{orders_url(stack)}/PAR-1", headers=shop_key(stack), timeout=30).json()
    assert parent["refunded"] == "9.00"


def validated_log(stack, order_id: str) -> dict | None:
    with httpx.Client(base_url=stack.demo["api_base"], timeout=30) as http:
        token = http.post("/api/v1/auth", json=stack.demo["merchant"]).json()["access_token"]
        log = http.get(f"/api/v1/shops/{stack.demo['shop']['shop_id']}/webhook/deliveries?limit=100",
                       headers={"authorization": f"Bearer {token}"}).json()["data"]
    return next((d for d in log if d["order_id"] == order_id and d["type"] == "validated"), None)


def test_scheduled_handler_retries_a_failing_receiver(stack, receiver):
    receiver.status = 500
    try:
        assert httpx.post(orders_url(stack), json=demo_order_body("RETRY-1"), headers=shop_key(stack),
                          timeout=30).status_code == 201
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            log = validated_log(stack, "RETRY-1")
            if log and len(log["attempts"]) >= 2:
                break
            time.sleep(0.2)
    finally:
        receiver.status = 204
    assert [d.body["type"] for d in receiver.wait_for("RETRY-1", 2, timeout=60)] == ["validated", "terminated"]
    codes = [a["status_code"] for a in validated_log(stack, "RETRY-1")["attempts"]]
    assert codes[-1] == 204 and len(codes) >= 3 and set(codes[:-1]) == {500}, codes
