"""Order intake: one transaction, one job message, idempotent replay, AWS calls counted."""

from __future__ import annotations

import json

from chalicelib.contracts import FiscalJob
from tests.conftest import demo_order, queue_messages


def post(api, shop, body):
    return api.call("POST", f"/api/v1/shops/{shop['shop_id']}/orders", body, {"x-shop-key": shop["shop_key"]})


def test_order_creates_one_job_with_catalogue_prices(api, shop):
    r = post(api, shop, demo_order("B-1"))
    assert r.status_code == 201
    assert r.json["status"] == "validated" and r.json["total"] == "8.20"
    [message] = queue_messages(shop["queue_url"])
    job = FiscalJob.model_validate_json(message["Body"])
    assert job.order_id == "B-1" and job.total == 820
    assert [(line.name, line.unit_price, line.amount) for line in job.lines] == [("Coffee", 350, 700), ("Cookie", 120, 120)]
    assert job.payment.type.value == "cash"


def test_replay_returns_200_and_enqueues_nothing(api, shop, aws_env):
    first = post(api, shop, demo_order("B-2"))
    replay = post(api, shop, demo_order("B-2"))
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.json["order_internal_id"] == first.json["order_internal_id"]
    assert len(queue_messages(shop["queue_url"])) == 1
    webhooks = queue_messages(aws_env["webhooks.fifo"])
    assert [json.loads(m["Body"])["payload"]["type"] for m in webhooks] == ["validated"]


def test_same_order_id_with_other_body_conflicts(api, shop):
    post(api, shop, demo_order("B-3"))
    r = post(api, shop, demo_order("B-3", payment_method_id="card"))
    assert r.status_code == 409 and r.json["code"] == "E_CONFLICT"
    assert len(queue_messages(shop["queue_url"])) == 1


def test_aws_calls_per_order(api, shop, aws_calls):
    post(api, shop, demo_order("WARM-UP"))  # fills the container's shop cache, as a warm Lambda has it
    aws_calls.clear()
    post(api, shop, demo_order("B-4"))
    assert aws_calls == ["dynamodb.TransactWriteItems", "sqs.SendMessage", "sqs.SendMessage"]
    aws_calls.clear()
    post(api, shop, demo_order("B-4"))
    assert aws_calls == ["dynamodb.TransactWriteItems", "dynamodb.GetItem"]


def test_refund_needs_existing_parent(api, shop):
    r = post(api, shop, demo_order("R-1", is_refund=True, parent_order_id="NOPE"))
    assert r.status_code == 422
    post(api, shop, demo_order("B-5"))
    assert post(api, shop, demo_order("R-2", is_refund=True, parent_order_id="B-5")).status_code == 201
