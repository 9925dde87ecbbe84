"""A webhook receiver that verifies Standard Webhooks signatures and records deliveries.

Used by the demo, the end-to-end test and the latency bench. It can also
misbehave on purpose, for the retry tests: answer another status (``status``),
answer late (``delay``), or redirect elsewhere (``redirect_to``); only a
verified request answered 2xx counts as a delivery, every request is counted
in ``requests``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Delivery:
    webhook_id: str
    body: dict[str, Any]
    received_at: float


@dataclass
class WebhookReceiver:
    """Serve on 127.0.0.1:<ephemeral>; set ``secret`` once the bridge issued it."""

    secret: str | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    rejected: int = 0
    requests: int = 0
    status: int = 204
    delay: float = 0.0
    redirect_to: str | None = None
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def start(self) -> str:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # one write per response, no 40 ms delayed-ACK stall

            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                raw = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
                receiver.requests += 1
                # answer as configured when the request arrived, however long the configured delay is
                delay, redirect_to, status = receiver.delay, receiver.redirect_to, receiver.status
                if delay:
                    time.sleep(delay)
                if redirect_to:
                    self.send_response(307)
                    self.send_header("location", redirect_to)
                    self.end_headers()
                    return
                try:
                    Webhook(receiver.secret or "").verify(raw, dict(self.headers.items()))
                except (WebhookVerificationError, ValueError):
                    receiver.rejected += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                if not 200 <= status < 300:
                    self.send_response(status)
                    self.end_headers()
                    return
                with receiver._changed:
                    receiver.deliveries.append(Delivery(self.headers["webhook-id"], json.loads(raw), time.monotonic()))
                    receiver._changed.notify_all()
                self.send_response(status)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_port}/hooks"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def for_order(self, order_id: str) -> list[Delivery]:
        with self._changed:
            return [d for d in self.deliveries if d.body.get("orderID") == order_id]

    def wait_for(self, order_id: str, count: int, timeout: float) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len([d for d in self.deliveries if d.body.get("orderID") == order_id]) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
        return self.for_order(order_id)
