"""The merchant console (issue 23 point 1) through the Chalice test client: login, every page, every form's
CSRF check, tenant isolation, typed HTML errors, and no secret on any page."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.core.settings import settings
from tests.conftest import demo_shop
from tests.test_webhooks import post as post_order
from tests.test_webhooks import pump, receiver, sweep_and_pump, terminate  # noqa: F401 (receiver is a fixture)

FORM = {"content-type": "application/x-www-form-urlencoded"}
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Browser:
    """A cookie jar over the test client: what a browser without JavaScript does."""

    def __init__(self, api: Any) -> None:
        self.client, self.jar = api.client, {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Any:
        headers = {**(FORM if form is not None else {}),
                   **({"cookie": "; ".join(f"{k}={v}" for k, v in self.jar.items())} if self.jar else {})}
        response = self.client.http.request(method, path, headers=headers,
                                            body=urlencode(form).encode() if form is not None else b"")
        response.headers = {name.lower(): value for name, value in response.headers.items()}
        cookie = response.headers.get("set-cookie")
        if cookie:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            if value:
                self.jar[name] = value
            else:
                self.jar.pop(name, None)
        response.text = response.body.decode() if isinstance(response.body, bytes) else response.body
        return response

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str]) -> Any:
        return self.request("POST", path, form)

    def csrf(self, path: str) -> str:
        return _CSRF.search(self.get(path).text).group(1)

    def log_in(self, merchant: dict[str, Any]) -> Any:
        token = self.csrf("/console/login")
        return self.post("/console/login", {"api_key": merchant["api_key"], "api_secret": merchant["api_secret"],
                                            "csrf": token})


@pytest.fixture
def browser(api, merchant) -> Browser:
    b = Browser(api)
    response = b.log_in(merchant)
    assert response.status_code == 303 and response.headers["location"] == "/console/shops", response.text
    return b


@pytest.fixture
def other(api) -> dict[str, Any]:
    """A second merchant with a shop of its own."""
    from chalicelib.auth.merchants import create_merchant

    creds = create_merchant("Other merchant")
    token = api.call("POST", "/api/v1/auth", {"api_key": creds["api_key"], "api_secret": creds["api_secret"]}).json
    merchant = {**creds, "auth": {"authorization": f"Bearer {token['access_token']}"}}
    return {**merchant, "shop": demo_shop(api, merchant, name="Rival shop")}


def assert_protected_page(response: Any, status: int = 200) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert response.headers["x-frame-options"] == "DENY" and response.headers["x-content-type-options"] == "nosniff"
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy and "script-src" not in policy
    assert "frame-ancestors 'none'" in policy and "form-action 'self'" in policy
    assert "<script" not in response.text.lower() and " on" + "click" not in response.text.lower()


def test_login_sets_a_strict_httponly_cookie_and_logout_clears_it(api, merchant):
    b = Browser(api)
    assert b.get("/console").headers["location"] == "/console/login"
    page = b.get("/console/login")
    assert_protected_page(page)
    assert 'label for="api_key"' in page.text and 'label for="api_secret"' in page.text
    response = b.log_in(merchant)
    cookie = response.headers["set-cookie"]
    assert response.status_code == 303 and cookie.startswith("rb_console=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie, "the local stack over http://127.0.0.1 has no Secure cookie (its browser drops it)"
    assert b.get("/console").headers["location"] == "/console/shops"
    csrf = b.csrf("/console/shops")
    out = b.post("/console/logout", {"csrf": csrf})
    assert out.status_code == 303 and "Max-Age=0" in out.headers["set-cookie"]
    assert b.get("/console/shops").headers["location"] == "/console/login"


def test_a_deployed_console_cookie_is_secure_with_the_host_prefix(api, merchant, monkeypatch):
    monkeypatch.setenv("BRIDGE_PUBLIC_BASE_URL", "https://bridge.example.com")
    settings.cache_clear()
    try:
        page = Browser(api).get("/console/login")
        assert page.headers["set-cookie"].startswith("__Host-rb_console_login=")
        assert "; Secure" in page.headers["set-cookie"]
    finally:
        monkeypatch.delenv("BRIDGE_PUBLIC_BASE_URL")
        settings.cache_clear()


def test_a_wrong_secret_is_the_login_page_again_with_a_message(api, merchant):
    b = Browser(api)
    token = b.csrf("/console/login")
    response = b.post("/console/login", {"api_key": merchant["api_key"], "api_secret": "wrong", "csrf": token})
    assert_protected_page(response, 401)
    assert "do not match" in response.text and "rb_console=" not in str(response.headers.get("set-cookie"))


@pytest.mark.parametrize("csrf", [None, "", "forged-token"])
def test_login_without_its_csrf_token_is_refused(api, merchant, csrf):
    b = Browser(api)
    b.csrf("/console/login")
    form = {"api_key": merchant["api_key"], "api_secret": merchant["api_secret"]}
    response = b.post("/console/login", form if csrf is None else {**form, "csrf": csrf})
    assert_protected_page(response, 403)
    assert "rb_console=" not in str(response.headers.get("set-cookie"))


def test_every_page_renders_and_no_secret_is_ever_on_one(api, shop, merchant, browser, receiver, aws_env, clock,
                                                             monkeypatch):
    post_order(api, shop, "C-1")
    pump(aws_env)
    terminate(api, shop, aws_env, "C-1")
    pump(aws_env)
    sid = shop["shop_id"]
    day = __import__("datetime").datetime.fromtimestamp(clock.now, tz=__import__("datetime").timezone.utc).date()
    pages = {
        "/console/shops": ["Demo shop"],
        f"/console/shops/{sid}": ["Demo shop", "UTC", "Catalogue"],
        f"/console/shops/{sid}/catalog": ["Coffee", "3.50", "Demo cashier", "Pickup"],
        f"/console/shops/{sid}/orders?date={day}": ["C-1", "8.20 EUR", "sale (web)", "terminated", ">open</a>"],
        f"/console/shops/{sid}/orders/C-1": ["Accepted", "Dispatched", "Printed", "SIM-1", "0000042", "eReceipt",
                                              "Open the eReceipt", "validated", "terminated", "HTTP 204"],
        "/console/receipts": ["/r/"],
        f"/console/shops/{sid}/webhooks": ["C-1", "validated", "terminated", "Replay"],
        f"/console/shops/{sid}/reports?date={day}": ["CSV", "PDF", "XLSX"],
    }
    secrets = [shop["shop_key"], shop["edge_key"], receiver.secret, merchant["api_secret"]]
    for path, expected in pages.items():
        response = browser.get(path)
        assert_protected_page(response)
        for text in expected:
            assert text in response.text, (path, text)
        for secret in secrets:
            assert secret not in response.text, path
            assert secret.split("_", 1)[-1] not in response.text, path
    csv = browser.get(f"/console/shops/{sid}/reports/sales?date={day}&format=csv")
    assert csv.status_code == 200 and "C-1" in csv.text and csv.headers["cache-control"] == "no-store"
    monkeypatch.setenv("BRIDGE_REPORT_INLINE_BYTES", "10")  # a day over the response limit: the same link as the API's
    settings.cache_clear()
    try:
        large = browser.get(f"/console/shops/{sid}/reports/sales?date={day}&format=csv")
    finally:
        monkeypatch.delenv("BRIDGE_REPORT_INLINE_BYTES")
        settings.cache_clear()
    assert large.status_code == 303 and "X-Amz-Expires=300" in large.headers["location"]


def test_a_failed_webhook_is_found_and_replayed_from_the_console(api, shop, merchant, browser, receiver, aws_env,
                                                                 clock):
    receiver.status = 500
    post_order(api, shop, "C-2")
    pump(aws_env)
    dead = None
    while dead is None:
        listed = api.call("GET", f"/api/v1/shops/{shop['shop_id']}/webhook/deliveries", headers=merchant["auth"]).json
        [validated] = [d for d in listed["data"] if d["type"] == "validated"]
        if validated["status"] == "dead_lettered":
            dead = validated
        else:
            clock.now = max(clock.now + 1, validated["next_attempt_at"])
            sweep_and_pump(aws_env)
    failed = browser.get(f"/console/shops/{shop['shop_id']}/webhooks?status=dead_lettered")
    assert_protected_page(failed)
    assert "C-2" in failed.text and "HTTP 500" in failed.text and "dead lettered" in failed.text
    receiver.status = 204
    action = f"/console/shops/{shop['shop_id']}/webhooks/{dead['delivery_id']}/replay"
    assert f'action="{action}"' in failed.text
    replayed = browser.post(action, {"csrf": _CSRF.search(failed.text).group(1)})
    assert replayed.status_code == 303
    assert replayed.headers["location"].endswith(f"webhooks?replayed={dead['delivery_id']}")
    assert "queued" in browser.get(replayed.headers["location"]).text
    pump(aws_env)
    last = receiver.for_order("C-2")[-1]
    assert last.webhook_id == dead["delivery_id"] and last.body["type"] == "validated"
    trace = browser.get(f"/console/shops/{shop['shop_id']}/orders/C-2").text
    assert "replay 1" in trace and "HTTP 204" in trace and "HTTP 500" in trace


@pytest.mark.parametrize("csrf", [None, "", "forged-token", "another-session"])
def test_replay_and_logout_refuse_a_missing_or_wrong_csrf_token(api, shop, merchant, browser, csrf):
    if csrf == "another-session":
        other_browser = Browser(api)
        other_browser.log_in(merchant)
        csrf = other_browser.csrf("/console/shops")
    form = {} if csrf is None else {"csrf": csrf}
    delivery = "msg_00000000-0000-4000-8000-000000000000_validated"
    for path in (f"/console/shops/{shop['shop_id']}/webhooks/{delivery}/replay", "/console/logout"):
        response = browser.post(path, form)
        assert_protected_page(response, 403)
        assert "did not come from this console" in response.text
    assert browser.get("/console/shops").status_code == 200, "still logged in"


def test_another_merchants_shop_is_not_found_on_every_page(api, shop, browser, other):
    rival = other["shop"]["shop_id"]
    for path in ("", "/catalog", "/orders", "/orders/C-1", "/webhooks", "/reports",
                 "/reports/sales?date=2026-01-01&format=csv"):
        response = browser.get(f"/console/shops/{rival}{path}")
        assert_protected_page(response, 404)
        assert "Rival shop" not in response.text
    replay = browser.post(f"/console/shops/{rival}/webhooks/msg_00000000-0000-4000-8000-000000000000_validated/replay",
                          {"csrf": browser.csrf("/console/shops")})
    assert_protected_page(replay, 404)
    assert "Rival shop" not in browser.get("/console/shops").text


@pytest.mark.parametrize("path,status", [
    ("/console/shops/not-a-uuid", 400),
    ("/console/shops/{sid}/orders?date=2026-02-30", 400),
    ("/console/shops/{sid}/orders/no%20such", 400),
    ("/console/shops/{sid}/orders/NOPE-1", 404),
    ("/console/shops/{sid}/webhooks?cursor=garbage", 400),
    ("/console/shops/{sid}/reports/sales?date=2026-01-01&format=exe", 400),
    ("/console/receipts?offset=-1", 400),
])
def test_hostile_input_is_a_typed_html_page_not_a_500(shop, browser, path, status):
    response = browser.get(path.format(sid=shop["shop_id"]))
    assert_protected_page(response, status)
    assert "<h1>" in response.text and "E_" in response.text


@pytest.mark.parametrize("cookie", ["rb_console=garbage", "rb_console=", "rb_console=a.b.c; rb_console=x",
                                    "=;;;rb_console", "rb_console=" + "x" * 9000])
def test_a_forged_or_malformed_session_cookie_is_the_login_page(api, cookie):
    response = api.client.http.request("GET", "/console/shops", headers={"cookie": cookie}, body=b"")
    assert response.status_code == 303 and response.headers["Location"] == "/console/login"


def test_a_merchants_own_shops_are_listed_and_a_deleted_one_leaves_the_list(api, merchant, browser):
    first = demo_shop(api, merchant, name="First café")
    second = demo_shop(api, merchant, name="Second café")
    assert api.call("DELETE", f"/api/v1/shops/{first['shop_id']}", headers=merchant["auth"]).status_code == 204
    listed = browser.get("/console/shops").text
    assert "Second café" in listed and "First café" not in listed
    assert f"/console/shops/{second['shop_id']}" in listed
    assert_protected_page(browser.get(f"/console/shops/{first['shop_id']}"), 404)


def test_the_edge_section_shows_the_fleet_view_through_its_function(api, shop, merchant, browser, monkeypatch):
    """The shop page reads a shop's edge through ``pages.shop_page(…, edge_status=…)``, the boundary the fleet
    view (GET /api/v1/shops/{shop}/edge) is wired through."""
    import app as application
    from chalicelib.console import pages

    seen = []

    def edge_status(merchant_id: str, shop_id: str, now: int) -> dict[str, Any]:
        seen.append((merchant_id, shop_id))
        return {"online": False, "last_seen": 1_700_000_000, "version": "1.4.0",
                "devices": [{"id": "d1", "name": "Front till", "manufacturer": "Datecs", "model": "FP-700X",
                             "status": "ready", "warnings": ["paper low"]}],
                "backlog": {"jobs": 2, "results": 0, "sales": 1}}

    monkeypatch.setattr(application, "console", type("Wired", (), {
        "__getattr__": lambda self, name: getattr(pages, name),
        "shop_page": staticmethod(lambda request, shop_id, *_: pages.shop_page(request, shop_id, edge_status))})())
    response = browser.get(f"/console/shops/{shop['shop_id']}")
    assert_protected_page(response)
    for text in ("offline", "2023-11-14 22:13:20 UTC", "1.4.0", "Front till", "Datecs FP-700X", "paper low",
                 "2 jobs, 0 results, 1 sales"):
        assert text in response.text, text
    assert seen == [(merchant["merchant_id"], shop["shop_id"])]
    never = {"online": False, "last_seen": None, "version": None, "devices": [], "backlog": None}
    monkeypatch.setattr(application, "console", type("Wired", (), {
        "__getattr__": lambda self, name: getattr(pages, name),
        "shop_page": staticmethod(lambda request, shop_id, *_: pages.shop_page(request, shop_id, lambda *_: never))})())
    silent = browser.get(f"/console/shops/{shop['shop_id']}")
    assert_protected_page(silent)
    assert "never" in silent.text and "no heartbeat yet" in silent.text and "No device reported." in silent.text


def test_the_trace_shows_where_an_order_waits_and_why_it_failed(api, shop, merchant, browser, receiver, aws_env,
                                                                clock):
    from tests.test_webhooks import fail

    post_order(api, shop, "C-3")
    waiting = browser.get(f"/console/shops/{shop['shop_id']}/orders/C-3").text
    assert re.search(r"Dispatched to the till&#39;s queue <span class=\"state\">\(waiting\)", waiting), waiting
    assert "reads the orders&#39; change stream" in waiting and "for the till to print and report" in waiting
    assert "No delivery yet" in waiting
    pump(aws_env)
    fail(api, shop, "C-3")
    pump(aws_env)
    failed = browser.get(f"/console/shops/{shop['shop_id']}/orders/C-3").text
    assert "Dispatched to the till&#39;s queue <span class=\"state\">(done)" in failed
    assert "Print failed" in failed and "paper_out" in failed and "the printer is out of paper" in failed
    assert "eReceipt" not in failed, "a failed order gets no eReceipt"
    assert "Attempts of validated (delivered)" in failed and "Attempts of failed (delivered)" in failed
