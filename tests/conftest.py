"""Fixtures for the cloud side: moto in-process, infra provisioned, Chalice test client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "BRIDGE_STAGE": "local",
        "BRIDGE_JWT_SECRET": "test-signing-key-that-is-long-enough-for-hs256",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)

from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402

from chalicelib.aws import clients as aws  # noqa: E402
from chalicelib.core.settings import settings  # noqa: E402
from chalicelib.shops import service as shops  # noqa: E402
from devstack.moto_server import install_dynamodb  # noqa: E402
from devstack.stack import DEMO_CATALOG  # noqa: E402
from infra.provision import provision  # noqa: E402


@pytest.fixture
def aws_env(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    monkeypatch.setenv("BRIDGE_PUMP_STATE_DIR", str(tmp_path / "pump"))  # the stream pump's checkpoints
    install_dynamodb()  # the stream handler's webhook threads write at once: transactions isolated, as on the local stack
    with mock_aws():
        aws.reset_clients()
        shops._cache.clear()
        urls = provision(boto3.session.Session(region_name="eu-central-1"), settings().prefix)
        yield urls
        aws.reset_clients()


@pytest.fixture
def api(aws_env: dict[str, str]) -> Iterator["Api"]:
    from app import app

    with Client(app) as client:
        yield Api(client)


class Api:
    """A small helper over Chalice's test client that speaks JSON."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
             raw: bytes | None = None) -> Any:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        hdrs = {"content-type": "application/json", **(headers or {})}
        response = self.client.http.request(method, path, headers=hdrs, body=data)
        response.json = json.loads(response.body) if response.body and response.body[:1] in (b"{", b"[") else None
        return response


@pytest.fixture
def merchant(api: Api) -> dict[str, Any]:
    from chalicelib.auth.merchants import create_merchant

    creds = create_merchant("Demo merchant")
    token = api.call("POST", "/api/v1/auth", {"api_key": creds["api_key"], "api_secret": creds["api_secret"]}).json
    return {**creds, "auth": {"authorization": f"Bearer {token['access_token']}"}}




@pytest.fixture
def shop(api: Api, merchant: dict[str, Any]) -> dict[str, Any]:
    return demo_shop(api, merchant)


def demo_shop(api: Api, merchant: dict[str, Any], name: str = "Demo shop") -> dict[str, Any]:
    """A new shop of the merchant with the demo catalogue."""
    created = api.call("POST", "/api/v1/shops", {"name": name}, merchant["auth"])
    assert created.status_code == 201, created.body
    shop = created.json
    for kind, entry_id, entry in DEMO_CATALOG:
        r = api.call("PUT", f"/api/v1/shops/{shop['shop_id']}/catalog/{kind}/{entry_id}", entry, merchant["auth"])
        assert r.status_code == 200, r.body
    return shop


def demo_order(order_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "order_id": order_id,
        "payment_method_id": "cash",
        "delivery_method_id": "pickup",
        "user_id": "demo-cashier",
        "items": [{"item_id": "coffee", "quantity": "2"}, {"name": "Cookie", "quantity": "1", "unit_price": "1.20", "vat_rate": "9"}],
    }
    body.update(overrides)
    return body


@pytest.fixture
def aws_calls(api: Api) -> list[str]:
    """Every AWS API operation the app's clients make, as 'service.Operation'."""
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(f"{model.service_model.service_name}.{model.name}")

    for service in ("dynamodb", "sqs", "sts"):
        aws.client(service).meta.events.register("before-call.*.*", record)
    return calls


def stream_pump() -> Any:
    """The local event source mapping of the orders table's stream (``devstack.pump.StreamPump``), resuming
    from the checkpoints under ``BRIDGE_PUMP_STATE_DIR`` as a restarted pump does."""
    import threading
    from pathlib import Path

    import app as app_module
    from devstack.pump import StreamPump, stream_sources

    config = next(c for c in stream_sources(app_module.app) if c.name == "dispatch_orders")
    return StreamPump(app_module, config, threading.Event(), Path(os.environ["BRIDGE_PUMP_STATE_DIR"]))


def run_dispatch() -> int:
    """Feed the orders table's stream to its handler, as its event source mapping does on AWS: accepted
    orders' jobs and `validated` webhooks then sit on their queues. Returns how many records were read."""
    pump, handled = stream_pump(), 0
    while read := pump.pump_once():
        handled += read
    return handled


def queue_messages(queue_url: str) -> list[dict[str, Any]]:
    """Drain and return every message on a queue (visibility 0 so nothing is hidden), after the
    dispatch handler has run, since on AWS it always runs."""
    run_dispatch()
    sqs = aws.client("sqs")
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30,
                                    WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)


@pytest.fixture
def shop_hooks(api: Api, shop: dict[str, Any], merchant: dict[str, Any]) -> Iterator[Any]:
    """A signed-webhook receiver on loopback, set as the ``shop`` fixture's webhook (its secret kept to verify)."""
    from devstack.receiver import WebhookReceiver

    hooks = WebhookReceiver()
    r = api.call("PUT", f"/api/v1/shops/{shop['shop_id']}/webhook", {"url": hooks.start()}, merchant["auth"])
    assert r.status_code == 200, r.body
    hooks.secret = r.json["secret"]
    yield hooks
    hooks.stop()


@pytest.fixture(scope="module")
def receiver(stack: Any) -> Iterator[Any]:
    """A signed-webhook receiver for the module's running ``stack`` fixture, set as the demo shop's target."""
    from devstack.demo import configure_webhook
    from devstack.receiver import WebhookReceiver

    hooks = WebhookReceiver()
    configure_webhook(stack.demo["api_base"], stack.demo, hooks)
    yield hooks
    hooks.stop()


@contextmanager
def emulator(service: str, probe: str) -> Iterator[tuple[subprocess.Popen[bytes], Any]]:
    """The local stack's moto server (devstack.moto_server) on a free port, and a client of ``service``
    once its ``probe`` call (a cheap listing) answers."""
    from devstack.harness import free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "devstack.moto_server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = boto3.client(service, endpoint_url=f"http://127.0.0.1:{port}", region_name="eu-central-1",
                          aws_access_key_id="x", aws_secret_access_key="x")
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                getattr(client, probe)()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield server, client
    finally:
        server.terminate()
        server.wait()


class FakeClock:
    """``chalicelib.core.clock.now`` under the test's control: epoch seconds, moved by setting ``now``."""

    def __init__(self, now: int | None = None) -> None:
        self.now = int(time.time()) if now is None else now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr("chalicelib.core.clock.now", fake)
    return fake
