"""The fleet view through HTTP: heartbeats, the owner's view of the shop's edge, and the merchant's
``device.warning`` / ``device.warning_cleared`` / ``edge.offline`` webhooks (DESIGN §4.4, §5), signed as the
order events are and verified by the Standard Webhooks library in the receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.pump import scheduled_event
from devstack.receiver import WebhookReceiver
from tests.conftest import demo_shop
from tests.test_webhooks import pump

FLEET_EVENTS = ["device.warning", "device.warning_cleared", "edge.offline"]
PRINTER = {"id": "dev-1", "name": "Till printer", "manufacturer": "Datecs", "model": "FP-700X", "status": "online"}


def beat(*warnings: str, jobs: int = 0, results: int = 0, sales: int = 0, **device: Any) -> dict[str, Any]:
    return {"version": "1.4.2", "devices": [{**PRINTER, **device, "warnings": list(warnings)}],
            "backlog": {"jobs": jobs, "results": results, "sales": sales}}


def edge_token(api, shop) -> str:
    r = api.call("POST", "/api/v1/edge/session", {"edge_key": shop["edge_key"]})
    assert r.status_code == 200, r.body
    return r.json["token"]


def send(api, token: str, body: Any = None, raw: bytes | None = None):
    return api.call("POST", "/api/v1/edge/heartbeat", body, {"authorization": f"Bearer {token}"}, raw=raw)


def view(api, shop, merchant) -> dict[str, Any]:
    r = api.call("GET", f"/api/v1/shops/{shop['shop_id']}/edge", headers=merchant["auth"])
    assert r.status_code == 200, r.body
    return r.json


def watch(aws_env) -> int:
    """The 1-minute schedule, then the webhook queue's consumer."""
    from app import watch_edges

    watch_edges(scheduled_event("eu-central-1"), None)
    return pump(aws_env)


@pytest.fixture
def fleet_hooks(api, shop, merchant) -> Iterator[WebhookReceiver]:
    """The shop's webhook, subscribed to the fleet events."""
    hooks = WebhookReceiver()
    r = api.call("PUT", f"/api/v1/shops/{shop['shop_id']}/webhook", {"url": hooks.start(), "events": FLEET_EVENTS},
                 merchant["auth"])
    assert r.status_code == 200, r.body
    assert r.json["events"] == FLEET_EVENTS
    hooks.secret = r.json["secret"]
    yield hooks
    hooks.stop()


def queued_events(aws_env) -> list[dict[str, Any]]:
    """Take every event off the webhook queue (deleting each, so a subject's next event comes out after it)."""
    from chalicelib.aws import clients as aws

    sqs, url, found = aws.client("sqs"), aws_env["webhooks.fifo"], []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", []):
        found += [json.loads(m["Body"])["payload"] for m in batch]
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                                                        for n, m in enumerate(batch)])
    return found


def fleet_events(hooks: WebhookReceiver) -> list[dict[str, Any]]:
    return [d.body for d in hooks.deliveries]


def test_the_owner_sees_the_edge_online_until_two_minutes_of_silence(api, shop, merchant, clock):
    assert view(api, shop, merchant) == {"online": False, "last_seen": None, "version": None, "devices": [],
                                         "backlog": None}
    r = send(api, edge_token(api, shop), beat("W_PAPER_NEAR_END", jobs=3, results=1, sales=7))
    assert r.status_code == 200 and r.json == {"last_seen": clock.now}, r.body
    seen = clock.now
    assert view(api, shop, merchant) == {
        "online": True, "last_seen": seen, "version": "1.4.2",
        "devices": [{**PRINTER, "warnings": ["W_PAPER_NEAR_END"]}],
        "backlog": {"jobs": 3, "results": 1, "sales": 7}}
    clock.now = seen + 119
    assert view(api, shop, merchant)["online"] is True
    clock.now = seen + 120
    edge = view(api, shop, merchant)
    assert edge["online"] is False and edge["last_seen"] == seen, "silence for 2 minutes is offline"
    r = send(api, edge_token(api, shop), beat(status="offline"))
    assert r.status_code == 200
    edge = view(api, shop, merchant)
    assert edge["online"] is True and edge["last_seen"] == seen + 120 and edge["devices"][0]["status"] == "offline"


def test_only_the_owner_sees_a_shops_edge(api, shop, merchant):
    from chalicelib.auth.merchants import create_merchant

    send(api, edge_token(api, shop), beat())
    creds = create_merchant("Other merchant")
    token = api.call("POST", "/api/v1/auth", {"api_key": creds["api_key"], "api_secret": creds["api_secret"]}).json
    other = {"authorization": f"Bearer {token['access_token']}"}
    r = api.call("GET", f"/api/v1/shops/{shop['shop_id']}/edge", headers=other)
    assert r.status_code == 404 and r.json["code"] == "E_SHOP_NOT_FOUND"
    r = api.call("GET", "/api/v1/shops/4f9c3a52-1f0e-4c55-9a55-0a6cbd2c7e11/edge", headers=merchant["auth"])
    assert r.status_code == 404 and r.json["code"] == "E_SHOP_NOT_FOUND", "another's shop looks like none"
    assert api.call("GET", f"/api/v1/shops/{shop['shop_id']}/edge").status_code == 401
    edge = {"authorization": f"Bearer {edge_token(api, shop)}"}
    assert api.call("GET", f"/api/v1/shops/{shop['shop_id']}/edge", headers=edge).status_code == 401
    r = api.call("GET", "/api/v1/shops/not-a-shop/edge", headers=merchant["auth"])
    assert r.status_code == 400 and r.json["code"] == "E_FAILED_SCHEMA_VALIDATION"


def test_only_a_current_edge_session_may_beat(api, shop, merchant):
    old = edge_token(api, shop)
    assert send(api, merchant["auth"]["authorization"].removeprefix("Bearer "), beat()).status_code == 401
    assert api.call("POST", "/api/v1/edge/heartbeat", beat()).status_code == 401
    rotated = api.call("POST", f"/api/v1/shops/{shop['shop_id']}/keys/edge_key/rotate", headers=merchant["auth"])
    assert rotated.status_code == 200
    r = send(api, old, beat())
    assert r.status_code == 401 and r.json["code"] == "E_AUTHENTICATION", "a rotated key's session ends at once"
    assert view(api, shop, merchant)["last_seen"] is None
    current = edge_token(api, {**shop, "edge_key": rotated.json["edge_key"]})
    assert send(api, current, beat()).status_code == 200
    assert api.call("DELETE", f"/api/v1/shops/{shop['shop_id']}", headers=merchant["auth"]).status_code == 204
    assert send(api, current, beat()).status_code == 401, "a deleted shop's edge is refused"


@pytest.mark.parametrize("body, why", [
    ({**beat(), "devices": [{**PRINTER, "id": f"d{n}", "warnings": []} for n in range(17)]}, "more than 16 devices"),
    (beat(*[f"W_CODE_{n}" for n in range(17)]), "more than 16 warnings"),
    (beat("paper low"), "not a warning code"),
    (beat("E_PAPER"), "not a warning code"),
    (beat("W_PAPER_NEAR_END", "W_PAPER_NEAR_END"), "a code twice"),
    ({**beat(), "devices": [{**PRINTER, "warnings": []}] * 2}, "a device twice"),
    (beat(jobs=-1), "a negative backlog"),
    (beat(sales=10**10), "an absurd backlog"),
    (beat(jobs=1.5), "a fractional count"),
    (beat(status="on fire"), "an unknown status"),
    (beat(name="x" * 65), "a name too long"),
    (beat(name="bad\u0007bell"), "a control character"),
    (beat(id="a/b"), "a device id outside the identifier set"),
    ({**beat(), "version": ""}, "no version"),
    ({**beat(), "last_seen": 1}, "a field the contract lacks"),
    ({"devices": [], "backlog": {"jobs": 0, "results": 0, "sales": 0}}, "no version"),
    ([], "not an object"),
])
def test_hostile_heartbeats_are_refused_and_change_nothing(api, shop, merchant, body, why):
    token = edge_token(api, shop)
    r = send(api, token, body)
    assert r.status_code == 400 and r.json["code"] == "E_FAILED_SCHEMA_VALIDATION", (why, r.body)
    assert view(api, shop, merchant)["last_seen"] is None, why


def test_an_oversized_or_broken_heartbeat_is_refused(api, shop, merchant):
    token = edge_token(api, shop)
    huge = json.dumps({**beat(), "version": "1" * 40, "pad": "x" * 40_000}).encode()
    for raw in (huge, b"{not json", b"", b"\xff\xfe"):
        r = send(api, token, raw=raw)
        assert r.status_code == 400 and r.json["code"] == "E_FAILED_SCHEMA_VALIDATION", r.body
    assert view(api, shop, merchant)["last_seen"] is None


def test_a_warning_is_told_once_when_it_appears_and_once_when_it_goes(api, shop, merchant, fleet_hooks, aws_env, clock):
    token = edge_token(api, shop)
    assert send(api, token, beat()).status_code == 200
    assert send(api, token, beat("W_PAPER_NEAR_END")).status_code == 200
    raised_at = clock.now
    for _ in range(3):
        clock.now += 60
        assert send(api, token, beat("W_PAPER_NEAR_END")).status_code == 200
    pump(aws_env)
    [raised] = fleet_events(fleet_hooks)
    assert raised == {"type": "device.warning", "eventID": raised["eventID"], "cashBoxID": shop["shop_id"],
                      "deviceID": "dev-1", "deviceName": "Till printer", "manufacturer": "Datecs",
                      "model": "FP-700X", "code": "W_PAPER_NEAR_END", "since": raised_at}
    assert fleet_hooks.deliveries[0].webhook_id == f"msg_{raised['eventID']}_device.warning"
    assert fleet_hooks.rejected == 0

    clock.now += 60
    assert send(api, token, beat("W_COVER_OPEN")).status_code == 200
    pump(aws_env)
    later = fleet_events(fleet_hooks)[1:]  # two subjects, delivered side by side: in no fixed order
    assert sorted((e["type"], e["code"]) for e in later) == [
        ("device.warning", "W_COVER_OPEN"), ("device.warning_cleared", "W_PAPER_NEAR_END")]
    [cleared] = [e for e in later if e["type"] == "device.warning_cleared"]
    assert cleared["eventID"] == raised["eventID"] and cleared["clearedAt"] == clock.now

    clock.now += 60
    assert send(api, token, beat("W_COVER_OPEN", "W_PAPER_NEAR_END")).status_code == 200
    pump(aws_env)
    [again] = fleet_events(fleet_hooks)[3:]
    assert (again["type"], again["code"], again["since"]) == ("device.warning", "W_PAPER_NEAR_END", clock.now)
    assert again["eventID"] != raised["eventID"], "a warning that comes back is a new warning"
    assert len({d.webhook_id for d in fleet_hooks.deliveries}) == len(fleet_hooks.deliveries) == 4


def test_two_heartbeats_that_see_the_same_new_warning_tell_it_once(api, shop, merchant, fleet_hooks, aws_env, clock,
                                                                   monkeypatch):
    """Heartbeat A has stored itself and is about to write the new warning to the ledger when heartbeat B comes,
    sees the same ledger and writes first: A's conditional write finds it done, and A tells nothing."""
    from chalicelib.fleet import store

    token = edge_token(api, shop)
    send(api, token, beat())
    real, writes = store.write_alerts, []

    def b_overtakes_a(*args: Any, **kwargs: Any) -> bool:
        if not writes:
            writes.append("B starts")
            assert send(api, token, beat("W_FISCAL_MEMORY_NEAR_FULL")).status_code == 200
        written = real(*args, **kwargs)
        writes.append(written)
        return written

    monkeypatch.setattr(store, "write_alerts", b_overtakes_a)
    assert send(api, token, beat("W_FISCAL_MEMORY_NEAR_FULL")).status_code == 200
    assert writes == ["B starts", True, False], "B's write went through; A's found it done"
    pump(aws_env)
    assert [e["code"] for e in fleet_events(fleet_hooks)] == ["W_FISCAL_MEMORY_NEAR_FULL"]


def test_a_warning_not_queued_is_queued_by_the_next_heartbeat_under_the_same_id(api, shop, merchant, fleet_hooks,
                                                                                 aws_env, clock, monkeypatch):
    from chalicelib.fleet import events

    token = edge_token(api, shop)
    real = events.publish
    monkeypatch.setattr(events, "publish", lambda messages: set(range(len(messages))))  # SQS took none
    assert send(api, token, beat("W_Z_REPORT_DUE")).status_code == 200
    assert pump(aws_env) == 0
    monkeypatch.setattr(events, "publish", real)
    clock.now += 60
    assert send(api, token, beat("W_Z_REPORT_DUE")).status_code == 200
    clock.now += 60
    assert send(api, token, beat("W_Z_REPORT_DUE")).status_code == 200
    pump(aws_env)
    [event] = fleet_events(fleet_hooks)
    assert (event["code"], event["since"]) == ("W_Z_REPORT_DUE", clock.now - 120), "the appearance, not the retry"


def test_the_edge_going_silent_is_told_once_per_outage(api, shop, merchant, fleet_hooks, aws_env, clock):
    token = edge_token(api, shop)
    send(api, token, beat())
    seen = clock.now
    clock.now = seen + 119
    assert watch(aws_env) == 0 and fleet_events(fleet_hooks) == []
    clock.now = seen + 120
    watch(aws_env)
    [offline] = fleet_events(fleet_hooks)
    assert offline == {"type": "edge.offline", "eventID": offline["eventID"], "cashBoxID": shop["shop_id"],
                       "lastSeen": seen, "offlineSince": seen + 120}
    for minutes in range(1, 4):
        clock.now = seen + 120 + 60 * minutes
        watch(aws_env)
    assert len(fleet_events(fleet_hooks)) == 1, "one outage, one event"

    send(api, token, beat())
    back = clock.now
    clock.now = back + 300
    watch(aws_env)
    assert [e["lastSeen"] for e in fleet_events(fleet_hooks)] == [seen, back], "a second outage is told again"
    assert fleet_hooks.deliveries[0].webhook_id != fleet_hooks.deliveries[1].webhook_id


def test_a_sweep_that_stops_after_its_claim_is_finished_by_the_next(api, shop, merchant, fleet_hooks, aws_env, clock,
                                                                      monkeypatch):
    from chalicelib.fleet import events

    send(api, edge_token(api, shop), beat())
    seen, real = clock.now, events.publish
    clock.now = seen + 150

    def crash(messages):
        raise RuntimeError("the Lambda stopped here")

    monkeypatch.setattr(events, "publish", crash)
    with pytest.raises(RuntimeError):
        watch(aws_env)
    monkeypatch.setattr(events, "publish", real)
    clock.now = seen + 180
    watch(aws_env)
    assert fleet_events(fleet_hooks) == [], "still leased to the stopped sweep"
    clock.now = seen + 150 + 60
    watch(aws_env)
    [offline] = fleet_events(fleet_hooks)
    assert (offline["lastSeen"], offline["offlineSince"]) == (seen, seen + 120), "the outage keeps its identity"
    clock.now += 600
    watch(aws_env)
    assert len(fleet_events(fleet_hooks)) == 1


def test_fleet_events_go_only_to_shops_that_subscribed(api, merchant, aws_env, clock):
    plain = demo_shop(api, merchant, "Orders only")
    hooks = WebhookReceiver()
    r = api.call("PUT", f"/api/v1/shops/{plain['shop_id']}/webhook", {"url": hooks.start()}, merchant["auth"])
    assert r.status_code == 200 and r.json["events"] == ["validated", "terminated", "failed"]
    hooks.secret = r.json["secret"]
    try:
        send(api, edge_token(api, plain), beat("W_COVER_OPEN"))
        clock.now += 600
        watch(aws_env)
        assert hooks.requests == 0
        r = api.call("PUT", f"/api/v1/shops/{plain['shop_id']}/webhook",
                      {"url": "https://example.com/h", "events": ["edge.offline", "edge.offline"]}, merchant["auth"])
        assert r.status_code == 400
        r = api.call("PUT", f"/api/v1/shops/{plain['shop_id']}/webhook",
                      {"url": "https://example.com/h", "events": ["printer.exploded"]}, merchant["auth"])
        assert r.status_code == 400
    finally:
        hooks.stop()


def test_a_deleted_shops_silent_edge_is_forgotten(api, shop, merchant, fleet_hooks, aws_env, clock, aws_calls):
    send(api, edge_token(api, shop), beat())
    assert api.call("DELETE", f"/api/v1/shops/{shop['shop_id']}", headers=merchant["auth"]).status_code == 204
    clock.now += 600
    watch(aws_env)
    del aws_calls[:]
    watch(aws_env)
    assert fleet_hooks.requests == 0
    assert aws_calls.count("dynamodb.Query") == 4 and "dynamodb.UpdateItem" not in aws_calls, "out of the index"


def test_fleet_deliveries_are_in_the_log_and_can_be_replayed(api, shop, merchant, fleet_hooks, aws_env, clock):
    send(api, edge_token(api, shop), beat("W_CLOCK_DRIFT"))
    pump(aws_env)
    [delivery] = fleet_hooks.deliveries
    r = api.call("GET", f"/api/v1/shops/{shop['shop_id']}/webhook/deliveries", headers=merchant["auth"])
    [logged] = r.json["data"]
    assert (logged["delivery_id"], logged["type"], logged["status"], logged["order_id"]) == \
        (delivery.webhook_id, "device.warning", "delivered", None)
    r = api.call("POST", f"/api/v1/shops/{shop['shop_id']}/webhook/deliveries/{delivery.webhook_id}/replay",
                 headers=merchant["auth"])
    assert r.status_code == 202, r.body
    pump(aws_env)
    assert [d.webhook_id for d in fleet_hooks.deliveries] == [delivery.webhook_id] * 2
    assert fleet_hooks.rejected == 0, "signed with the shop's secret, as the order events are"


def test_aws_requests_per_heartbeat(api, shop, merchant, fleet_hooks, aws_env, clock, aws_calls):
    """Steady state: one UpdateItem. A warning that appears: the ledger write, one SendMessageBatch, the
    settle. The owner's view: one GetItem. Numbers for the report (bench/fleet_requests.py multiplies them)."""
    token = edge_token(api, shop)
    send(api, token, beat())
    del aws_calls[:]
    send(api, token, beat())
    assert aws_calls == ["dynamodb.UpdateItem"]
    del aws_calls[:]
    send(api, token, beat("W_PAPER_NEAR_END"))
    once_per_container = "sqs.GetQueueUrl"
    assert [c for c in aws_calls if c != once_per_container] == \
        ["dynamodb.UpdateItem", "dynamodb.UpdateItem", "sqs.SendMessageBatch", "dynamodb.UpdateItem"]
    del aws_calls[:]
    view(api, shop, merchant)
    assert aws_calls == ["dynamodb.GetItem"]


def test_a_heartbeat_full_of_warnings_is_told_over_the_next_heartbeats_once_each(api, shop, merchant, fleet_hooks,
                                                                                  aws_env, clock):
    """16 devices with 16 warnings each (the contract's caps): every heartbeat is taken, and each warning is queued
    once, at most 16 a heartbeat; clearing them all is queued the same way. Every expression stays within
    DynamoDB's 4 KB (which moto does not enforce). The events are read off the webhook queue: their delivery is
    the order events' code, tested in tests/test_webhooks.py."""
    from chalicelib.aws import clients as aws

    longest: list[int] = [0]

    def measure(params: dict[str, Any], **_: Any) -> None:
        for name in ("UpdateExpression", "ConditionExpression"):
            longest[0] = max(longest[0], len(params.get(name, "").encode()))

    aws.client("dynamodb").meta.events.register("before-parameter-build.dynamodb.UpdateItem", measure)
    codes = [f"W_CODE_{n}" for n in range(16)]
    full = {**beat(), "devices": [{**PRINTER, "id": f"dev-{d}", "warnings": codes} for d in range(16)]}
    token = edge_token(api, shop)
    for _ in range(17):
        assert send(api, token, full).status_code == 200
    raised = queued_events(aws_env)
    told = [(e["type"], e["deviceID"], e["code"]) for e in raised]
    assert len(told) == len(set(told)) == 256 and {kind for kind, _, _ in told} == {"device.warning"}
    for _ in range(17):
        assert send(api, token, beat()).status_code == 200
    cleared = queued_events(aws_env)
    assert sorted((e["type"], e["eventID"]) for e in cleared) == \
        sorted(("device.warning_cleared", e["eventID"]) for e in raised), "each warning cleared once"
    assert 0 < longest[0] <= 4096


def test_the_console_shows_the_shops_edge_from_the_fleet_view(api, shop, merchant, clock):
    from tests.test_console import Browser

    browser = Browser(api)
    assert browser.log_in(merchant).status_code == 303
    page = browser.get(f"/console/shops/{shop['shop_id']}").text
    assert "Till (edge)" in page and "no heartbeat yet" in page
    send(api, edge_token(api, shop), beat("W_COVER_OPEN", jobs=2, sales=1))
    page = browser.get(f"/console/shops/{shop['shop_id']}").text
    assert ">online<" in page and "<li>W_COVER_OPEN</li>" in page and "2 jobs, 0 results, 1 sales" in page
    clock.now += 120
    assert ">offline<" in browser.get(f"/console/shops/{shop['shop_id']}").text
