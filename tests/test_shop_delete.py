"""DELETE /api/v1/shops/{shop_id}: the owner retires a shop, its keys stop working, its queue goes."""

from __future__ import annotations

import uuid
from fnmatch import fnmatchcase
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.auth.merchants import create_merchant
from chalicelib.aws import clients as aws
from chalicelib.core.settings import settings
from infra import iam
from tests.conftest import demo_order
from tests.test_api_errors import assert_error


def shop_path(shop: dict[str, Any]) -> str:
    return f"/api/v1/shops/{shop['shop_id']}"


def queue_exists(queue_url: str) -> bool:
    name = queue_url.rsplit("/", 1)[1]
    return any(url.endswith(f"/{name}") for url in aws.client("sqs").list_queues(QueueNamePrefix=name).get("QueueUrls", []))


@pytest.fixture
def other_merchant(api) -> dict[str, Any]:
    creds = create_merchant("Other merchant")
    token = api.call("POST", "/api/v1/auth", {"api_key": creds["api_key"], "api_secret": creds["api_secret"]}).json
    return {"auth": {"authorization": f"Bearer {token['access_token']}"}}


def test_onboarding_creates_a_tagged_queue_with_dlq_that_the_edge_role_covers(api, shop, merchant) -> None:
    sqs = aws.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=shop["queue_url"], AttributeNames=["All"])["Attributes"]
    assert attributes["RedrivePolicy"].find(settings().queue("jobs-dlq")) > 0
    assert sqs.list_queue_tags(QueueUrl=shop["queue_url"])["Tags"]["shop_id"] == shop["shop_id"]
    (statement,) = iam.resolve(iam.edge_statements(iam.Scope(settings().prefix)), partition="aws",
                               region=settings().region, account_id=settings().account_id)
    assert fnmatchcase(attributes["QueueArn"], statement["Resource"][0])


def test_owner_deletes_shop_and_its_keys_and_queue_stop_working(api, shop, merchant) -> None:
    r = api.call("DELETE", shop_path(shop), headers=merchant["auth"])
    assert r.status_code == 204, r.body
    assert r.body == b"" and r.headers.get("request-id")

    assert_error(api.call("GET", shop_path(shop), headers=merchant["auth"]), 404, "E_SHOP_NOT_FOUND")
    assert_error(api.call("POST", f"{shop_path(shop)}/orders", demo_order("D-1"), {"x-shop-key": shop["shop_key"]}),
                 401, "E_AUTHENTICATION")
    assert_error(api.call("POST", "/api/v1/edge/session", {"edge_key": shop["edge_key"]}), 401, "E_AUTHENTICATION")
    assert_error(api.call("PUT", f"{shop_path(shop)}/webhook", {"url": "https://example.com/hook"}, merchant["auth"]),
                 404, "E_SHOP_NOT_FOUND")
    assert not queue_exists(shop["queue_url"])


def test_other_shops_of_the_merchant_keep_working(api, shop, merchant) -> None:
    second = api.call("POST", "/api/v1/shops", {"name": "Second"}, merchant["auth"]).json
    assert api.call("DELETE", shop_path(shop), headers=merchant["auth"]).status_code == 204
    assert api.call("GET", shop_path(second), headers=merchant["auth"]).status_code == 200
    assert api.call("POST", "/api/v1/edge/session", {"edge_key": second["edge_key"]}).status_code == 200
    assert queue_exists(second["queue_url"])


def test_another_merchants_shop_is_not_found_and_untouched(api, shop, merchant, other_merchant) -> None:
    assert_error(api.call("DELETE", shop_path(shop), headers=other_merchant["auth"]), 404, "E_SHOP_NOT_FOUND")
    assert api.call("GET", shop_path(shop), headers=merchant["auth"]).status_code == 200
    assert api.call("POST", "/api/v1/edge/session", {"edge_key": shop["edge_key"]}).status_code == 200
    assert queue_exists(shop["queue_url"])


def test_unknown_shop_is_not_found(api, merchant) -> None:
    assert_error(api.call("DELETE", f"/api/v1/shops/{uuid.uuid4()}", headers=merchant["auth"]), 404, "E_SHOP_NOT_FOUND")


def test_malformed_shop_id_is_a_schema_error(api, merchant) -> None:
    assert_error(api.call("DELETE", "/api/v1/shops/not-a-uuid", headers=merchant["auth"]), 400,
                 "E_FAILED_SCHEMA_VALIDATION")


@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer nonsense"}])
def test_deleting_needs_a_merchant_token(api, shop, headers) -> None:
    assert_error(api.call("DELETE", shop_path(shop), headers=headers), 401, "E_AUTHENTICATION")


def test_shop_key_cannot_delete(api, shop) -> None:
    assert_error(api.call("DELETE", shop_path(shop), headers={"authorization": f"Bearer {shop['shop_key']}"}), 401,
                 "E_AUTHENTICATION")


def test_repeating_the_delete_finishes_a_deletion_that_stopped_halfway(api, shop, merchant) -> None:
    failures = iter([True])

    def queue_service_down(**_: Any) -> None:
        if next(failures, False):
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "try later"}}, "DeleteQueue")

    aws.client("sqs").meta.events.register("before-call.sqs.DeleteQueue", queue_service_down)
    assert_error(api.call("DELETE", shop_path(shop), headers=merchant["auth"]), 503, "E_SERVICE_UNAVAILABLE")
    assert_error(api.call("POST", "/api/v1/edge/session", {"edge_key": shop["edge_key"]}), 401, "E_AUTHENTICATION")
    assert queue_exists(shop["queue_url"])

    assert api.call("DELETE", shop_path(shop), headers=merchant["auth"]).status_code == 204
    assert not queue_exists(shop["queue_url"])
    assert api.call("DELETE", shop_path(shop), headers=merchant["auth"]).status_code == 204
