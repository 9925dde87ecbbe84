"""The management API of a running edge, over real HTTP."""

from __future__ import annotations

import base64
import json
import re
import socket
import subprocess
import time

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from edge_harness import ROOT, SHOP_ID, Stack, make_job, wait_for
from test_edge_updates import ARTIFACT, Releases, _release, manifest_of, signed


def test_status_and_journal_entries(stack: Stack) -> None:
    stack.start_edge()
    base = f"http://127.0.0.1:{stack.manage_port}/manage"
    started = time.time_ns() // 1_000_000

    idle = httpx.get(f"{base}/status").json()
    assert idle["success"] is True and idle["backlog"] == 0 and idle["last_result"] is None
    assert idle["shop_id"] == SHOP_ID and idle["queue_url"] == stack.queue_url and idle["online"] is True
    assert idle["device"]["online"] is True and idle["device"]["manufacturer"] == "Simulated"

    stack.send(make_job("job-m"))
    wait_for(lambda: stack.settled("job-m"), what="job settled")

    status = httpx.get(f"{base}/status").json()
    assert status["last_result"]["job_id"] == "job-m" and status["last_result"]["fiscal_number"] == "00000001"
    assert status["device"]["last_fiscal_number"] == "00000001"

    now = time.time_ns() // 1_000_000
    reply = httpx.post(f"{base}/get_journal_entries", json={"start_time": started, "end_time": now})
    assert reply.status_code == 200
    [entry] = reply.json()
    seed_fields = {"id", "timestamp", "device_name", "device_id", "action_type", "description", "success", "error_message",
                   "receipt_data", "amount_cents", "full_text"}
    assert seed_fields <= set(entry)
    assert entry["action_type"] == "PrintReceipt" and entry["success"] is True and entry["error_message"] is None
    assert entry["job_id"] == "job-m" and entry["order_id"] == "order-job-m" and entry["fiscal_number"] == "00000001"
    assert entry["amount_cents"] == 1330 and entry["device_name"] == "Fiscal printer" and entry["device_id"]
    assert entry["receipt_data"]["job_id"] == "job-m" and entry["receipt_data"]["lines"][0]["name"] == "Coffee"
    assert "FISCAL RECEIPT No 00000001" in entry["full_text"] and entry["timestamp"].endswith("Z")
    assert started <= entry["started_at"] <= entry["finished_at"] <= now

    before = httpx.post(f"{base}/get_journal_entries", json={"start_time": 0, "end_time": started - 1})
    assert before.json() == []


BAD_BODIES = [{"start_time": 1}, {"start_time": "soon", "end_time": 2}, {"start_time": 5, "end_time": 1}, [1, 2], None]


def test_bad_journal_requests_get_the_error_shape(stack: Stack) -> None:
    stack.start_edge()
    for body in BAD_BODIES:
        reply = httpx.post(f"http://127.0.0.1:{stack.manage_port}/manage/get_journal_entries", json=body)
        assert reply.status_code == 400, body
        payload = reply.json()
        assert payload["success"] is False and payload["code"] == "E_BAD_REQUEST" and payload["message"], body


def test_unknown_route_gets_the_error_shape(stack: Stack) -> None:
    stack.start_edge()
    reply = httpx.get(f"http://127.0.0.1:{stack.manage_port}/manage/nothing_here")
    assert reply.status_code == 404
    assert reply.json() == {"success": False, "message": "Not Found", "code": "E_NOT_FOUND"}


def test_busy_manage_port_is_a_clear_error(stack: Stack) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", stack.manage_port))
        blocker.listen()
        edge = stack.start_edge(ready=False)
        assert edge.wait_exit() == 2
    assert "management API could not listen" in edge.stderr_text()


def _readme_block(heading: str) -> str:
    """The first ``sh`` block under ``heading`` in the README."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index(heading):]
    return section[section.index("```sh\n") + 6:section.index("\n```", section.index("```sh\n"))]


def test_readme_curl_examples_work_against_a_running_edge(stack: Stack) -> None:
    key = Ed25519PrivateKey.generate()
    releases = Releases()
    try:
        releases.files["/manifest.json"] = signed(key, manifest_of(_release("1.2.0")))
        releases.files["/edge-1.2.0.tar.gz"] = ARTIFACT
        public = base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
        stack.extra_toml = f'[updates]\nmanifest_url = "{releases.url("/manifest.json")}"\npublic_key = "{public}"\n'
        stack.start_edge()
        block = _readme_block("## The edge: management API and CLI")
        assert "E=http://127.0.0.1:8765/manage" in block and "var/edge/manage.token" in block
        script = (block.replace("127.0.0.1:8765", f"127.0.0.1:{stack.manage_port}")
                  .replace("var/edge/manage.token", str(stack.state_dir / "manage.token"))
                  .replace("curl -s ", "curl -s -w '\\n@@%{http_code}\\n' "))
        done = subprocess.run(["bash", "-eu", "-c", script], capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
    finally:
        releases.server.shutdown()
        releases.server.server_close()

    answers = re.findall(r"(.*?)\n@@(\d{3})\n", done.stdout, re.DOTALL)
    commands = [line for line in block.splitlines() if line.startswith("curl ")]
    assert len(answers) == len(commands) == 13
    for command, (body, status) in zip(commands, answers, strict=True):
        assert status == "200", (command, body)
        if body.startswith("{"):
            assert json.loads(body).get("success", True) is True, (command, body)
    devices = stack.manage("get_fiscal_devices").json()
    assert [d["name"] for d in devices][-1] == "Front" and devices[-1]["connection_details"]["details"]["ip_address"] == "192.168.1.50"
    assert stack.manage("get_notification_config").json()["email_list"] == ["owner@example.com"]
    assert {"XReport", "ZReport"} <= {e["action_type"] for e in stack.manage("get_journal_entries", {"start_time": 0, "end_time": 10**14}).json()}
    assert stack.manage("status").json()["version"] == "1.2.0"
