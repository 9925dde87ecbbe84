"""The management API of a running edge, over real HTTP."""

from __future__ import annotations

import socket
import time

import httpx
from edge_harness import SHOP_ID, Stack, make_job, wait_for


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
