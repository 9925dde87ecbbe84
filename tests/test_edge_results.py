"""Edge sessions and results: scoped credentials, idempotent by job_id, tenant-checked."""

from __future__ import annotations

import json

from chalicelib.aws.clients import client
from chalicelib.contracts import FiscalJob, FiscalRecord, JobResult, ResultStatus
from chalicelib.core import resource_names as names
from chalicelib.core.settings import settings
from tests.conftest import demo_order, queue_messages, run_dispatch


def open_session(api, shop):
    r = api.call("POST", "/api/v1/edge/session", {"edge_key": shop["edge_key"]})
    assert r.status_code == 200, r.body
    return r.json


def printed(job: FiscalJob, number: str = "0000042") -> JobResult:
    return JobResult(job_id=job.job_id, shop_id=job.shop_id, order_id=job.order_id, status=ResultStatus.PRINTED,
                     fiscal=FiscalRecord(device="SIM-1", fiscal_number=number, printed_at=job.created_at))


def report(api, session, result: JobResult):
    return api.call("POST", "/api/v1/edge/results", raw=result.model_dump_json().encode(),
                    headers={"authorization": f"Bearer {session['token']}"})


def stored_job(shop, order_id: str) -> FiscalJob:
    """The job the order was recorded with (the queue may have been drained by an earlier step)."""
    from chalicelib.orders.service import get_order

    return FiscalJob.model_validate(get_order(shop["shop_id"], order_id)["job"])


def fiscalize(api, shop, order_id: str, number: str = "0000042", **fiscal) -> JobResult:
    """The edge prints the order: its printed result, posted through the results route."""
    job = stored_job(shop, order_id)
    result = JobResult(job_id=job.job_id, shop_id=job.shop_id, order_id=job.order_id, status=ResultStatus.PRINTED,
                       fiscal=FiscalRecord(device="SIM-1", fiscal_number=number, printed_at=job.created_at, **fiscal))
    assert report(api, open_session(api, shop), result).status_code == 200
    return result


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
    # the receipt was created with the result, its PDF stored before it; the duplicate's PDF was deleted again
    receipt_id = first_order(api, shop, "C-1")["receipt_id"]
    stored = client("s3").list_objects_v2(Bucket=settings().bucket(names.PDF_BUCKET)).get("Contents", [])
    assert [o["Key"] for o in stored] == [f"receipts/{receipt_id}.pdf"]
    body = client("s3").get_object(Bucket=settings().bucket(names.PDF_BUCKET), Key=stored[0]["Key"])["Body"].read()
    assert body.startswith(b"%PDF-") and queue_messages(aws_env["pdfs"]) == [], "no render queued"
    conflicting = report(api, session, printed(job, number="0000043"))
    assert conflicting.status_code == 409 and conflicting.json["code"] == "E_CONFLICT"
    order = api.call("GET", f"/api/v1/shops/{shop['shop_id']}/orders/C-1", headers={"x-shop-key": shop["shop_key"]}).json
    assert order["status"] == "terminated" and order["fiscal"]["fiscal_number"] == "0000042"


def test_result_without_order_id_is_found_through_its_job(api, shop, aws_calls):
    """An edge of an earlier version names only the job: one more read, the same outcome."""
    job = take_job(api, shop, "C-4")
    session = open_session(api, shop)
    aws_calls.clear()
    legacy = printed(job).model_copy(update={"order_id": None})
    assert report(api, session, legacy).json == {"job_id": job.job_id, "order_status": "terminated", "duplicate": False}
    assert aws_calls[:3] == ["dynamodb.GetItem", "dynamodb.GetItem", "dynamodb.TransactWriteItems"]
    assert report(api, session, printed(job)).json["duplicate"] is True, "same outcome with or without order_id"


def test_result_naming_the_wrong_order_still_finishes_its_own_job(api, shop):
    """``order_id`` is a shortcut; the job decides which order a result finishes."""
    job = take_job(api, shop, "C-5")
    take_job(api, shop, "C-6")
    session = open_session(api, shop)
    assert report(api, session, printed(job).model_copy(update={"order_id": "C-6"})).json["order_status"] == "terminated"
    assert first_order(api, shop, "C-5")["status"] == "terminated" and first_order(api, shop, "C-6")["status"] == "validated"
    unknown = printed(job).model_copy(update={"job_id": "no-such-job", "order_id": "NO-SUCH-ORDER"})
    r = report(api, session, unknown)
    assert r.status_code == 404 and r.json["code"] == "E_JOB_NOT_FOUND"


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


def first_order(api, shop, order_id: str) -> dict:
    return api.call("GET", f"/api/v1/shops/{shop['shop_id']}/orders/{order_id}", headers={"x-shop-key": shop["shop_key"]}).json


def test_result_creates_the_receipt_and_sends_terminated(api, shop, shop_hooks):
    """One result: the order is terminated with its eReceipt; a repeat creates no second one, and sends nothing."""
    job = take_job(api, shop, "C-3")
    session = open_session(api, shop)
    report(api, session, printed(job))
    report(api, session, printed(job))
    order = first_order(api, shop, "C-3")
    assert order["receipt_id"] and order["public_link"]["url"].startswith("http://127.0.0.1:8000/r/")
    receipts = client("dynamodb").scan(TableName=settings().table(names.RECEIPTS_TABLE))["Items"]
    assert [r["receipt_id"]["S"] for r in receipts] == [order["receipt_id"]]
    run_dispatch()
    webhooks = shop_hooks.for_order("C-3")
    assert [w.body["type"] for w in webhooks] == ["validated", "terminated"], "the repeat changed nothing to stream"
    assert webhooks[1].body["PDFinvoice"] == order["public_link"]["url"] + ".pdf"
    pdf = client("s3").get_object(Bucket=settings().bucket(names.PDF_BUCKET), Key=f"receipts/{order['receipt_id']}.pdf")
    assert pdf["ContentType"] == "application/pdf", "the link works when the webhook names it"
    page = api.call("GET", "/r/" + order["public_link"]["url"].rsplit("/", 1)[-1])
    assert page.status_code == 200 and b"Coffee" in page.body and b"0000042" in page.body


def test_a_blank_fiscal_number_is_refused_and_the_order_stays_open_for_a_real_one(api, shop):
    session = open_session(api, shop)
    job = take_job(api, shop, order_id="BLANK-1")
    body = json.loads(printed(job).model_dump_json())
    body["fiscal"]["fiscal_number"] = "   "
    r = api.call("POST", "/api/v1/edge/results", raw=json.dumps(body).encode(),
                 headers={"authorization": f"Bearer {session['token']}"})
    assert r.status_code == 400 and r.json["code"] == "E_FAILED_SCHEMA_VALIDATION"
    assert "fiscal.fiscal_number" in r.json["message"], "refused by the contract itself, not later by the eReceipt"
    assert report(api, session, printed(job, "0000077")).status_code == 200
    order = api.call("GET", f"/api/v1/shops/{shop['shop_id']}/orders/BLANK-1", headers={"x-shop-key": shop["shop_key"]})
    assert order.json["status"] == "terminated" and order.json["fiscal"]["fiscal_number"] == "0000077"
