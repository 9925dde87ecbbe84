"""Issue 27 point 10: a path no route serves answers the error contract (DESIGN §4 body, request-id header), in
process and from the local stack's `chalice local`; the deployed template is checked in tests/test_package.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.harness import free_port

ROOT = Path(__file__).resolve().parents[1]


def _is_contract_error(status: int, headers: dict[str, str], body: bytes, code: str) -> None:
    answer = json.loads(body)
    assert answer["status_code"] == status and answer["code"] == code, answer
    assert set(answer) == {"status_code", "error", "code", "message"}
    assert {k.lower() for k in headers} >= {"request-id"}


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("path", ["/", "/nothing-here"])
def test_an_unknown_path_in_process(api, method, path):
    r = api.call(method, path)
    assert r.status_code == 404
    _is_contract_error(404, r.headers, r.body, "E_ROUTE_NOT_FOUND")


@pytest.fixture(scope="module")
def local_api() -> Iterator[str]:
    """The local stack's API server (devstack.chalice_local); unknown paths need no AWS behind it."""
    port = free_port()
    env = {**os.environ, "AWS_DEFAULT_REGION": "eu-central-1", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing"}
    server = subprocess.Popen([sys.executable, "-m", "devstack.chalice_local", "--project-dir", str(ROOT), "local",
                               "--stage", "local", "--host", "127.0.0.1", "--port", str(port), "--no-autoreload"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/v1/openapi.json", timeout=5)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "chalice local did not start"
                time.sleep(0.3)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def _request(base: str, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(base + path, method=method), timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as answer:
        return answer.code, dict(answer.headers), answer.read()


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
@pytest.mark.parametrize("path", ["/", "/nothing-here", "/api/v1/no/such/route", "/api/v1/auth/deeper?x=1",
                                  "/r/a/b.json"])
def test_an_unknown_path_over_local_http(local_api, method, path):
    status, headers, body = _request(local_api, method, path)
    assert status == 404, (status, body)
    _is_contract_error(404, headers, body, "E_ROUTE_NOT_FOUND")


def test_a_known_path_keeps_its_routes_and_its_405_over_local_http(local_api):
    status, headers, body = _request(local_api, "PATCH", "/api/v1/auth")
    _is_contract_error(405, headers, body, "E_METHOD_NOT_ALLOWED")
    status, _, body = _request(local_api, "GET", "/api/v1/openapi.json")
    assert status == 200 and json.loads(body)["openapi"] == "3.1.0"
