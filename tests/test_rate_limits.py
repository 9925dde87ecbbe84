"""Rate limits (issue 19, Low): per api_key and per source IP on POST /api/v1/auth, answering 429
E_RATE_LIMITED with Retry-After, and API Gateway throttling in the generated template."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from chalice.local import LambdaEventConverter

from chalicelib.auth import merchants, rate_limits
from tests.conftest import FakeClock
from tests.test_api_errors import assert_error


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock(int(time.time()) // 60 * 60 + 5)  # five seconds into a rate-limit window
    monkeypatch.setattr("chalicelib.core.clock.now", fake)
    return fake


def login(api, api_key: str, api_secret: str):
    return api.call("POST", "/api/v1/auth", {"api_key": api_key, "api_secret": api_secret})


def assert_limited(response, retry_after: int) -> None:
    assert_error(response, 429, "E_RATE_LIMITED")
    assert response.headers["Retry-After"] == str(retry_after)


def test_logins_per_api_key_are_limited_then_the_next_window_opens(clock, api, merchant):
    limit = rate_limits.AUTH_PER_KEY.requests
    wrong = [login(api, merchant["api_key"], f"guess-{i}") for i in range(limit - 2)]  # the fixture logged in once
    assert {r.status_code for r in wrong} == {401}
    assert login(api, merchant["api_key"], merchant["api_secret"]).status_code == 200
    assert_limited(login(api, merchant["api_key"], "guess-x"), 55)
    clock.now += 10
    assert_limited(login(api, merchant["api_key"], merchant["api_secret"]), 45)  # even the right secret waits
    other = merchants.create_merchant("Other merchant")
    assert login(api, other["api_key"], other["api_secret"]).status_code == 200  # other keys are not held back
    clock.now += 45
    assert login(api, merchant["api_key"], merchant["api_secret"]).status_code == 200


def test_auth_calls_per_source_ip_are_limited(clock, api, merchant, monkeypatch):
    monkeypatch.setattr(rate_limits, "AUTH_PER_IP", rate_limits.Limit("auth-ip", requests=3, window_seconds=60))
    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", "203.0.113.9")
    for _ in range(3):
        assert_error(api.call("POST", "/api/v1/auth", {"refresh_token": "x.y.z"}), 401, "E_AUTHENTICATION")
    assert_limited(api.call("POST", "/api/v1/auth", {"refresh_token": "x.y.z"}), 55)
    assert_limited(login(api, merchant["api_key"], merchant["api_secret"]), 55)
    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", "2001:db8::7")
    assert login(api, merchant["api_key"], merchant["api_secret"]).status_code == 200


def test_a_login_costs_one_conditional_update_per_counter(api, merchant, aws_calls):
    assert login(api, merchant["api_key"], merchant["api_secret"]).status_code == 200
    assert aws_calls == ["dynamodb.UpdateItem", "dynamodb.UpdateItem", "dynamodb.GetItem", "dynamodb.PutItem"]


def test_malformed_bodies_are_refused_before_anything_is_counted(api, aws_calls):
    for raw in (b"", b"{", b"[]", b'{"api_key": "k"}'):
        assert_error(api.call("POST", "/api/v1/auth", raw=raw), 400, "E_FAILED_SCHEMA_VALIDATION")
    assert aws_calls == []


def test_counters_store_no_raw_ip_or_key_and_expire(api, merchant):
    from chalicelib.aws import clients as aws
    from chalicelib.core.settings import settings

    items = aws.client("dynamodb").scan(TableName=settings().table("tenants"))["Items"]
    windows = [i for i in items if i["pk"]["S"].startswith("RATE#")]
    assert len(windows) == 2 and all(int(w["expires_at"]["N"]) > time.time() for w in windows)
    assert merchant["api_key"] not in json.dumps(windows) and "127.0.0.1" not in json.dumps(windows)


# --- API Gateway throttling in the generated template ---------------------------------------------

@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from infra.package import package

    path: Path = package("dev", tmp_path_factory.mktemp("package"))
    return json.loads(path.read_text())


def test_template_throttles_the_stage_and_the_token_exchange(template):
    api = template["Resources"]["RestAPI"]["Properties"]
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in api["MethodSettings"]}
    stage, auth = settings[("/*", "*")], settings[("/~1api~1v1~1auth", "POST")]
    assert 0 < auth["ThrottlingRateLimit"] < stage["ThrottlingRateLimit"]
    assert 0 < auth["ThrottlingBurstLimit"] < stage["ThrottlingBurstLimit"]
    assert "post" in api["DefinitionBody"]["paths"]["/api/v1/auth"], "the throttled path is the API's own"
