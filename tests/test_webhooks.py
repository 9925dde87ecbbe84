"""Webhook deliveries through the SQS and scheduled handlers, with time moved instead of slept.

A local receiver verifies every Standard Webhooks signature (``standardwebhooks``)
and can answer 500, answer too late or redirect to the metadata address.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from standardwebhooks.webhooks import Webhook

from chalicelib.aws import clients as aws
from chalicelib.contracts import (
    FailureReason,
    FiscalJob,
    FiscalRecord,
    JobResult,
    ResultStatus,
)
from chalicelib.core.settings import settings
from chalicelib.openapi.responses import WebhookEvent
from devstack.pump import scheduled_event, sqs_event, succeeded
from devstack.receiver import WebhookReceiver
from tests.conftest import demo_order, queue_messages, run_dispatch

SEED_FIELDS = {"type", "orderID", "orderInternalID", "price", "clientID", "customer", "cashBoxID", "deliveryMethod",
               "PDFinvoice", "items", "VATs", "VAT", "isRefund"}
DAY = 86400


@pytest.fixture
def receiver(shop_hooks) -> WebhookReceiver:
    return shop_hooks


@pytest.fixture
def short_timeout(monkeypatch) -> Iterator[None]:
    """Settings with a 0.3 s webhook timeout, read now: inside a request the Chalice test client exports its stage's env."""
    monkeypatch.setenv("BRIDGE_WEBHOOK_TIMEOUT_SECONDS", "0.3")
    settings.cache_clear()
    assert settings().webhook_timeout_seconds == 0.3
    yield
    monkeypatch.delenv("BRIDGE_WEBHOOK_TIMEOUT_SECONDS")
    settings.cache_clear()
    settings()


def pump(aws_env) -> int:
    """Feed webhooks.fifo to the send_webhooks handler in batches, as the event source mapping does: what
    the partial batch response names comes back at once (its visibility timeout, shortened); the rest is deleted."""
    from app import send_webhooks

    run_dispatch()
    sqs, url, handled = aws.client("sqs"), aws_env["webhooks.fifo"], 0
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30,
                                       AttributeNames=["All"]).get("Messages", [])
        if not messages:
            return handled
        response = send_webhooks(sqs_event(messages, "arn:aws:sqs:eu-central-1:123456789012:webhooks.fifo", "eu-central-1"), None)
        done = succeeded(messages, response)
        for message in messages:
            if message in done:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            else:
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
        handled += len(done)
        if len(done) < len(messages):
            return handled


def sweep_and_pump(aws_env) -> int:
    from app import retry_webhooks

    retry_webhooks(scheduled_event("eu-central-1"), None)
    return pump(aws_env)


def post(api, shop, order_id: str):
    r = api.call("POST", f"/api/v1/shops/{shop['shop_id']}/orders", demo_order(order_id), {"x-shop-key": shop["shop_key"]})
    assert r.status_code == 201, r.body
    return r.json


def terminate(api, shop, aws_env, order_id: str) -> None:
    """Print the order's job through the edge API, which queues `terminated`."""
    [job] = [j for j in (FiscalJob.model_validate_json(m["Body"]) for m in queue_messages(shop["queue_url"]))
             if j.order_id == order_id]
    session = api.call("POST", "/api/v1/edge/session", {"edge_key": shop["edge_key"]}).json
    result = JobResult(job_id=job.job_id, shop_id=job.shop_id, status=ResultStatus.PRINTED,
                       fiscal=FiscalRecord(device="SIM-1", fiscal_number="0000042", printed_at=job.created_at))
    r = api.call("POST", "/api/v1/edge/results", raw=result.model_dump_json().encode(),
                 headers={"authorization": f"Bearer {session['token']}"})
    assert r.status_code == 200, r.body


def fail(api, shop, order_id: str) -> None:
    """The edge gives up on the order's job (paper out), which queues `failed`."""
    from tests.test_edge_results import stored_job

    job = stored_job(shop, order_id)
    session = api.call("POST", "/api/v1/edge/session", {"edge_key": shop["edge_key"]}).json
    result = JobResult(job_id=job.job_id, shop_id=job.shop_id, order_id=order_id, status=ResultStatus.FAILED,
                       reason=FailureReason.PAPER_OUT, message="the printer is out of paper")
    r = api.call("POST", "/api/v1/edge/results", raw=result.model_dump_json().encode(),
                 headers={"authorization": f"Bearer {session['token']}"})
    assert r.status_code == 200 and r.json["order_status"] == "failed", r.body


def deliveries(api, shop, merchant, **query) -> list[dict]:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    r = api.call("GET", f"/api/v1/shops/{shop['shop_id']}/webhook/deliveries?{qs}", headers=merchant["auth"])
    assert r.status_code == 200, r.body
    return r.json["data"]


def by_type(api, shop, merchant, order_id: str) -> dict[str, dict]:
    return {d["type"]: d for d in deliveries(api, shop, merchant, limit=100) if d["order_id"] == order_id}


def test_both_events_delivered_signed_with_every_seed_field(api, shop, merchant, receiver, aws_env, clock):
    post(api, shop, "W-1")
    pump(aws_env)
    terminate(api, shop, aws_env, "W-1")
    pump(aws_env)
    received = receiver.for_order("W-1")
    assert [d.body["type"] for d in received] == ["validated", "terminated"]
    assert all(set(d.body) == SEED_FIELDS for d in received) and receiver.rejected == 0
    assert received[1].body["PDFinvoice"].endswith(".pdf") and received[1].body["price"] == "8.20"
    log = by_type(api, shop, merchant, "W-1")
    assert [log[t]["status"] for t in ("validated", "terminated")] == ["delivered", "delivered"]
    assert [a["status_code"] for a in log["validated"]["attempts"]] == [204]
    assert log["validated"]["delivery_id"] == received[0].webhook_id


def test_a_failed_order_is_told_after_its_validated_event_never_before(api, shop, merchant, receiver, aws_env, clock):
    """The third delivery (§4.3): `failed` with the order's fields plus reason and message, held back while
    `validated` is still failing, delivered after it; replaying `validated` resends `failed` after it."""
    receiver.status = 500
    post(api, shop, "FAIL-1")
    pump(aws_env)
    fail(api, shop, "FAIL-1")
    pump(aws_env)
    log = by_type(api, shop, merchant, "FAIL-1")
    assert log["failed"]["status"] == "pending" and log["failed"]["attempts"] == [], "held back behind validated"
    assert log["failed"]["payload"]["reason"] == "paper_out"
    receiver.status = 204
    for _ in range(10):
        log = by_type(api, shop, merchant, "FAIL-1")
        if log["failed"]["status"] == "delivered":
            break
        clock.now = max(clock.now + 1, log["validated"].get("next_attempt_at") or 0,
                        log["failed"].get("next_attempt_at") or 0)
        sweep_and_pump(aws_env)
    received = receiver.for_order("FAIL-1")
    assert [d.body["type"] for d in received] == ["validated", "failed"]
    validated, failed = (d.body for d in received)
    assert set(failed) == SEED_FIELDS | {"reason", "message"} and receiver.rejected == 0
    assert (failed["reason"], failed["message"]) == ("paper_out", "the printer is out of paper")
    assert all(WebhookEvent.model_validate(body) for body in (validated, failed)), "as the OpenAPI document says"
    assert {k: v for k, v in failed.items() if k not in ("type", "reason", "message")} == \
        {k: v for k, v in validated.items() if k != "type"}, "the same fields as validated"
    assert received[1].webhook_id == f"msg_{validated['orderInternalID']}_failed"
    r = api.call("POST", f"/api/v1/shops/{shop['shop_id']}/webhook/deliveries/{received[0].webhook_id}/replay",
                 headers=merchant["auth"])
    assert r.status_code == 202
    pump(aws_env)
    assert [d.body["type"] for d in receiver.for_order("FAIL-1")] == ["validated", "failed", "validated", "failed"]
    path = f"/api/v1/shops/{shop['shop_id']}/webhook/deliveries/{received[1].webhook_id}/replay"
    assert api.call("POST", path, headers=merchant["auth"]).status_code == 202, "a failed delivery id is a delivery id"


def test_a_refunds_webhooks_name_the_sale_it_reverses(api, shop, merchant, receiver, aws_env, clock):
    post(api, shop, "SALE-9")
    terminate(api, shop, aws_env, "SALE-9")
    body = demo_order("REF-9", is_refund=True, parent_order_id="SALE-9",
                      items=[{"item_id": "coffee", "quantity": "1", "discount": "0.50"}])
    r = api.call("POST", f"/api/v1/shops/{shop['shop_id']}/orders", body, {"x-shop-key": shop["shop_key"]})
    assert r.status_code == 201, r.body
    pump(aws_env)
    terminate(api, shop, aws_env, "REF-9")
    pump(aws_env)
    refund = receiver.for_order("REF-9")
    assert [(d.body["type"], d.body["isRefund"], d.body["parentOrderID"]) for d in refund] == \
        [("validated", True, "SALE-9"), ("terminated", True, "SALE-9")]
    assert [(i["unitPrice"], i["discount"], i["price"]) for i in refund[0].body["items"]] == [("3.50", "0.50", "3.00")]
    assert refund[0].body["price"] == "3.00"
    assert all(set(d.body) == SEED_FIELDS | {"parentOrderID"} for d in refund)
    assert all(set(d.body) == SEED_FIELDS for d in receiver.for_order("SALE-9")), "a sale's body is the seed's"
    assert all(WebhookEvent.model_validate(d.body) for d in refund)


def test_a_failing_event_holds_back_only_its_own_orders_later_events(api, shop, merchant, receiver, aws_env, clock,
                                                                     monkeypatch):
    """FIFO partial batch: the failed event and its order's later one come back; another order's go on."""
    from chalicelib.webhooks import deliveries

    receiver.status = 500  # every first attempt fails: the events go on through the retry queue
    post(api, shop, "F-1")
    post(api, shop, "F-2")
    terminate(api, shop, aws_env, "F-1")
    run_dispatch()
    receiver.deliveries.clear()
    receiver.status = 204
    handle, broken = deliveries.handle_message, {"F-1"}

    def flaky(message, now):
        if message.payload["orderID"] in broken and message.payload["type"] == "validated":
            raise ConnectionError("injected: the table did not answer")
        return handle(message, now)

    monkeypatch.setattr(deliveries, "handle_message", flaky)
    clock.now += DAY
    assert sweep_and_pump(aws_env) == 1
    assert [d.body["orderID"] for d in receiver.deliveries] == ["F-2"]
    broken.clear()
    assert pump(aws_env) == 2
    assert [(d.body["orderID"], d.body["type"]) for d in receiver.deliveries[1:]] == [("F-1", "validated"), ("F-1", "terminated")]


def test_a_malformed_webhook_message_is_consumed_not_retried(aws_env):
    from app import send_webhooks

    message = {"MessageId": "m-1", "ReceiptHandle": "h", "Body": "{\"not\": \"a webhook\"}", "MD5OfBody": "",
               "Attributes": {"MessageGroupId": "g"}}
    response = send_webhooks(sqs_event([message], "arn:aws:sqs:eu-central-1:123456789012:webhooks.fifo", "eu-central-1"), None)
    assert response == {"batchItemFailures": []}


def test_signature_verifies_with_standardwebhooks(api, shop, receiver, aws_env, clock):
    """The receiver already verifies; this checks the headers the bridge sends against the package directly."""
    from datetime import datetime, timezone

    from chalicelib.webhooks.sending import signed_headers

    body = '{"type":"validated"}'
    headers = signed_headers(receiver.secret, "msg_x_validated", body, datetime.now(timezone.utc))
    assert Webhook(receiver.secret).verify(body, headers) == {"type": "validated"}
    assert headers["webhook-signature"].startswith("v1,")


def test_endpoint_down_for_a_day_gets_each_webhook_in_order_once_back(api, shop, merchant, receiver, aws_env, clock):
    receiver.status = 500
    started = clock.now
    post(api, shop, "W-2")
    pump(aws_env)
    terminate(api, shop, aws_env, "W-2")
    pump(aws_env)
    while clock.now < started + DAY:
        pending = by_type(api, shop, merchant, "W-2")["validated"]
        assert pending["status"] == "pending"
        clock.now = max(clock.now + 1, pending["next_attempt_at"])
        if clock.now >= started + DAY:
            break
        sweep_and_pump(aws_env)
    assert receiver.deliveries == []
    receiver.status = 204
    for _ in range(10):
        log = by_type(api, shop, merchant, "W-2")
        if log["terminated"]["status"] == "delivered":
            break
        clock.now = max(clock.now + 1, log["validated"].get("next_attempt_at") or 0,
                        log["terminated"].get("next_attempt_at") or 0)
        sweep_and_pump(aws_env)
    received = receiver.for_order("W-2")
    assert [d.body["type"] for d in received] == ["validated", "terminated"], "each once, in order"
    assert all(set(d.body) == SEED_FIELDS for d in received) and receiver.rejected == 0
    log = by_type(api, shop, merchant, "W-2")
    attempts = log["validated"]["attempts"]
    assert [a["status_code"] for a in attempts] == [500] * (len(attempts) - 1) + [204]
    assert len(attempts) >= 10, "exponential backoff, not one try a day"
    assert attempts[-1]["at"] - attempts[0]["at"] >= DAY
    assert all(b["at"] > a["at"] for a, b in zip(attempts, attempts[1:]))
    gaps = [b["at"] - a["at"] for a, b in zip(attempts, attempts[1:])]
    assert gaps[1] > gaps[0] and max(gaps) <= settings().webhook_retry_cap_seconds
    assert all(a["duration_ms"] >= 0 for a in attempts)
    assert [a["status_code"] for a in log["terminated"]["attempts"]] == [204], "held back, never sent before validated"
    assert log["terminated"]["attempts"][0]["at"] >= attempts[-1]["at"]


def test_spent_retry_window_dead_letters_then_replay_delivers_in_order(api, shop, merchant, receiver, aws_env, clock):
    receiver.status = 500
    started = clock.now
    post(api, shop, "W-3")
    pump(aws_env)
    while by_type(api, shop, merchant, "W-3")["validated"]["status"] == "pending":
        clock.now = max(clock.now + 1, by_type(api, shop, merchant, "W-3")["validated"]["next_attempt_at"])
        sweep_and_pump(aws_env)
    dead = by_type(api, shop, merchant, "W-3")["validated"]
    assert dead["status"] == "dead_lettered" and dead["dead_lettered_at"] - started >= DAY
    assert dead["attempts"][-1]["at"] - started == settings().webhook_retry_window_seconds
    assert [d["delivery_id"] for d in deliveries(api, shop, merchant, status="dead_lettered")] == [dead["delivery_id"]]
    receiver.status = 204
    path = f"/api/v1/shops/{shop['shop_id']}/webhook/deliveries/{dead['delivery_id']}/replay"
    replayed = api.call("POST", path, headers=merchant["auth"])
    assert replayed.status_code == 202 and replayed.json["status"] == "pending" and replayed.json["round"] == 1
    again = api.call("POST", path, headers=merchant["auth"])
    assert again.status_code == 409 and again.json["code"] == "E_CONFLICT"
    pump(aws_env)
    assert [d.body["type"] for d in receiver.for_order("W-3")] == ["validated"]
    log = by_type(api, shop, merchant, "W-3")["validated"]
    assert log["status"] == "delivered" and log["attempts"][-1] == {**log["attempts"][-1], "round": 1, "status_code": 204}


def test_replaying_validated_resends_terminated_after_it(api, shop, merchant, receiver, aws_env, clock):
    post(api, shop, "W-4")
    pump(aws_env)
    terminate(api, shop, aws_env, "W-4")
    pump(aws_env)
    validated = by_type(api, shop, merchant, "W-4")["validated"]
    r = api.call("POST", f"/api/v1/shops/{shop['shop_id']}/webhook/deliveries/{validated['delivery_id']}/replay",
                 headers=merchant["auth"])
    assert r.status_code == 202
    pump(aws_env)
    assert [d.body["type"] for d in receiver.for_order("W-4")] == ["validated", "terminated", "validated", "terminated"]


def test_error_timeout_and_metadata_redirect_are_failed_attempts(api, shop, merchant, receiver, aws_env, clock,
                                                                 short_timeout):
    post(api, shop, "W-5")
    receiver.status = 500
    pump(aws_env)
    receiver.status, receiver.delay = 503, 1.0  # answers too late, and would have refused it: never counted as received
    clock.now = by_type(api, shop, merchant, "W-5")["validated"]["next_attempt_at"]
    sweep_and_pump(aws_env)
    receiver.status, receiver.delay, receiver.redirect_to = 204, 0.0, "http://169.254.169.254/latest/meta-data/"
    clock.now = by_type(api, shop, merchant, "W-5")["validated"]["next_attempt_at"]
    sweep_and_pump(aws_env)
    receiver.redirect_to = None
    clock.now = by_type(api, shop, merchant, "W-5")["validated"]["next_attempt_at"]
    sweep_and_pump(aws_env)
    attempts = by_type(api, shop, merchant, "W-5")["validated"]["attempts"]
    assert attempts[0]["status_code"] == 500 and attempts[0]["error"] is None
    assert attempts[1]["status_code"] is None and attempts[1]["error"].startswith("timeout")
    assert attempts[1]["duration_ms"] < 1000
    assert attempts[2]["status_code"] is None and attempts[2]["error"].startswith("refused")
    assert attempts[3]["status_code"] == 204
    assert [d.body["type"] for d in receiver.for_order("W-5")] == ["validated"]


def test_webhook_target_guard(api, shop, merchant, monkeypatch):
    path = f"/api/v1/shops/{shop['shop_id']}/webhook"
    for url in ("http://169.254.169.254/latest", "http://10.1.2.3/hook", "http://[fd00:ec2::254]/", "ftp://example.com/",
                "http://user:pw@127.0.0.1/", "http://no-such-host.invalid/"):
        r = api.call("PUT", path, {"url": url}, merchant["auth"])
        assert r.status_code == 400 and r.json["code"] == "E_WEBHOOK_TARGET_REFUSED", url
    from chalicelib.core.settings import Settings

    monkeypatch.setattr(Settings, "allows_loopback_webhooks", property(lambda self: False))  # any stage but local
    r = api.call("PUT", path, {"url": "http://127.0.0.1:9/hook"}, merchant["auth"])
    assert r.status_code == 400 and r.json["code"] == "E_WEBHOOK_TARGET_REFUSED"


@pytest.mark.parametrize("host", [
    "[2002:7f00:1::1]",                          # 6to4 of 127.0.0.1
    "[2002:a9fe:a9fe::1]",                       # 6to4 of the metadata service
    "[2002:a00:1::]",                            # 6to4 of 10.0.0.1
    "[64:ff9b::a9fe:a9fe]",                      # NAT64 of the metadata service
    "[2001:0:4136:e378:8000:63bf:80ff:fffe]",    # Teredo whose client is 127.0.0.1
    "[::ffff:169.254.169.254]",                  # IPv4-mapped
])
def test_ipv6_addresses_that_carry_an_internal_ipv4_address_are_refused(api, shop, merchant, monkeypatch, host):
    from chalicelib.core.settings import Settings

    monkeypatch.setattr(Settings, "allows_loopback_webhooks", property(lambda self: False))
    r = api.call("PUT", f"/api/v1/shops/{shop['shop_id']}/webhook", {"url": f"http://{host}/hook"}, merchant["auth"])
    assert r.status_code == 400 and r.json["code"] == "E_WEBHOOK_TARGET_REFUSED", host


def test_delivery_routes_are_owner_only_and_typed(api, shop, merchant, receiver, aws_env, clock):
    from chalicelib.auth.merchants import create_merchant

    post(api, shop, "W-6")
    post(api, shop, "W-7")
    pump(aws_env)
    first = api.call("GET", f"/api/v1/shops/{shop['shop_id']}/webhook/deliveries?limit=1", headers=merchant["auth"]).json
    assert len(first["data"]) == 1 and first["next_cursor"]
    rest = deliveries(api, shop, merchant, cursor=first["next_cursor"])
    assert first["data"][0]["delivery_id"] not in {d["delivery_id"] for d in rest}
    other = create_merchant("Other")
    token = api.call("POST", "/api/v1/auth", {"api_key": other["api_key"], "api_secret": other["api_secret"]}).json
    foreign = {"authorization": f"Bearer {token['access_token']}"}
    base = f"/api/v1/shops/{shop['shop_id']}/webhook/deliveries"
    assert api.call("GET", base, headers=foreign).status_code == 404
    assert api.call("GET", base).status_code == 401
    delivery_id = first["data"][0]["delivery_id"]
    assert api.call("POST", f"{base}/{delivery_id}/replay", headers=foreign).status_code == 404
    cases = [("GET", f"{base}?limit=0", 400), ("GET", f"{base}?status=lost", 400), ("GET", f"{base}?cursor=@@", 400),
             ("GET", f"{base}?cursor=eyJzayI6IlBST0ZJTEUifQ", 400), ("GET", f"{base}?bogus=1", 400),
             ("POST", f"{base}/nope/replay", 400),
             ("POST", f"{base}/msg_00000000-0000-4000-8000-000000000000_validated/replay", 404)]
    for method, path, status in cases:
        r = api.call(method, path, headers=merchant["auth"])
        assert r.status_code == status and r.json["code"].startswith("E_"), (path, r.body)


def test_shop_without_webhook_keeps_no_delivery_records(api, shop, merchant, aws_env, clock):
    post(api, shop, "W-8")
    assert pump(aws_env) == 0, "nothing to retry either"
    assert deliveries(api, shop, merchant) == []


def test_backoff_schedule_spans_the_window_with_jitter():
    import random

    from chalicelib.webhooks.deliveries import next_attempt_at

    cfg = settings()
    for seed in range(20):
        rng, now, failures = random.Random(seed), 0, 0
        while True:
            failures += 1
            at = next_attempt_at(0, now, failures, rng)
            if at is None:
                break
            assert now < at <= cfg.webhook_retry_window_seconds
            assert at - now <= cfg.webhook_retry_cap_seconds
            now = at
        assert now == cfg.webhook_retry_window_seconds >= DAY and 10 <= failures <= 30


class TricklingReceiver:
    """A receiver that reads the request, then answers one byte every ``gap`` seconds (a slowloris answer)."""

    def __init__(self, gap: float) -> None:
        import socket
        import threading

        self.gap = gap
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/hook"
        self.requests = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        import threading

        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.requests += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nx-padding: " + b"." * 200 + b"\r\n\r\n"
            try:
                for byte in answer:
                    conn.sendall(bytes([byte]))
                    time.sleep(self.gap)
            except OSError:
                return

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def short_deadline(monkeypatch) -> Iterator[None]:
    monkeypatch.setenv("BRIDGE_WEBHOOK_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setenv("BRIDGE_WEBHOOK_DEADLINE_SECONDS", "1.0")
    settings.cache_clear()
    yield
    monkeypatch.delenv("BRIDGE_WEBHOOK_TIMEOUT_SECONDS")
    monkeypatch.delenv("BRIDGE_WEBHOOK_DEADLINE_SECONDS")
    settings.cache_clear()
    settings()


def test_a_trickling_receiver_holds_an_attempt_no_longer_than_its_deadline(api, shop, merchant, aws_env, clock,
                                                                            short_deadline):
    slow = TricklingReceiver(gap=0.2)  # each byte well inside the 0.5 s read timeout: only a total deadline ends it
    try:
        assert api.call("PUT", f"/api/v1/shops/{shop['shop_id']}/webhook", {"url": slow.url},
                        merchant["auth"]).status_code == 200
        post(api, shop, "SLOW-1")
        started = time.monotonic()
        pump(aws_env)
        elapsed = time.monotonic() - started
    finally:
        slow.close()
    [attempt] = by_type(api, shop, merchant, "SLOW-1")["validated"]["attempts"]
    assert attempt["status_code"] is None and "deadline" in attempt["error"], attempt
    assert 900 <= attempt["duration_ms"] < 1600 and elapsed < 3, (attempt, elapsed)


def test_one_slow_tenant_does_not_delay_another_tenants_delivery(api, shop, merchant, receiver, aws_env, clock,
                                                                short_deadline):
    from tests.conftest import demo_shop

    other = demo_shop(api, merchant, "Slow shop")
    slow = TricklingReceiver(gap=0.2)
    try:
        assert api.call("PUT", f"/api/v1/shops/{other['shop_id']}/webhook", {"url": slow.url},
                        merchant["auth"]).status_code == 200
        for i in range(3):
            assert api.call("POST", f"/api/v1/shops/{other['shop_id']}/orders", demo_order(f"S-{i}"),
                            {"x-shop-key": other["shop_key"]}).status_code == 201
        post(api, shop, "FAST-1")
        started = time.time()
        pump(aws_env)
        elapsed = time.time() - started
    finally:
        slow.close()
    [fast] = receiver.for_order("FAST-1")
    assert fast.received_at - started < 0.8, "delivered while the slow receiver's attempts were still running"
    assert slow.requests == 3
    assert elapsed < 2.5, f"three 1 s attempts side by side, not one after another ({elapsed:.2f} s)"
