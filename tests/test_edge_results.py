"""Edge sessions and results: scoped credentials, idempotent by job_id, tenant-checked."""

from __future__ import annotations

import json

from chalicelib.contracts import FiscalJob, FiscalRecord, JobResult, ResultStatus
from tests.conftest import demo_order, queue_messages


def open_session(api, shop):
    r = api.call("POST", "/api/v1/edge/session", {"edge_key": shop["edge_key"]})
    assert r.status_code == 200, r.body
    return r.json


def printed(job: FiscalJob, number: str = "0000042") -> JobResult:
    return JobResult(job_id=job.job_id, shop_id=job.shop_id, status=ResultStatus.PRINTED,
                     fiscal=FiscalRecord(device="SIM-1", fiscal_number=number, printed_at=job.created_at))


def report(api, session, result: JobResult):
    return api.call("POST", "/api/v1/edge/results", raw=result.model_dump_json().encode(),
                    headers={"authorization": f"Bearer {session['token']}"})


def take_job(api, shop, order_id: str) -> FiscalJob:
    api.call("POST", f"/api/v1/shops/{shop['shop_id']}/orders", demo_order(order_id), {"x-shop-key": shop["shop_key"]})
    return FiscalJob.model_validate_json(queue_messages(shop["queue_url"])[-1]["Body"])


def test_session_is_scoped_to_the_shop_queue(api, shop, aws_calls):
    session = open_session(api, shop)
    assert session["queue_url"] == shop["queue_url"] and session["shop_id"] == shop["shop_id"]
    assert set(session["credentials"]) == {"access_key_id", "secret_access_key", "session_token", "expiration"}
    assert "sts.AssumeRole" in aws_calls
    assert api.call("POST", "/api/v1/edge/session", {"edge_key": "edk_wrong"}).json["code"] == "E_AUTHENTICATION"


def test_session_policy_names_only_one_queue():
    from chalicelib.edge_api import session_policy

    policy = session_policy("http://sqs.eu-central-1.localhost/123456789012/receipt-bridge-local-jobs-abc")
    [statement] = policy["Statement"]
    assert statement["Resource"] == "arn:aws:sqs:eu-central-1:123456789012:receipt-bridge-local-jobs-abc"
    assert all(action.startswith("sqs:") and "*" not in action for action in statement["Action"])


def test_result_terminates_order_and_repeat_is_duplicate(api, shop, aws_env):
    job = take_job(api, shop, "C-1")
    session = open_session(api, shop)
    first = report(api, session, printed(job))
    again = report(api, session, printed(job))
    assert first.status_code == 200 and first.json == {"job_id": job.job_id, "order_status": "terminated", "duplicate": False}
    assert again.status_code == 200 and again.json["duplicate"] is True
    # a duplicate re-requests the receipt while the order has none yet; creation is idempotent
    assert {m["Body"] for m in queue_messages(aws_env["receipts"])} == {json.dumps({"shop_id": shop["shop_id"], "order_id": "C-1"}, separators=(",", ":"))}
    conflicting = report(api, session, printed(job, number="0000043"))
    assert conflicting.status_code == 409 and conflicting.json["code"] == "E_CONFLICT"
    order = api.call("GET", f"/api/v1/shops/{shop['shop_id']}/orders/C-1", headers={"x-shop-key": shop["shop_key"]}).json
    assert order["status"] == "terminated" and order["fiscal"]["fiscal_number"] == "0000042"


def test_result_for_another_shops_job_is_403(api, shop, merchant):
    job = take_job(api, shop, "C-2")
    other_shop = api.call("POST", "/api/v1/shops", {"name": "Other shop"}, merchant["auth"]).json
    other_session = open_session(api, other_shop)
    forged = printed(job).model_copy(update={"shop_id": other_shop["shop_id"]})
    assert report(api, other_session, forged).status_code == 403
    assert report(api, other_session, printed(job)).status_code == 403


def test_edge_token_does_not_open_merchant_routes(api, shop):
    session = open_session(api, shop)
    r = api.call("POST", "/api/v1/shops", {"name": "x"}, {"authorization": f"Bearer {session['token']}"})
    assert r.status_code == 401


def test_receipt_and_terminated_webhook_follow(api, shop, aws_env):
    """The SQS handlers, invoked through Chalice's event classes, finish the order."""
    from app import create_receipts
    from devstack.pump import sqs_event

    job = take_job(api, shop, "C-3")
    report(api, open_session(api, shop), printed(job))
    messages = queue_messages(aws_env["receipts"])
    create_receipts(sqs_event(messages, "arn:aws:sqs:eu-central-1:123456789012:receipts", "eu-central-1"), None)
    create_receipts(sqs_event(messages, "arn:aws:sqs:eu-central-1:123456789012:receipts", "eu-central-1"), None)
    order = api.call("GET", f"/api/v1/shops/{shop['shop_id']}/orders/C-3", headers={"x-shop-key": shop["shop_key"]}).json
    assert order["receipt_id"] and order["public_link"]["url"].startswith("http://127.0.0.1:8000/r/")
    webhooks = [json.loads(m["Body"]) for m in queue_messages(aws_env["webhooks.fifo"]) ]
    types = [w["payload"]["type"] for w in webhooks if w["payload"]["orderID"] == "C-3"]
    assert types == ["validated", "terminated"], "FIFO dedup keeps one terminated per order"
    page = api.call("GET", "/r/" + order["public_link"]["url"].rsplit("/", 1)[-1])
    assert page.status_code == 200 and b"Coffee" in page.body and b"0000042" in page.body
