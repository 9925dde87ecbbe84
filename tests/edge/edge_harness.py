"""Test harness for the edge: a fake cloud, the edge as a real subprocess, jobs and waiting helpers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError

from chalicelib.contracts import (
    FiscalJob,
    Heartbeat,
    JobLine,
    JobPayment,
    JobResult,
    PaymentType,
    TillSale,
)
from edge.emulators.simulated.models import STATE_FILE
from edge.emulators.simulated.register import SimulatedRegister
from edge.journal import Journal

ROOT = Path(__file__).resolve().parents[2]
EDGE_KEY = "ek_test_0123456789"
SHOP_ID = "shop-1"
REGION = "eu-central-1"


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_job(job_id: str, *, shop_id: str = SHOP_ID, vat_rate: str = "20", created_at: int = 1_700_000_000) -> FiscalJob:
    """A two-line cash sale of 3 coffees (3.50) and a tea (2.80): 13.30."""
    lines = [
        JobLine(name="Coffee", quantity=Decimal(3), unit_price=350, vat_rate=Decimal(vat_rate), amount=1050),
        JobLine(name="Tea", quantity=Decimal(1), unit_price=280, vat_rate=Decimal(20), amount=280),
    ]
    return FiscalJob(
        job_id=job_id,
        shop_id=shop_id,
        order_id=f"order-{job_id}",
        order_internal_id=f"int-{job_id}",
        created_at=created_at,
        operator="demo-cashier",
        lines=lines,
        payment=JobPayment(type=PaymentType.CASH, method_id="cash", amount=1330),
        total=1330,
    )


# -- fake cloud ------------------------------------------------------------------------------


@dataclass
class FakeCloud:
    """The cloud's edge-facing endpoints, recording every result it accepts.

    ``mode`` makes every request fail: ``"503"`` answers 503, ``"drop"`` closes the
    connection without an answer. ``reject`` maps job ids to a permanent (status, code).
    """

    queue_url: str
    token_ttl: int = 3600
    mode: str | None = None
    reject: dict[str, tuple[int, str]] = field(default_factory=dict)
    results: list[JobResult] = field(default_factory=list)
    sales: dict[str, bytes] = field(default_factory=dict)  # order_id -> the first upload's body (the cloud's record)
    sale_posts: list[str] = field(default_factory=list)  # order_id of every upload taken, duplicates too
    heartbeats: list[Heartbeat] = field(default_factory=list)
    acks: list[dict[str, Any]] = field(default_factory=list)
    sessions: int = 0
    unauthorized: int = 0
    _tokens: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        cloud = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if cloud.mode == "drop":
                    self.close_connection = True
                    return
                status, payload = cloud.handle(self.path, self.headers.get("authorization", ""), body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def revoke_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def result_ids(self) -> list[str]:
        with self._lock:
            return [r.job_id for r in self.results]

    def handle(self, path: str, authorization: str, body: bytes) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if self.mode == "503":
                return _error(503, "E_UNAVAILABLE", "down for the test")
            if path == "/api/v1/edge/session":
                return self._session(body)
            if path == "/api/v1/edge/results":
                return self._result(authorization, body)
            if path == "/api/v1/edge/sales":
                return self._sale(authorization, body)
            if path == "/api/v1/edge/heartbeat":
                return self._heartbeat(authorization, body)
            return _error(404, "E_NOT_FOUND", "no such route")

    def _session(self, body: bytes) -> tuple[int, dict[str, Any]]:
        if json.loads(body or b"{}").get("edge_key") != EDGE_KEY:
            return _error(401, "E_AUTHENTICATION", "unknown edge key")
        self.sessions += 1
        token = f"edge-jwt-{self.sessions}"
        self._tokens.add(token)
        expires = int(time.time()) + self.token_ttl
        return 200, {
            "token": token,
            "expires_at": expires,
            "shop_id": SHOP_ID,
            "queue_url": self.queue_url,
            "region": REGION,
            "credentials": {
                "access_key_id": "ASIAEDGETEST",
                "secret_access_key": "edge-secret",
                "session_token": f"edge-session-{self.sessions}",
                "expiration": expires,
            },
        }

    def _result(self, authorization: str, body: bytes) -> tuple[int, dict[str, Any]]:
        if authorization.removeprefix("Bearer ") not in self._tokens:
            self.unauthorized += 1
            return _error(401, "E_AUTHENTICATION", "bad token")
        try:
            result = JobResult.model_validate_json(body)
        except ValidationError:
            return _error(400, "E_FAILED_SCHEMA_VALIDATION", "not a result")
        if result.job_id in self.reject:
            status, code = self.reject[result.job_id]
            return _error(status, code, "refused for the test")
        if result.shop_id != SHOP_ID:
            return _error(403, "E_FORBIDDEN", "another shop's job")
        duplicate = any(r.job_id == result.job_id for r in self.results)
        self.results.append(result)
        ack = {
            "job_id": result.job_id,
            "order_status": "terminated" if result.status.value == "printed" else "failed",
            "duplicate": duplicate,
        }
        self.acks.append(ack)
        return 200, ack

    def _heartbeat(self, authorization: str, body: bytes) -> tuple[int, dict[str, Any]]:
        if authorization.removeprefix("Bearer ") not in self._tokens:
            self.unauthorized += 1
            return _error(401, "E_AUTHENTICATION", "bad token")
        try:
            heartbeat = Heartbeat.model_validate_json(body)
        except ValidationError:
            return _error(400, "E_FAILED_SCHEMA_VALIDATION", "not a heartbeat")
        self.heartbeats.append(heartbeat)
        return 200, {"last_seen": int(time.time())}


    def _sale(self, authorization: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """The cloud's till sale intake: one record per order_id, the same body again a duplicate, another a 409."""
        if authorization.removeprefix("Bearer ") not in self._tokens:
            self.unauthorized += 1
            return _error(401, "E_AUTHENTICATION", "bad token")
        try:
            sale = TillSale.model_validate_json(body)
        except ValidationError:
            return _error(400, "E_FAILED_SCHEMA_VALIDATION", "not a till sale")
        if sale.receipt.shop_id != SHOP_ID:
            return _error(403, "E_FORBIDDEN", "another shop's sale")
        order_id = sale.receipt.order_id
        first = self.sales.setdefault(order_id, body)
        if first != body:
            return _error(409, "E_CONFLICT", f"order {order_id} exists with a different body")
        self.sale_posts.append(order_id)
        return 200, {"order_id": order_id, "order_status": "terminated", "receipt_id": f"rcpt-{order_id}",
                     "duplicate": self.sale_posts.count(order_id) > 1}


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    reasons = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 503: "Service Unavailable"}
    return status, {"status_code": status, "error": reasons.get(status, "Error"), "code": code, "message": message}


# -- the edge as a subprocess ------------------------------------------------------------------


class EdgeProcess:
    """``python -m edge <args>`` with stdout and stderr collected by reader threads."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edge", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _pump(stream: Any, sink: list[str]) -> None:
        for line in stream:
            sink.append(line.rstrip("\n"))

    def wait_ready(self, timeout: float = 20.0) -> None:
        def ready() -> bool:
            if any(line.startswith("EDGE READY") for line in self.stdout):
                return True
            if self.proc.poll() is not None:
                raise AssertionError(f"edge exited with {self.proc.returncode} before READY:\n{self.stderr_text()}")
            return False

        wait_for(ready, timeout, what="EDGE READY")

    def wait_exit(self, timeout: float = 20.0) -> int:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"edge still running after {timeout}s:\n{self.stderr_text()}") from exc
        for reader in self._readers:
            reader.join(timeout=5)
        return code

    def signal(self, signum: int = signal.SIGTERM) -> None:
        self.proc.send_signal(signum)

    def stop(self) -> int:
        """SIGTERM and wait; the exit status must be 0."""
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
        return self.wait_exit(10)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)

    def stderr_text(self) -> str:
        return "\n".join(self.stderr)

    def events(self) -> list[dict[str, Any]]:
        """Parsed JSON log lines (every stderr line must be JSON)."""
        return [json.loads(line) for line in self.stderr if line.strip()]


def edge_env(crash_at: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EDGE_"))}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
    )
    if crash_at:
        env["EDGE_CRASH_AT"] = crash_at
    return env


# -- one test's world: queue, fake cloud, state dir --------------------------------------------


@dataclass
class Stack:
    sqs: Any
    aws_url: str
    queue_url: str
    cloud: FakeCloud
    state_dir: Path
    config_dir: Path
    edges: list[EdgeProcess] = field(default_factory=list)
    manage_port: int = field(default_factory=free_port)
    device_toml: str = '[fiscal_device]\nmanufacturer = "Simulated"\nmodel = "Simulated"'
    extra_toml: str = ""  # more tables, e.g. [pos_terminal]

    def config_text(self, **overrides: Any) -> str:
        values: dict[str, Any] = {
            "api_base": self.cloud.url,
            "edge_key": EDGE_KEY,
            "aws_endpoint_url": self.aws_url,
            "state_dir": str(self.state_dir),
            "manage_host": "127.0.0.1",
            "manage_port": self.manage_port,
            "wait_time_seconds": 1,
            "retry_initial_seconds": 0.1,
            "retry_max_seconds": 0.5,
        }
        values.update(overrides)
        lines = [f"{key} = {json.dumps(value)}" for key, value in values.items() if value is not None]
        lines += [self.device_toml, self.extra_toml]
        return "\n".join(lines) + "\n"

    @property
    def manage_url(self) -> str:
        return f"http://127.0.0.1:{self.manage_port}/manage"

    def manage(self, path: str, body: Any = None) -> httpx.Response:
        """POST ``body`` (or GET without one) to the running edge's management API, with its local token."""
        url = f"{self.manage_url}/{path}"
        headers = self.token_header()
        return httpx.get(url, headers=headers, timeout=30) if body is None else httpx.post(url, json=body, headers=headers, timeout=30)

    def token_header(self) -> dict[str, str]:
        """``Authorization: Bearer <local token>`` as the CLI sends it; empty before the edge's first start."""
        path = self.state_dir / "manage.token"
        return {"Authorization": f"Bearer {path.read_text().strip()}"} if path.exists() else {}

    def write_config(self, **overrides: Any) -> Path:
        path = self.config_dir / "edge.toml"
        path.write_text(self.config_text(**overrides))
        return path

    def start_edge(self, *, crash_at: str | None = None, ready: bool = True, **overrides: Any) -> EdgeProcess:
        edge = EdgeProcess(["run", "--config", str(self.write_config(**overrides))], edge_env(crash_at))
        self.edges.append(edge)
        if ready:
            edge.wait_ready()
        return edge

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "edge", *args], cwd=ROOT, env=edge_env(), capture_output=True, text=True, timeout=30, check=False
        )

    def send(self, job: FiscalJob) -> str:
        return self.send_raw(job.model_dump_json())

    def send_raw(self, body: str) -> str:
        return str(self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)["MessageId"])

    def queue_depth(self) -> int:
        """Messages visible plus in flight."""
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def register(self) -> SimulatedRegister:
        return SimulatedRegister(self.state_dir / STATE_FILE)

    def receipts_for(self, job_id: str) -> int:
        register = self.register()
        try:
            return len(register.receipts_for_sale(job_id))
        finally:
            register.close()

    def journal_state(self, job_id: str) -> str | None:
        path = self.state_dir / "journal.sqlite"
        if not path.exists():
            return None
        journal = Journal(path, readonly=True)
        try:
            row = journal.job(job_id)
        finally:
            journal.close()
        return row.state.value if row else None

    def settled(self, job_id: str, results: int = 1) -> bool:
        """The job was reported (``results`` times) and its message left the queue."""
        return self.cloud.result_ids().count(job_id) >= results and self.journal_state(job_id) == "reported" and self.queue_depth() == 0

    def close(self) -> None:
        for edge in self.edges:
            edge.kill()
        self.cloud.stop()


def open_stack(sqs: Any, aws_url: str, base: Path, visibility_timeout: int = 1) -> Stack:
    """A fresh queue (short visibility timeout, so lost messages come back fast), fake cloud and state dir."""
    queue_url = sqs.create_queue(QueueName=f"jobs-{uuid.uuid4().hex[:12]}", Attributes={"VisibilityTimeout": str(visibility_timeout)})[
        "QueueUrl"
    ]
    cloud = FakeCloud(queue_url)
    cloud.start()
    return Stack(sqs=sqs, aws_url=aws_url, queue_url=queue_url, cloud=cloud, state_dir=base / "state", config_dir=base)


@dataclass
class CrashRun:
    stack: Stack
    crashed_with: int
    restarted: EdgeProcess


def crash_and_restart(stacks: dict[str, Stack], job: Any) -> dict[str, CrashRun]:
    """In each stack start an edge armed to die at its crash point, send it ``job``, wait for the
    crash, then start a plain edge (not yet ready) to recover."""
    crashing = {point: stack.start_edge(crash_at=point, ready=False) for point, stack in stacks.items()}
    for point, edge in crashing.items():
        edge.wait_ready(timeout=30)
        stacks[point].send(job)
    codes = {point: edge.wait_exit() for point, edge in crashing.items()}
    restarted = {point: stack.start_edge(ready=False) for point, stack in stacks.items()}
    return {point: CrashRun(stacks[point], codes[point], restarted[point]) for point in stacks}
