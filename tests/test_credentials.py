"""Credentials that rotate and can be revoked (issue 19, Medium 4 and Low): refresh-token families with
reuse detection, rotation of the API secret, shop key, edge key and webhook secret, and a deleted
shop's keys failing at once even where a container still caches the shop."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chalicelib.auth import merchants
from chalicelib.aws import clients as aws
from chalicelib.core.errors import AuthenticationError
from chalicelib.core.settings import settings
from chalicelib.shops import service as shops
from tests.conftest import demo_order
from tests.test_api_errors import assert_error
from tests.test_edge_results import open_session, printed, report, take_job
from tests.test_webhooks import post, pump


def login(api, creds: dict[str, Any]):
    return api.call("POST", "/api/v1/auth", {"api_key": creds["api_key"], "api_secret": creds["api_secret"]})


def exchange(api, refresh_token: str):
    return api.call("POST", "/api/v1/auth", {"refresh_token": refresh_token})


def unverified(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def tenants_item(pk: str, sk: str) -> dict[str, Any] | None:
    from chalicelib.aws.storage import from_item, key

    response = aws.client("dynamodb").get_item(TableName=settings().table("tenants"), Key=key(pk, sk), ConsistentRead=True)
    return from_item(response["Item"]) if "Item" in response else None


# --- refresh tokens rotate; reuse revokes the family (RFC 9700 §4.14.2) --------------------------

def test_every_token_carries_a_jti_and_an_exchange_spends_the_refresh_token(api, merchant):
    first = login(api, merchant).json
    second = exchange(api, first["refresh_token"])
    assert second.status_code == 200, second.body
    tokens = [first["access_token"], first["refresh_token"], second.json["access_token"], second.json["refresh_token"]]
    jtis = [unverified(t)["jti"] for t in tokens]
    assert len(set(jtis)) == 4 and all(len(j) == 32 for j in jtis)
    assert second.json["refresh_token"] != first["refresh_token"]
    assert_error(exchange(api, first["refresh_token"]), 401, "E_AUTHENTICATION")


def test_reusing_a_spent_refresh_token_revokes_the_whole_family(api, merchant):
    first = login(api, merchant).json
    second = exchange(api, first["refresh_token"]).json
    third = exchange(api, second["refresh_token"]).json
    assert_error(exchange(api, second["refresh_token"]), 401, "E_AUTHENTICATION")  # the thief replays a spent one
    assert_error(exchange(api, third["refresh_token"]), 401, "E_AUTHENTICATION")  # ... so the current one dies too
    other_login = login(api, merchant).json  # another family (a new login) is untouched
    assert exchange(api, other_login["refresh_token"]).status_code == 200


def test_a_refresh_token_without_a_family_is_refused(api, merchant):
    from chalicelib.auth.tokens import TokenKind, issue

    legacy = issue(TokenKind.REFRESH, merchant["merchant_id"], 600).token  # signed, but no family: issued before rotation
    assert_error(exchange(api, legacy), 401, "E_AUTHENTICATION")


def test_two_concurrent_exchanges_of_one_refresh_token_exactly_one_wins(api, merchant):
    """Both exchanges are held just before their write, then let go together: the conditional write
    lets one through. Called below the HTTP layer because Chalice's test client is one request at a time."""
    token = login(api, merchant).json["refresh_token"]
    gate = threading.Barrier(2, timeout=10)

    def hold(params: dict[str, Any], **_: Any) -> None:
        if params.get("UpdateExpression", "").startswith("SET current_jti"):
            gate.wait()

    aws.client("dynamodb").meta.events.register("before-parameter-build.dynamodb.UpdateItem", hold)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            merchants.authenticate(merchants.AuthRequest.model_validate({"refresh_token": token}), "198.51.100.7")
            outcomes.append("won")
        except AuthenticationError:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    aws.client("dynamodb").meta.events.unregister("before-parameter-build.dynamodb.UpdateItem", hold)
    assert sorted(outcomes) == ["refused", "won"]


def test_family_records_expire_with_their_newest_token(api, merchant):
    ttl = aws.client("dynamodb").describe_time_to_live(TableName=settings().table("tenants"))["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")
    first = login(api, merchant).json
    family = unverified(first["refresh_token"])["fam"]
    assert tenants_item(f"RTFAMILY#{family}", "FAMILY")["expires_at"] == first["refresh_token_expires_at"]
    time.sleep(1.01)  # iat has one-second resolution
    second = exchange(api, first["refresh_token"]).json
    assert second["refresh_token_expires_at"] > first["refresh_token_expires_at"]
    assert tenants_item(f"RTFAMILY#{family}", "FAMILY")["expires_at"] == second["refresh_token_expires_at"]


# --- the API secret ------------------------------------------------------------------------------

def test_rotating_the_api_secret_ends_the_old_secret_and_earlier_refresh_tokens(api, merchant):
    before = login(api, merchant).json
    r = api.call("POST", "/api/v1/auth/secret/rotate", {"api_key": merchant["api_key"]}, merchant["auth"])
    assert r.status_code == 200, r.body
    assert set(r.json) == {"api_key", "api_secret", "rotated_at"} and r.json["api_secret"] != merchant["api_secret"]
    assert_error(login(api, merchant), 401, "E_AUTHENTICATION")
    assert_error(exchange(api, before["refresh_token"]), 401, "E_AUTHENTICATION")
    after = login(api, {**merchant, "api_secret": r.json["api_secret"]})
    assert after.status_code == 200 and exchange(api, after.json["refresh_token"]).status_code == 200
    stored = json.dumps(aws.client("dynamodb").scan(TableName=settings().table("tenants"))["Items"])
    assert r.json["api_secret"] not in stored, "shown once: only its digest is kept"


def test_api_secret_rotation_is_owner_only_and_typed(api, merchant):
    other = merchants.create_merchant("Other merchant")
    r = api.call("POST", "/api/v1/auth/secret/rotate", {"api_key": other["api_key"]}, merchant["auth"])
    assert_error(r, 404, "E_API_KEY_NOT_FOUND")
    assert login(api, other).status_code == 200
    assert_error(api.call("POST", "/api/v1/auth/secret/rotate", {"api_key": merchant["api_key"]}), 401,
                 "E_AUTHENTICATION")
    for body in (None, {}, {"api_key": ""}, {"api_key": 5}, {"api_key": "k", "x": 1}, ["k"]):
        r = api.call("POST", "/api/v1/auth/secret/rotate", body, merchant["auth"])
        assert_error(r, 400, "E_FAILED_SCHEMA_VALIDATION")


# --- the shop key --------------------------------------------------------------------------------

def order(api, shop, shop_key: str, order_id: str):
    return api.call("POST", f"/api/v1/shops/{shop['shop_id']}/orders", demo_order(order_id), {"x-shop-key": shop_key})


def test_rotated_shop_key_fails_at_once_even_in_a_container_that_cached_the_shop(api, shop, merchant):
    assert order(api, shop, shop["shop_key"], "K-1").status_code == 201
    stale = shops._cache[shop["shop_id"]]  # what another warm container still holds
    r = api.call("POST", f"/api/v1/shops/{shop['shop_id']}/keys/shop_key/rotate", headers=merchant["auth"])
    assert r.status_code == 200 and set(r.json) == {"shop_id", "shop_key"}, r.body
    shops._cache[shop["shop_id"]] = stale
    assert_error(order(api, shop, shop["shop_key"], "K-2"), 401, "E_AUTHENTICATION")
    assert_error(api.call("GET", f"/api/v1/shops/{shop['shop_id']}/orders/K-1", headers={"x-shop-key": shop["shop_key"]}),
                 401, "E_AUTHENTICATION")
    assert order(api, shop, r.json["shop_key"], "K-2").status_code == 201
    shown = api.call("GET", f"/api/v1/shops/{shop['shop_id']}", headers=merchant["auth"]).json
    assert r.json["shop_key"] not in json.dumps(shown)


def test_a_deleted_shops_key_fails_at_once_in_a_container_that_cached_the_shop(api, shop, merchant):
    assert order(api, shop, shop["shop_key"], "D-1").status_code == 201
    stale = shops._cache[shop["shop_id"]]
    assert api.call("DELETE", f"/api/v1/shops/{shop['shop_id']}", headers=merchant["auth"]).status_code == 204
    shops._cache[shop["shop_id"]] = stale
    assert_error(order(api, shop, shop["shop_key"], "D-2"), 401, "E_AUTHENTICATION")


def test_the_shop_key_check_of_an_order_costs_no_request(api, shop, aws_calls):
    """Order intake checks the key inside its own transaction (a ConditionCheck on the profile item), so a warm
    request makes no read for it; a cold one reads the profile with its Query as before."""
    shops._cache.clear()
    assert order(api, shop, shop["shop_key"], "M-1").status_code == 201
    cold = list(aws_calls)
    aws_calls.clear()
    assert order(api, shop, shop["shop_key"], "M-2").status_code == 201
    cold, warm = [c for c in cold if c.startswith("dynamodb.")], [c for c in aws_calls if c.startswith("dynamodb.")]
    assert cold == ["dynamodb.Query", "dynamodb.TransactWriteItems"]
    assert warm == ["dynamodb.TransactWriteItems"]


# --- the edge key --------------------------------------------------------------------------------

def test_rotating_the_edge_key_ends_the_old_key_and_its_sessions_at_once(api, shop, merchant):
    job = take_job(api, shop, "E-1")
    old_session = open_session(api, shop)
    r = api.call("POST", f"/api/v1/shops/{shop['shop_id']}/keys/edge_key/rotate", headers=merchant["auth"])
    assert r.status_code == 200 and set(r.json) == {"shop_id", "edge_key"}, r.body
    assert_error(api.call("POST", "/api/v1/edge/session", {"edge_key": shop["edge_key"]}), 401, "E_AUTHENTICATION")
    assert_error(report(api, old_session, printed(job)), 401, "E_AUTHENTICATION")
    new_session = open_session(api, {**shop, "edge_key": r.json["edge_key"]})
    assert report(api, new_session, printed(job)).json["order_status"] == "terminated"
    assert_error(report(api, old_session, printed(job)), 401, "E_AUTHENTICATION")  # not even as a duplicate


def test_rotating_the_edge_key_ends_the_old_sessions_queue_access(api, shop, merchant):
    """An edge session's AWS credentials hold a session policy that allows the queue only while its
    edge-key tag is the session's stamp; a rotation retags the queue. (IAM evaluates the condition on
    AWS; here the test compares what the policy demands with what the queue carries.)"""
    policies: list[dict[str, Any]] = []
    aws.client("sts").meta.events.register("before-parameter-build.sts.AssumeRole",
                                           lambda params, **_: policies.append(json.loads(params["Policy"])))

    def queue_tag() -> str | None:
        return aws.client("sqs").list_queue_tags(QueueUrl=shop["queue_url"]).get("Tags", {}).get("edge_key")

    def demanded(policy: dict[str, Any]) -> set[str]:
        return {s["Condition"]["StringEqualsIfExists"]["aws:ResourceTag/edge_key"] for s in policy["Statement"]}

    open_session(api, shop)
    assert demanded(policies[0]) == {queue_tag()}
    rotated = api.call("POST", f"/api/v1/shops/{shop['shop_id']}/keys/edge_key/rotate", headers=merchant["auth"]).json
    assert demanded(policies[0]) != {queue_tag()}, "the old session's credentials no longer match the queue"
    open_session(api, {**shop, "edge_key": rotated["edge_key"]})
    assert demanded(policies[1]) == {queue_tag()}


def test_a_deleted_shops_edge_session_fails_at_once(api, shop, merchant):
    job = take_job(api, shop, "E-2")
    session = open_session(api, shop)
    stale = shops._cache[shop["shop_id"]]
    assert api.call("DELETE", f"/api/v1/shops/{shop['shop_id']}", headers=merchant["auth"]).status_code == 204
    assert_error(report(api, session, printed(job)), 401, "E_AUTHENTICATION")
    shops._cache[shop["shop_id"]] = stale  # a container that still caches the shop: its write is refused
    assert_error(report(api, session, printed(job)), 401, "E_AUTHENTICATION")
    from chalicelib.orders.service import get_order

    assert get_order(shop["shop_id"], "E-2")["status"] == "validated"  # nothing was written


def test_an_edge_token_without_a_key_stamp_is_refused(api, shop):
    from chalicelib.auth.tokens import TokenKind, issue

    job = take_job(api, shop, "E-3")
    unstamped = issue(TokenKind.EDGE, shop["shop_id"], 600).token  # signed, but from before sessions were stamped
    assert_error(report(api, {"token": unstamped}, printed(job)), 401, "E_AUTHENTICATION")


@pytest.mark.parametrize("key", ["shop_key", "edge_key"])
def test_key_rotation_is_owner_only_and_typed(api, shop, merchant, key):
    other = merchants.create_merchant("Other merchant")
    other_auth = {"authorization": f"Bearer {login(api, other).json['access_token']}"}
    path = f"/api/v1/shops/{shop['shop_id']}/keys/{key}/rotate"
    assert_error(api.call("POST", path, headers=other_auth), 404, "E_SHOP_NOT_FOUND")
    assert_error(api.call("POST", path), 401, "E_AUTHENTICATION")
    assert_error(api.call("POST", f"/api/v1/shops/not-a-uuid/keys/{key}/rotate", headers=merchant["auth"]), 400,
                 "E_FAILED_SCHEMA_VALIDATION")
    assert_error(api.call("POST", f"/api/v1/shops/{uuid.uuid4()}/keys/{key}/rotate", headers=merchant["auth"]), 404,
                 "E_SHOP_NOT_FOUND")
    assert api.call("DELETE", f"/api/v1/shops/{shop['shop_id']}", headers=merchant["auth"]).status_code == 204
    assert_error(api.call("POST", path, headers=merchant["auth"]), 404, "E_SHOP_NOT_FOUND")


# --- the webhook secret: both sign during the grace period ---------------------------------------

class Recorder:
    """Records each webhook request's raw body and headers, answering 204."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
                recorder.requests.append((raw, dict(self.headers.items())))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    hooks = Recorder()
    yield hooks
    hooks.server.shutdown()
    hooks.server.server_close()


def accepts(secret: str, request: tuple[str, dict[str, str]]) -> bool:
    try:
        Webhook(secret).verify(*request)
    except WebhookVerificationError:
        return False
    return True


def test_webhook_secret_rotation_signs_with_both_secrets_until_the_grace_ends(api, shop, merchant, recorder, aws_env,
                                                                               clock):
    old = api.call("PUT", f"/api/v1/shops/{shop['shop_id']}/webhook", {"url": recorder.url}, merchant["auth"]).json["secret"]
    r = api.call("POST", f"/api/v1/shops/{shop['shop_id']}/webhook/secret/rotate", None, merchant["auth"])
    assert r.status_code == 200, r.body
    new = r.json["secret"]
    assert new.startswith("whsec_") and new != old and r.json["previous_secret_valid_until"] == clock.now + 86400
    post(api, shop, "G-1")
    pump(aws_env)
    [during] = recorder.requests
    assert len(during[1]["webhook-signature"].split(" ")) == 2
    assert accepts(old, during) and accepts(new, during)  # a receiver holding either secret accepts
    clock.now += 86400 + 1
    post(api, shop, "G-2")
    pump(aws_env)
    [_, after] = recorder.requests
    assert accepts(new, after) and not accepts(old, after)
    assert len(after[1]["webhook-signature"].split(" ")) == 1


def test_webhook_grace_is_configurable_per_rotation(api, shop, merchant, recorder, aws_env, clock):
    old = api.call("PUT", f"/api/v1/shops/{shop['shop_id']}/webhook", {"url": recorder.url}, merchant["auth"]).json["secret"]
    r = api.call("POST", f"/api/v1/shops/{shop['shop_id']}/webhook/secret/rotate", {"grace_seconds": 0}, merchant["auth"])
    assert r.status_code == 200 and r.json["previous_secret_valid_until"] == clock.now, r.body
    post(api, shop, "G-3")
    pump(aws_env)
    [request] = recorder.requests
    assert accepts(r.json["secret"], request) and not accepts(old, request)


def test_webhook_secret_rotation_is_typed(api, shop, merchant):
    path = f"/api/v1/shops/{shop['shop_id']}/webhook/secret/rotate"
    assert_error(api.call("POST", path, {}, merchant["auth"]), 409, "E_CONFLICT")  # no webhook yet
    api.call("PUT", f"/api/v1/shops/{shop['shop_id']}/webhook", {"url": "http://127.0.0.1:9/hook"}, merchant["auth"])
    for body in ({"grace_seconds": -1}, {"grace_seconds": 8 * 86400}, {"grace_seconds": "1"}, {"x": 1}, [1]):
        assert_error(api.call("POST", path, body, merchant["auth"]), 400, "E_FAILED_SCHEMA_VALIDATION")
    assert_error(api.call("POST", path, raw=b"{"), 401, "E_AUTHENTICATION")
    assert_error(api.call("POST", path, raw=b"{", headers=merchant["auth"]), 400, "E_FAILED_SCHEMA_VALIDATION")
    assert api.call("POST", path, {"grace_seconds": 60}, merchant["auth"]).status_code == 200
