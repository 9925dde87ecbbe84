"""Every refusal is a typed 4xx with the DESIGN §4 body and a request-id header."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import demo_order

ERROR_KEYS = {"status_code", "error", "code", "message"}


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.body
    assert set(response.json) == ERROR_KEYS
    assert response.json["status_code"] == status
    assert response.json["code"] == code
    assert response.headers.get("request-id")


def orders_path(shop) -> str:
    return f"/api/v1/shops/{shop['shop_id']}/orders"


def test_malformed_json_is_schema_error(api, shop):
    r = api.call("POST", orders_path(shop), raw=b'{"order_id": "A-1",', headers={"x-shop-key": shop["shop_key"]})
    assert_error(r, 400, "E_FAILED_SCHEMA_VALIDATION")


@pytest.mark.parametrize("missing", ["order_id", "payment_method_id", "items", "user_id"])
def test_missing_fields_are_schema_errors(api, shop, missing):
    body = demo_order("A-2")
    del body[missing]
    r = api.call("POST", orders_path(shop), body, {"x-shop-key": shop["shop_key"]})
    assert_error(r, 400, "E_FAILED_SCHEMA_VALIDATION")
    assert missing in r.json["message"]


def test_float_money_is_refused(api, shop):
    body = demo_order("A-3", items=[{"name": "Cake", "quantity": "1", "unit_price": 1.1, "vat_rate": "9"}])
    r = api.call("POST", orders_path(shop), body, {"x-shop-key": shop["shop_key"]})
    assert_error(r, 400, "E_FAILED_SCHEMA_VALIDATION")


@pytest.mark.parametrize("key", [None, "", "shk_wrong"])
def test_wrong_or_missing_shop_key(api, shop, key):
    headers = {"x-shop-key": key} if key is not None else {}
    r = api.call("POST", orders_path(shop), demo_order("A-4"), headers)
    assert_error(r, 401, "E_AUTHENTICATION")


def test_shop_key_of_another_shop_is_refused(api, shop, merchant):
    other = api.call("POST", "/api/v1/shops", {"name": "Second shop"}, merchant["auth"]).json
    r = api.call("POST", orders_path(shop), demo_order("A-5"), {"x-shop-key": other["shop_key"]})
    assert_error(r, 401, "E_AUTHENTICATION")


@pytest.mark.parametrize("shop_id", ["not-a-uuid", "00000000-0000-1000-8000-000000000000", str(uuid.uuid1())])
def test_bad_shop_uuid(api, shop, shop_id):
    r = api.call("POST", f"/api/v1/shops/{shop_id}/orders", demo_order("A-6"), {"x-shop-key": shop["shop_key"]})
    assert_error(r, 400, "E_FAILED_SCHEMA_VALIDATION")


def test_unknown_catalogue_reference(api, shop):
    r = api.call("POST", orders_path(shop), demo_order("A-7", payment_method_id="bitcoin"), {"x-shop-key": shop["shop_key"]})
    assert_error(r, 422, "E_UNKNOWN_REFERENCE")
    assert "bitcoin" in r.json["message"]


def test_unknown_order_is_typed_404(api, shop):
    r = api.call("GET", f"{orders_path(shop)}/NOPE-1", headers={"x-shop-key": shop["shop_key"]})
    assert_error(r, 404, "E_ORDER_NOT_FOUND")


def test_wrong_method_gets_design_error_body(api, shop):
    r = api.call("DELETE", orders_path(shop), headers={"x-shop-key": shop["shop_key"]})
    assert_error(r, 405, "E_METHOD_NOT_ALLOWED")


def test_bad_credentials(api, merchant):
    r = api.call("POST", "/api/v1/auth", {"api_key": merchant["api_key"], "api_secret": "secret_wrong"})
    assert_error(r, 401, "E_AUTHENTICATION")
    r = api.call("POST", "/api/v1/auth", {"api_key": merchant["api_key"]})
    assert_error(r, 400, "E_FAILED_SCHEMA_VALIDATION")


def test_refresh_token_is_not_an_access_token(api, merchant):
    tokens = api.call("POST", "/api/v1/auth", {"api_key": merchant["api_key"], "api_secret": merchant["api_secret"]}).json
    r = api.call("POST", "/api/v1/shops", {"name": "x"}, {"authorization": f"Bearer {tokens['refresh_token']}"})
    assert_error(r, 401, "E_AUTHENTICATION")
    refreshed = api.call("POST", "/api/v1/auth", {"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    assert set(refreshed.json) == {"access_token", "access_token_claims", "access_token_expires_in", "access_token_expires_at",
                                   "refresh_token", "refresh_token_expires_in", "refresh_token_expires_at"}


def test_other_merchant_cannot_see_shop(api, shop):
    from chalicelib.auth.merchants import create_merchant

    other = create_merchant("Other")
    token = api.call("POST", "/api/v1/auth", {k: other[k] for k in ("api_key", "api_secret")}).json["access_token"]
    auth = {"authorization": f"Bearer {token}"}
    assert_error(api.call("GET", f"/api/v1/shops/{shop['shop_id']}", headers=auth), 404, "E_SHOP_NOT_FOUND")
    assert_error(api.call("PUT", f"/api/v1/shops/{shop['shop_id']}/webhook", {"url": "http://127.0.0.1:9/x"}, auth),
                 404, "E_SHOP_NOT_FOUND")


@pytest.mark.parametrize("url", ["http://10.0.0.5/hook", "http://169.254.169.254/latest", "ftp://example.com/x",
                                 "http://user:pw@127.0.0.1/x"])
def test_webhook_targets_refused(api, shop, merchant, url):
    r = api.call("PUT", f"/api/v1/shops/{shop['shop_id']}/webhook", {"url": url}, merchant["auth"])
    assert_error(r, 400, "E_WEBHOOK_TARGET_REFUSED")
