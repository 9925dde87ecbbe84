"""The real local stack (moto server, chalice local, pump, edge subprocess) end to end."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import boto3
import httpx
import pytest

from devstack.demo import demo_order_body, wait_for_status
from devstack.harness import RunningStack, running_stack
from edge.emulators.simulated.register import SimulatedRegister

SEED_FIELDS = {"type", "orderID", "orderInternalID", "price", "clientID", "customer", "cashBoxID", "deliveryMethod",
               "PDFinvoice", "items", "VATs", "VAT", "isRefund"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


def register(stack) -> SimulatedRegister:
    return SimulatedRegister(stack.var_dir / "edge" / "simulated_register.sqlite")


def post_order(stack, order_id: str) -> httpx.Response:
    shop = stack.demo["shop"]
    return httpx.post(f"{stack.demo['api_base']}/api/v1/shops/{shop['shop_id']}/orders", json=demo_order_body(order_id),
                      headers={"x-shop-key": shop["shop_key"]}, timeout=30)


def wait_terminated(stack, order_id: str) -> dict:
    shop = stack.demo["shop"]
    with httpx.Client(base_url=stack.demo["api_base"], timeout=30) as http:
        return wait_for_status(http, f"/api/v1/shops/{shop['shop_id']}/orders/{order_id}",
                               {"x-shop-key": shop["shop_key"]}, "terminated", timeout=60)


def aws(stack, service: str):
    return boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name="eu-central-1") \
        .client(service, endpoint_url=stack.demo["aws_endpoint"])


def queue_is_drained(stack, queue_url: str, timeout: float = 30) -> bool:
    sqs, deadline = aws(stack, "sqs"), time.monotonic() + timeout
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
        if attributes["ApproximateNumberOfMessages"] == "0" and attributes["ApproximateNumberOfMessagesNotVisible"] == "0":
            return True
        time.sleep(0.1)
    return False


def test_order_travels_to_terminated_with_both_webhooks(stack, receiver):
    accepted = post_order(stack, "E2E-1")
    assert accepted.status_code == 201 and accepted.headers["request-id"]
    order = wait_terminated(stack, "E2E-1")
    assert order["fiscal"]["device"].startswith("Simulated") and order["fiscal"]["fiscal_number"]
    assert order["total"] == "9.80"
    deliveries = receiver.wait_for("E2E-1", 2, timeout=30)
    assert [d.body["type"] for d in deliveries] == ["validated", "terminated"]
    assert all(set(d.body) == SEED_FIELDS for d in deliveries)
    assert deliveries[1].body["PDFinvoice"] == order["public_link"]["url"] + ".pdf"
    assert deliveries[1].body["VAT"] == "1.63" and deliveries[1].body["price"] == "9.80"
    page = httpx.get(order["public_link"]["url"], timeout=30)
    assert page.status_code == 200 and "Coffee" in page.text and order["fiscal"]["fiscal_number"] in page.text
    [receipt] = [r for r in register(stack).receipts() if r.fiscal_number == order["fiscal"]["fiscal_number"]]
    assert receipt.total == 980


def test_replayed_post_prints_one_receipt(stack, receiver):
    before = len(register(stack).receipts())
    assert post_order(stack, "E2E-2").status_code == 201
    assert post_order(stack, "E2E-2").status_code == 200
    wait_terminated(stack, "E2E-2")
    assert queue_is_drained(stack, _queue_url(stack))
    assert len(register(stack).receipts()) == before + 1
    assert [d.body["type"] for d in receiver.wait_for("E2E-2", 2, timeout=30)] == ["validated", "terminated"]


def _queue_url(stack) -> str:
    shop_id = stack.demo["shop"]["shop_id"]
    return aws(stack, "sqs").get_queue_url(QueueName=f"receipt-bridge-local-jobs-{shop_id}")["QueueUrl"]


def test_redelivered_job_message_prints_nothing_more(stack, receiver):
    assert post_order(stack, "E2E-3").status_code == 201
    wait_terminated(stack, "E2E-3")
    shop_id = stack.demo["shop"]["shop_id"]
    item = aws(stack, "dynamodb").get_item(TableName="receipt-bridge-local-orders",
                                           Key={"pk": {"S": f"SHOP#{shop_id}"}, "sk": {"S": "ORDER#E2E-3"}})["Item"]
    job_id = item["job_id"]["S"]
    assert len(register(stack).receipts_for_sale(job_id)) == 1
    from boto3.dynamodb.types import TypeDeserializer

    job_body = json.dumps(TypeDeserializer().deserialize(item["job"]), default=int)
    aws(stack, "sqs").send_message(QueueUrl=_queue_url(stack), MessageBody=job_body)
    assert queue_is_drained(stack, _queue_url(stack))
    assert len(register(stack).receipts_for_sale(job_id)) == 1
    assert [d.body["type"] for d in receiver.wait_for("E2E-3", 3, timeout=3)] == ["validated", "terminated"]


def test_tenant_isolation_on_the_running_stack(stack):
    other = httpx.post(f"{stack.demo['api_base']}/api/v1/auth", json=stack.demo["other_merchant"], timeout=30).json()
    shop_id = stack.demo["shop"]["shop_id"]
    r = httpx.get(f"{stack.demo['api_base']}/api/v1/shops/{shop_id}/orders/E2E-1",
                  headers={"authorization": f"Bearer {other['access_token']}"}, timeout=30)
    assert r.status_code == 404 and r.json()["code"] == "E_SHOP_NOT_FOUND"


def test_ctrl_c_stops_everything(stack):
    assert stack.stop() == 0
    for port in stack.ports.values():
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still listening"
