"""Post one demo order through the running stack and show it travel."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import httpx

from devstack.receiver import WebhookReceiver


def configure_webhook(api_base: str, demo: dict[str, Any], receiver: WebhookReceiver) -> None:
    with httpx.Client(base_url=api_base, timeout=30) as http:
        token = http.post("/api/v1/auth", json=demo["merchant"]).raise_for_status().json()["access_token"]
        configured = http.put(f"/api/v1/shops/{demo['shop']['shop_id']}/webhook", json={"url": receiver.start()},
                              headers={"authorization": f"Bearer {token}"}).raise_for_status().json()
    receiver.secret = configured["secret"]


def demo_order_body(order_id: str) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "payment_method_id": "card",
        "delivery_method_id": "pickup",
        "user_id": "demo-cashier",
        "items": [{"item_id": "coffee", "quantity": "2"}, {"item_id": "tea", "quantity": "1"}],
    }


def wait_for_status(http: httpx.Client, path: str, headers: dict[str, str], status: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        order = http.get(path, headers=headers).raise_for_status().json()
        if order["status"] == status and (status != "terminated" or order.get("public_link")):
            return order
        if time.monotonic() > deadline:
            raise TimeoutError(f"order stayed {order['status']} for {timeout:.0f}s")
        time.sleep(0.05)


def run_demo(demo: dict[str, Any], say: Callable[[str], None], timeout: float = 60) -> bool:
    receiver = WebhookReceiver()
    configure_webhook(demo["api_base"], demo, receiver)
    shop = demo["shop"]
    order_id = f"DEMO-{uuid.uuid4().hex[:8].upper()}"
    headers = {"x-shop-key": shop["shop_key"]}
    with httpx.Client(base_url=demo["api_base"], timeout=30) as http:
        accepted = http.post(f"/api/v1/shops/{shop['shop_id']}/orders", json=demo_order_body(order_id), headers=headers)
        accepted.raise_for_status()
        say(f"order {order_id} accepted ({accepted.status_code}): status={accepted.json()['status']} "
            f"total={accepted.json()['total']} → job on the shop's queue")
        order = wait_for_status(http, f"/api/v1/shops/{shop['shop_id']}/orders/{order_id}", headers, "terminated", timeout)
    fiscal = order["fiscal"]
    say(f"printed by {fiscal['device']} as fiscal receipt {fiscal['fiscal_number']} → result reported → "
        f"order {order['status']}")
    say(f"eReceipt public link: {order['public_link']['url']}")
    say(f"merchant console: {demo['api_base']}/console (log in with the merchant's api_key and api_secret from "
        "the demo.json on the READY line)")
    deliveries = receiver.wait_for(order_id, 2, timeout)
    for delivery in deliveries:
        say(f"webhook {delivery.body['type']} received, signature verified (webhook-id {delivery.webhook_id})")
    receiver.stop()
    return [d.body["type"] for d in deliveries] == ["validated", "terminated"]


def pair_second_till(demo: dict[str, Any], say: Callable[[str], None], config: Path) -> dict[str, Any]:
    """Issue 23 point 4: set up a second till as a shop owner would, for a second shop (pairing gives a shop a
    new edge key, so pairing the demo shop would retire the running edge): a code, then ``edge pair``."""
    shutil.rmtree(config.parent, ignore_errors=True)  # the emulated cloud starts empty, so does this till
    with httpx.Client(base_url=demo["api_base"], timeout=30) as http:
        token = http.post("/api/v1/auth", json=demo["merchant"]).raise_for_status().json()["access_token"]
        auth = {"authorization": f"Bearer {token}"}
        shop = http.post("/api/v1/shops", json={"name": "Demo shop, second till"}, headers=auth).raise_for_status()
        shop_id = shop.json()["shop_id"]
        issued = http.post(f"/api/v1/shops/{shop_id}/edge/pairing", headers=auth).raise_for_status().json()
    say(f"second till: pairing code {issued['code']} issued for shop {shop_id} (one use, 15 minutes)")
    paired = subprocess.run([sys.executable, "-m", "edge", "pair", issued["code"], "--api-base", demo["api_base"],
                             "--config", str(config)], capture_output=True, text=True, timeout=60)
    if paired.returncode != 0:
        raise RuntimeError(f"edge pair failed: {paired.stderr.strip()}")
    say(f"edge pair {issued['code']} → {config} (mode {config.stat().st_mode & 0o777:o}); "
        f"next on that till: edge service install --config {config}")
    return {"shop_id": shop_id, "config": str(config)}
