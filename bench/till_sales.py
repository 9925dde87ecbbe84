"""Till sales (issue 20 point 1): how long the till needs to print a local sale, as a ratio to the device's own
print time, and how fast a backlog of offline sales uploads once the link is back.

1. The device's own print time: the simulated register driven directly (``SimulatedDriver.print_receipt``, the
   register's state file as durable as the edge keeps it), one receipt before each till sale (interleaved, so
   both see the same disk load on a shared machine).
2. The till: ``python -m edge run`` with the same simulated register, its cloud out of reach (503); each sale is one
   ``POST /manage/sales`` over loopback (keep-alive, local token), timed from request to answer: HTTP, validation,
   three fsync'd journal transactions and the device.
3. The backlog: the till keeps selling offline until ``--backlog`` sales wait; then the stand-in cloud answers and
   the time until the journal has no pending sale is measured (sales/s). The stand-in cloud runs in this process on
   loopback and does what the edge sees of the real one: validates each ``TillSale``, idempotent by order_id, acks;
   it does not include the real cloud's DynamoDB transaction.

    .venv/bin/python bench/till_sales.py [--sales 300] [--backlog 1000]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import percentile
from chalicelib.contracts import TillSale
from devstack.harness import free_port
from edge.drivers.simulated import SimulatedDriver
from edge.journal import Journal
from edge.local_token import TOKEN_FILE
from edge.tillsales.model import SaleIn, receipt_for

EDGE_KEY = "ek_bench_till"


def sale(order_id: str) -> dict[str, Any]:
    return {"order_id": order_id, "user_id": "demo-cashier", "payment_method_id": "cash",
            "items": [{"name": "Coffee", "quantity": "2", "unit_price": "3.50", "vat_rate": "20"},
                      {"name": "Tea", "quantity": "1", "unit_price": "2.80", "vat_rate": "20"}]}


class StandInCloud:
    """The edge-facing cloud: sessions and till sales; ``online`` False answers 503 to everything."""

    def __init__(self) -> None:
        self.online = False
        self.sales: dict[str, float] = {}  # order_id -> when first taken (monotonic)
        self._lock = threading.Lock()
        cloud = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def setup(self) -> None:
                super().setup()  # headers and body go out in two writes: without TCP_NODELAY each answer waits
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # for the delayed ACK (40 ms)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                status, payload = cloud.handle(self.path, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def handle(self, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        if not self.online:
            return 503, {"status_code": 503, "error": "Service Unavailable", "code": "E_DOWN", "message": "offline"}
        if path == "/api/v1/edge/session":
            expires = int(time.time()) + 3600
            return 200, {"token": "bench-token", "expires_at": expires, "shop_id": "bench-shop", "region": "eu-central-1",
                         "queue_url": "http://127.0.0.1:9/000000000000/bench-jobs",
                         "credentials": {"access_key_id": "x", "secret_access_key": "x", "session_token": "x",
                                         "expiration": expires}}
        sold = TillSale.model_validate_json(body)
        with self._lock:
            duplicate = sold.receipt.order_id in self.sales
            self.sales.setdefault(sold.receipt.order_id, time.monotonic())
        return 200, {"order_id": sold.receipt.order_id, "order_status": "terminated", "duplicate": duplicate}


def device_print(driver: SimulatedDriver, order_id: str) -> float:
    """One receipt straight on the register, as the till would print it: seconds."""
    job = receipt_for(SaleIn.model_validate(sale(order_id)), "bench-shop", int(time.time()))
    started = time.perf_counter()
    driver.print_receipt(job)
    return time.perf_counter() - started


def start_edge(cloud: StandInCloud, state_dir: Path, port: int) -> subprocess.Popen[bytes]:
    state_dir.parent.mkdir(parents=True, exist_ok=True)
    config = state_dir.parent / "edge.toml"
    config.write_text("\n".join([
        f'api_base = "{cloud.url}"', f'edge_key = "{EDGE_KEY}"', 'aws_endpoint_url = "http://127.0.0.1:9"',
        f'state_dir = "{state_dir}"', f"manage_port = {port}", "wait_time_seconds = 1", "retry_initial_seconds = 0.1",
        "retry_max_seconds = 0.5", "[fiscal_device]", 'manufacturer = "Simulated"', 'model = "Simulated"', ""]))
    edge = subprocess.Popen([sys.executable, "-m", "edge", "run", "--config", str(config)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/manage/status", timeout=1).status_code == 200:
                return edge
        except httpx.HTTPError:
            time.sleep(0.1)
    edge.kill()
    raise SystemExit("the edge did not start")


def pending(state_dir: Path) -> int:
    journal = Journal(state_dir / "journal.sqlite", readonly=True)
    try:
        return journal.pending_sales()
    finally:
        journal.close()


def run(sales: int, backlog: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="till-bench-") as tmp:
        cloud = StandInCloud()
        state_dir, port = Path(tmp) / "edge" / "state", free_port()
        edge = start_edge(cloud, state_dir, port)
        driver = SimulatedDriver.open(Path(tmp) / "device", "bench")
        try:
            token = (state_dir / TOKEN_FILE).read_text().strip()
            till: list[float] = []
            device: list[float] = []
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"},
                              timeout=30) as client:
                for i in range(max(sales, backlog)):
                    if i < sales:  # interleaved, so both see the same disk (fsync) load
                        device.append(device_print(driver, f"D-{i}"))
                    started = time.perf_counter()
                    reply = client.post("/manage/sales", json=sale(f"S-{i}"))
                    elapsed = time.perf_counter() - started
                    if reply.status_code != 200:
                        raise SystemExit(f"sale {i}: {reply.status_code} {reply.text}")
                    if i < sales:
                        till.append(elapsed)
            waiting = pending(state_dir)
            back = time.monotonic()
            cloud.online = True
            while pending(state_dir):
                time.sleep(0.02)
            drained = time.monotonic()
        finally:
            driver.close()
            edge.terminate()
            edge.wait(10)
            cloud.server.shutdown()
    first = min(cloud.sales.values())
    p50_device, p99_device = percentile(device, 50), percentile(device, 99)
    p50_till, p99_till = percentile(till, 50), percentile(till, 99)
    return {
        "sales_timed": sales,
        "device_print_ms": {"p50": round(p50_device * 1000, 2), "p99": round(p99_device * 1000, 2)},
        "till_sale_ms": {"p50": round(p50_till * 1000, 2), "p99": round(p99_till * 1000, 2)},
        "till_over_device": {"p50": round(p50_till / p50_device, 2), "p99": round(p99_till / p99_device, 2)},
        "backlog": waiting,
        "uploaded": len(cloud.sales),
        "backlog_seconds_from_link_back": round(drained - back, 2),
        "backlog_seconds_from_first_upload": round(drained - first, 2),
        "upload_sales_per_second": round(len(cloud.sales) / (drained - first), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sales", type=int, default=300, help="sales timed (device alone, and through the till)")
    parser.add_argument("--backlog", type=int, default=1000, help="sales waiting when the link comes back")
    args = parser.parse_args()
    print(json.dumps(run(args.sales, args.backlog), indent=2))


if __name__ == "__main__":
    main()
