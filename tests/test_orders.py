"""Order intake: one transaction, one job message, idempotent replay, AWS calls counted."""

from __future__ import annotations

from chalicelib.aws import clients as aws
from chalicelib.contracts import FiscalJob
from tests.conftest import demo_order, queue_messages
from tests.test_edge_results import fiscalize


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


def test_replay_returns_200_and_enqueues_nothing(api, shop, shop_hooks):
    first = post(api, shop, demo_order("B-2"))
    replay = post(api, shop, demo_order("B-2"))
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.json["order_internal_id"] == first.json["order_internal_id"]
    assert len(queue_messages(shop["queue_url"])) == 1
    assert [d.body["type"] for d in shop_hooks.for_order("B-2")] == ["validated"]


def test_same_order_id_with_other_body_conflicts(api, shop):
    post(api, shop, demo_order("B-3"))
    r = post(api, shop, demo_order("B-3", payment_method_id="card"))
    assert r.status_code == 409 and r.json["code"] == "E_CONFLICT"
    assert len(queue_messages(shop["queue_url"])) == 1


def test_aws_calls_per_order(api, shop, aws_calls):
    post(api, shop, demo_order("WARM-UP"))  # fills the container's shop cache, as a warm Lambda has it
    aws_calls.clear()
    post(api, shop, demo_order("B-4"))
    assert aws_calls == ["dynamodb.TransactWriteItems"], "the order's one write; its stream dispatches it"
    aws_calls.clear()
    post(api, shop, demo_order("B-4"))
    assert aws_calls == ["dynamodb.TransactWriteItems", "dynamodb.GetItem"], "one read: the stored order"


def test_refund_needs_existing_parent_printed(api, shop):
    r = post(api, shop, demo_order("R-1", is_refund=True, parent_order_id="NOPE"))
    assert r.status_code == 422
    post(api, shop, demo_order("B-5"))
    r = post(api, shop, demo_order("R-2", is_refund=True, parent_order_id="B-5"))
    assert r.status_code == 409 and r.json["code"] == "E_PARENT_NOT_FISCALIZED", "nothing printed to name yet"
    fiscalize(api, shop, "B-5")
    assert post(api, shop, demo_order("R-2", is_refund=True, parent_order_id="B-5")).status_code == 201


def test_refund_larger_than_what_is_left_is_refused(api, shop):
    post(api, shop, demo_order("B-6"))  # 8.20
    fiscalize(api, shop, "B-6")
    too_big = demo_order("R-3", is_refund=True, parent_order_id="B-6",
                         items=[{"name": "Goodwill", "quantity": "1", "unit_price": "8.21", "vat_rate": "20"}])
    r = post(api, shop, too_big)
    assert r.status_code == 422 and r.json["code"] == "E_REFUND_EXCEEDS_PARENT"
    part = {"name": "Coffee back", "quantity": "1", "unit_price": "5.00", "vat_rate": "20"}
    assert post(api, shop, demo_order("R-4", is_refund=True, parent_order_id="B-6", items=[part])).status_code == 201
    assert post(api, shop, demo_order("R-4", is_refund=True, parent_order_id="B-6", items=[part])).status_code == 200
    r = post(api, shop, demo_order("R-5", is_refund=True, parent_order_id="B-6", items=[part]))
    assert r.status_code == 422 and r.json["code"] == "E_REFUND_EXCEEDS_PARENT"
    rest = {**part, "unit_price": "3.20"}
    assert post(api, shop, demo_order("R-6", is_refund=True, parent_order_id="B-6", items=[rest])).status_code == 201
    parent = api.call("GET", f"/api/v1/shops/{shop['shop_id']}/orders/B-6", headers={"x-shop-key": shop["shop_key"]})
    assert parent.json["refunded"] == "8.20"
    one_cent = {**part, "unit_price": "0.01"}
    r = post(api, shop, demo_order("R-7", is_refund=True, parent_order_id="B-6", items=[one_cent]))
    assert r.status_code == 422
    r = post(api, shop, demo_order("R-8", is_refund=True, parent_order_id="R-4", items=[one_cent]))
    assert r.status_code == 422 and r.json["code"] == "E_UNKNOWN_REFERENCE", "a refund is not a parent"


def test_every_catalogue_reference_is_checked(api, shop):
    cases = {"payment_method_id": "bitcoin", "delivery_method_id": "drone", "user_id": "ghost", "client_id": "nobody"}
    for field, value in cases.items():
        r = post(api, shop, demo_order(f"X-{field[:4]}", **{field: value}))
        assert r.status_code == 422 and r.json["code"] == "E_UNKNOWN_REFERENCE" and field in r.json["message"]
    r = post(api, shop, demo_order("X-item", items=[{"item_id": "caviar", "quantity": "1"}]))
    assert r.status_code == 422 and "items[0].item_id" in r.json["message"]


def test_a_refund_recorded_before_its_parent_had_to_be_printed_still_replays(api, shop):
    """Refunds recorded before the printed-parent rule name a parent without a fiscal record: their replay is still
    the same order (200), and another body under that id still a conflict, never E_PARENT_NOT_FISCALIZED."""
    from chalicelib.core.settings import settings
    from chalicelib.orders.service import order_key

    post(api, shop, demo_order("B-9"))
    fiscalize(api, shop, "B-9")
    refund = demo_order("R-9", is_refund=True, parent_order_id="B-9",
                        items=[{"name": "Coffee back", "quantity": "1", "unit_price": "1.00", "vat_rate": "20"}])
    first = post(api, shop, refund)
    assert first.status_code == 201
    aws.client("dynamodb").update_item(TableName=settings().table("orders"), Key=order_key(shop["shop_id"], "B-9"),
                                       UpdateExpression="REMOVE fiscal")  # as a parent of a pre-upgrade refund
    replay = post(api, shop, refund)
    assert replay.status_code == 200 and replay.json["order_internal_id"] == first.json["order_internal_id"]
    other = post(api, shop, {**refund, "payment_method_id": "card"})
    assert other.status_code == 409 and other.json["code"] == "E_CONFLICT"
