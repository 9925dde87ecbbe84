"""Pairing a till by code (issue 23 point 2, DESIGN §4.4), through HTTP: issue, exchange once, refuse the rest."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from chalice.local import LambdaEventConverter

from chalicelib.auth import rate_limits
from chalicelib.aws import clients as aws
from chalicelib.core.settings import settings
from tests.conftest import FakeClock, demo_shop
from tests.test_api_errors import assert_error

CODE = re.compile(r"^[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}$")


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock(int(time.time()) // 60 * 60 + 5)  # five seconds into a rate-limit window
    monkeypatch.setattr("chalicelib.core.clock.now", fake)
    return fake


def issue(api, merchant: dict[str, Any], shop_id: str) -> Any:
    return api.call("POST", f"/api/v1/shops/{shop_id}/edge/pairing", None, merchant["auth"])


def pair(api, code: str) -> Any:
    return api.call("POST", "/api/v1/edge/pair", {"code": code})


def session(api, edge_key: str) -> Any:
    return api.call("POST", "/api/v1/edge/session", {"edge_key": edge_key})


def test_a_code_pairs_a_till_once_with_a_new_edge_key(clock, api, merchant, shop):
    issued = issue(api, merchant, shop["shop_id"])
    assert issued.status_code == 200, issued.body
    assert CODE.match(issued.json["code"]), issued.json
    assert issued.json["expires_at"] == clock.now + 15 * 60

    typed = issued.json["code"].lower().replace("-", " ")  # a person types it in any case, with spaces
    paired = pair(api, typed)
    assert paired.status_code == 200, paired.body
    assert paired.json["shop_id"] == shop["shop_id"]
    assert paired.json["api_base"] == settings().public_base_url.rstrip("/")
    assert paired.json["edge_key"].startswith("edk_") and paired.json["edge_key"] != shop["edge_key"]

    assert session(api, paired.json["edge_key"]).status_code == 200  # the till's key opens sessions
    assert_error(session(api, shop["edge_key"]), 401, "E_AUTHENTICATION")  # the till paired before is retired
    assert_error(pair(api, issued.json["code"]), 400, "E_PAIRING_CODE_INVALID")  # used


def test_an_expired_code_is_refused_and_stays_refused(clock, api, merchant, shop):
    code = issue(api, merchant, shop["shop_id"]).json["code"]
    clock.now += 15 * 60
    assert_error(pair(api, code), 400, "E_PAIRING_CODE_INVALID")
    assert session(api, shop["edge_key"]).status_code == 200  # nothing changed


@pytest.mark.parametrize("code", ["2345-6789-ABCD", "0000-0000-0000", "I0U1", "", "x" * 64, "2345-6789-ABCD-E"])
def test_unknown_or_malformed_codes_get_the_same_answer(clock, api, shop, code):
    assert_error(pair(api, code), 400, "E_PAIRING_CODE_INVALID" if code else "E_FAILED_SCHEMA_VALIDATION")


@pytest.mark.parametrize("body", [{"code": 123456}, {"code": "2345-6789-ABCD", "shop_id": "x"}, ["code"],
                                  {"code": "y" * 65}])
def test_hostile_bodies_are_schema_errors(clock, api, body):
    assert_error(pair(api, body), 400, "E_FAILED_SCHEMA_VALIDATION")


def test_only_the_shops_owner_issues_codes(clock, api, merchant, shop):
    from chalicelib.auth.merchants import create_merchant

    other = create_merchant("Other merchant")
    token = api.call("POST", "/api/v1/auth", {"api_key": other["api_key"], "api_secret": other["api_secret"]}).json
    assert_error(issue(api, {"auth": {"authorization": f"Bearer {token['access_token']}"}}, shop["shop_id"]),
                 404, "E_SHOP_NOT_FOUND")
    assert_error(api.call("POST", f"/api/v1/shops/{shop['shop_id']}/edge/pairing"), 401, "E_AUTHENTICATION")


def test_a_deleted_shops_code_is_refused(clock, api, merchant, shop):
    code = issue(api, merchant, shop["shop_id"]).json["code"]
    assert api.call("DELETE", f"/api/v1/shops/{shop['shop_id']}", None, merchant["auth"]).status_code == 204
    assert_error(pair(api, code), 400, "E_PAIRING_CODE_INVALID")


def test_two_tills_racing_with_one_code_one_wins(clock, api, merchant, shop):
    """Till B's whole exchange runs between till A's read of the code and A's transaction: both saw a live
    code, the conditional write lets one of them have it."""
    code = issue(api, merchant, shop["shop_id"]).json["code"]
    second: list[Any] = []

    def till_b_first(**_: Any) -> None:
        if not second:
            second.append(None)
            second[0] = pair(api, code)

    dynamodb = aws.client("dynamodb")
    dynamodb.meta.events.register("before-call.dynamodb.TransactWriteItems", till_b_first)
    try:
        first = pair(api, code)
    finally:
        dynamodb.meta.events.unregister("before-call.dynamodb.TransactWriteItems", till_b_first)
    assert second[0].status_code == 200, second[0].body
    assert_error(first, 400, "E_PAIRING_CODE_INVALID")
    assert session(api, second[0].json["edge_key"]).status_code == 200


def test_codes_are_stored_hashed_with_their_expiry_as_ttl(clock, api, merchant, shop):
    code = issue(api, merchant, shop["shop_id"]).json["code"]
    items = aws.client("dynamodb").scan(TableName=settings().table("tenants"))["Items"]
    stored = [i for i in items if i["pk"]["S"].startswith("PAIRCODE#")]
    assert len(stored) == 1 and stored[0]["expires_at"]["N"] == str(clock.now + 15 * 60)
    flat = repr(items)
    assert code not in flat and code.replace("-", "") not in flat


def test_pair_attempts_are_rate_limited_per_source_ip(clock, api, merchant, shop, monkeypatch):
    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", "203.0.113.7")
    code = issue(api, merchant, shop["shop_id"]).json["code"]
    for i in range(rate_limits.PAIR_PER_IP.requests):
        assert_error(pair(api, f"2345-6789-{i:04d}".replace("0", "A").replace("1", "B")), 400, "E_PAIRING_CODE_INVALID")
    limited = pair(api, code)  # even the right code waits: a guesser cannot tell a hit from the limit
    assert_error(limited, 429, "E_RATE_LIMITED")
    assert limited.headers["Retry-After"] == "55"
    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", "198.51.100.4")
    assert pair(api, code).status_code == 200


def test_pair_attempts_from_everywhere_share_one_ceiling(clock, api, merchant, shop, monkeypatch):
    monkeypatch.setattr(rate_limits, "PAIR_ALL", rate_limits.Limit("pair-all", requests=3, window_seconds=60))
    for i in range(3):
        monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", f"192.0.2.{i}")
        assert_error(pair(api, "2345-6789-ABCD"), 400, "E_PAIRING_CODE_INVALID")
    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", "192.0.2.99")
    assert_error(pair(api, "2345-6789-ABCD"), 429, "E_RATE_LIMITED")


def test_issuing_codes_is_rate_limited_per_shop(clock, api, merchant, shop):
    for _ in range(rate_limits.PAIRING_CODES_PER_SHOP.requests):
        assert issue(api, merchant, shop["shop_id"]).status_code == 200
    assert_error(issue(api, merchant, shop["shop_id"]), 429, "E_RATE_LIMITED")
    other = demo_shop(api, merchant, "Second shop")
    assert issue(api, merchant, other["shop_id"]).status_code == 200
