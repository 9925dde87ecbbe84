"""The merchant console in headless Chromium, as a merchant uses it (issue 23 point 1): log in, find the failed
webhook, replay it, see it delivered in the order's trace. Against the whole local stack (``make run``'s), with
a retry window of seconds so a refused webhook is dead-lettered while the test waits.

``UPDATE_SCREENSHOTS=1`` copies the screenshots to docs/console-*.png (shown in the README)."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack.demo import configure_webhook, demo_order_body
from devstack.harness import RunningStack, running_stack
from devstack.receiver import WebhookReceiver

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
DESKTOP = {"width": 1280, "height": 900}
DOCS = Path(__file__).resolve().parents[1] / "docs"
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (installed by .ci/run)")


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[RunningStack]:
    fast_dead_letter = {"BRIDGE_WEBHOOK_RETRY_WINDOW_SECONDS": "2", "BRIDGE_WEBHOOK_RETRY_BASE_SECONDS": "1",
                        "BRIDGE_PUMP_SCHEDULE_SECONDS": "1"}
    with running_stack(tmp_path_factory.mktemp("console-stack"), fast_dead_letter) as running:
        yield running


def dead_lettered_order(stack: RunningStack, receiver: WebhookReceiver) -> tuple[str, str]:
    """An order whose webhooks the receiver refused until they were dead-lettered: (order_id, validated id)."""
    demo, order_id = stack.demo, f"WEB-{uuid.uuid4().hex[:6].upper()}"
    shop_id = demo["shop"]["shop_id"]
    with httpx.Client(base_url=demo["api_base"], timeout=30) as http:
        token = http.post("/api/v1/auth", json=demo["merchant"]).json()["access_token"]
        auth = {"authorization": f"Bearer {token}"}
        posted = http.post(f"/api/v1/shops/{shop_id}/orders", json=demo_order_body(order_id),
                           headers={"x-shop-key": demo["shop"]["shop_key"]})
        assert posted.status_code == 201, posted.text
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            listed = http.get(f"/api/v1/shops/{shop_id}/webhook/deliveries", headers=auth).json()["data"]
            mine = {d["type"]: d for d in listed if d["order_id"] == order_id}
            if {d["status"] for d in mine.values()} == {"dead_lettered"} and len(mine) == 2:
                return order_id, mine["validated"]["delivery_id"]
            time.sleep(0.5)
    raise AssertionError(f"the webhooks of {order_id} were not dead-lettered in time: {mine}")


def test_a_merchant_logs_in_finds_a_failed_webhook_and_replays_it(stack, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    receiver = WebhookReceiver(status=500)
    configure_webhook(stack.demo["api_base"], stack.demo, receiver)
    try:
        order_id, delivery_id = dead_lettered_order(stack, receiver)
        refused = len(receiver.for_order(order_id))
        receiver.status = 204
        shots: dict[str, Path] = {}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport=DESKTOP, java_script_enabled=False)  # the console needs none
            blocked: list[str] = []
            page.on("console", lambda message: blocked.append(message.text) if message.type == "error" else None)
            page.goto(f"{stack.demo['api_base']}/console")
            expect(page.get_by_role("heading", name="Log in")).to_be_visible()
            page.keyboard.press("Tab")
            expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
            page.keyboard.press("Tab")
            page.keyboard.press("Tab")
            expect(page.get_by_label("API key")).to_be_focused()
            assert page.get_by_label("API key").evaluate("e => getComputedStyle(e).outlineStyle") != "none", \
                "a visible focus ring"
            page.keyboard.type(stack.demo["merchant"]["api_key"])
            page.keyboard.press("Tab")
            page.keyboard.type(stack.demo["merchant"]["api_secret"])
            page.get_by_label("API key").focus()
            shots["login"] = tmp_path / "console-login.png"
            page.screenshot(path=str(shots["login"]))
            page.get_by_label("API secret").press("Enter")
            expect(page.get_by_role("heading", name="Your shops")).to_be_visible()
            cookies = {c["name"]: c for c in page.context.cookies()}
            assert cookies["rb_console"]["httpOnly"] and cookies["rb_console"]["sameSite"] == "Strict"
            assert page.evaluate("document.cookie") == "", "no cookie is readable from a page"

            page.get_by_role("link", name="Demo shop").click()
            page.get_by_role("link", name="Failed webhook deliveries").click()
            failed = page.locator("section.delivery.failed", has_text=order_id).filter(has_text="validated")
            expect(failed).to_contain_text("HTTP 500")
            expect(failed).to_contain_text("dead lettered")
            shots["failed"] = tmp_path / "console-failed-webhook.png"
            page.screenshot(path=str(shots["failed"]), full_page=True)

            failed.get_by_role("button", name="Replay").click()
            expect(page.get_by_role("status")).to_contain_text(delivery_id)
            delivered = receiver.wait_for(order_id, refused + 2, 60)
            assert [d.body["type"] for d in delivered[refused:]] == ["validated", "terminated"]

            page.get_by_role("link", name=order_id).first.click()
            expect(page.get_by_role("heading", name=f"Order {order_id}")).to_be_visible()
            trace = page.locator("ol.trace")
            for step in ("Accepted", "Dispatched to the till's queue", "Printed", "eReceipt", "Webhooks"):
                expect(trace.get_by_role("heading", name=step)).to_be_visible()
            expect(trace).to_contain_text("replay 1")
            expect(trace).to_contain_text("HTTP 204")
            shots["trace"] = tmp_path / "console-order-trace.png"
            page.screenshot(path=str(shots["trace"]), full_page=True)

            page.get_by_role("button", name="Log out").click()
            expect(page.get_by_role("heading", name="Log in")).to_be_visible()
            browser.close()
        assert not [m for m in blocked if "Content Security Policy" in m], blocked
    finally:
        receiver.stop()
    if os.environ.get("UPDATE_SCREENSHOTS"):
        for shot in shots.values():
            shutil.copy(shot, DOCS / shot.name)
