"""Device operations through the running edge: reports that match the journal, cash moves, texts,
the electronic journal, and the Z report mailed to a real (local) SMTP server."""

from __future__ import annotations

import email
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from edge_harness import Stack, free_port, make_job, wait_for


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


def _op(stack: Stack, **body: Any) -> dict[str, Any]:
    reply = stack.manage("device_operation", body)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_operations_are_journaled_and_reports_match_the_journal(stack: Stack, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    stack.extra_toml = f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nfrom_address = "till@shop.example"\n'
    stack.start_edge()
    config = str(stack.config_dir / "edge.toml")
    started = time.time_ns() // 1_000_000
    for job_id in ("op-1", "op-2"):
        stack.send(make_job(job_id))
    wait_for(lambda: stack.settled("op-1") and stack.settled("op-2"), what="two jobs settled")

    deposit = _op(stack, action_type="Deposit", amount_cents=5000)
    assert deposit["success"] is True and deposit["entry"]["amount_cents"] == 5000 and "CASH IN" in deposit["entry"]["full_text"]
    too_much = stack.manage("device_operation", {"action_type": "Withdraw", "amount_cents": 100_000})
    assert (too_much.status_code, too_much.json()["code"]) == (409, "E_OPERATION_REFUSED")
    cash_out = stack.cli("cash", "out", "10.00", "--config", config)
    assert cash_out.returncode == 0 and "CASH OUT" in cash_out.stdout, cash_out.stderr
    text = _op(stack, action_type="NonFiscalReceipt", lines=["Wi-Fi: shop-guest", "Thank you"])
    assert "Wi-Fi: shop-guest" in text["entry"]["full_text"]

    printed = [e for e in stack.manage("get_journal_entries", {"start_time": started, "end_time": time.time_ns() // 1_000_000}).json()
               if e["action_type"] == "PrintReceipt" and e["success"]]
    x = _op(stack, action_type="XReport")["entry"]
    assert x["amount_cents"] == sum(e["amount_cents"] for e in printed) == 2660
    assert "CASH IN DRAWER" in x["full_text"] and "66.60" in x["full_text"]  # 26.60 cash sales + 50.00 in - 10.00 out

    save = {"email_list": ["owner@shop.example", "books@shop.example"], "send_z_report_email": True}
    assert stack.manage("save_notification_config", save).json()["success"] is True
    z = stack.cli("report", "z", "--config", config)
    assert z.returncode == 0, z.stderr
    assert "Z REPORT No 0001" in z.stdout and "emailed to owner@shop.example, books@shop.example" in z.stdout
    wait_for(lambda: inbox.messages, what="the Z report email")
    [(recipients, message)] = inbox.messages
    assert recipients == save["email_list"] and message["From"] == "till@shop.example"
    assert message["Subject"].startswith("Z report 0001") and "Net total: 26.60" in message.get_payload()
    assert "Z REPORT No 0001" in message.get_payload()

    assert _op(stack, action_type="XReport")["entry"]["amount_cents"] == 0
    today = datetime.now(UTC).date().isoformat()
    memory = _op(stack, action_type="FiscalMemoryReport", start_date=today, end_date=today)["entry"]
    assert memory["amount_cents"] == 2660 and "Z 0001" in memory["full_text"]

    ejournal = stack.cli("ejournal", "--config", config).stdout
    order = ["SALE ID op-1", "SALE ID op-2", "CASH IN No 0001", "CASH OUT No 0002", "NON-FISCAL", "X REPORT", "Z REPORT No 0001", "FISCAL MEMORY REPORT"]
    positions = [ejournal.index(marker) for marker in order]
    assert positions == sorted(positions)
    assert ejournal == stack.manage("simulator/electronic_journal").text

    entries = stack.manage("get_journal_entries", {"start_time": started, "end_time": time.time_ns() // 1_000_000}).json()
    actions = [(e["action_type"], e["success"]) for e in entries]
    assert actions == [("PrintReceipt", True), ("PrintReceipt", True), ("Deposit", True), ("Withdraw", False), ("Withdraw", True),
                       ("NonFiscalReceipt", True), ("XReport", True), ("ZReport", True), ("XReport", True), ("FiscalMemoryReport", True)]
    failed = entries[3]
    assert failed["error_message"] and failed["amount_cents"] == 100_000 and failed["full_text"] is None
    z_entry = entries[7]
    assert z_entry["amount_cents"] == 2660 and "Z REPORT No 0001" in z_entry["full_text"] and z_entry["receipt_data"] is None

    cut = entries[4]["started_at"]
    later = stack.manage("get_journal_entries", {"start_time": cut, "end_time": entries[6]["started_at"]}).json()
    assert [e["action_type"] for e in later] == ["Withdraw", "NonFiscalReceipt", "XReport"]


def test_operation_requests_are_checked(stack: Stack) -> None:
    stack.start_edge()
    cases = [
        ({"action_type": "PrintReceipt"}, 400, "E_UNSUPPORTED_OPERATION"),
        ({"action_type": "Deposit"}, 400, "E_BAD_REQUEST"),
        ({"action_type": "Deposit", "amount_cents": 12.5}, 400, "E_BAD_REQUEST"),
        ({"action_type": "Deposit", "amount_cents": -5}, 400, "E_BAD_REQUEST"),
        ({"action_type": "Explode"}, 400, "E_BAD_REQUEST"),
        ({"action_type": "FiscalMemoryReport", "start_date": "2024-02-02", "end_date": "2024-01-01"}, 400, "E_BAD_REQUEST"),
        ({"action_type": "XReport", "device_id": "no-such-device"}, 404, "E_DEVICE_NOT_FOUND"),
        ({"action_type": "Sale", "amount_cents": 100}, 404, "E_DEVICE_NOT_FOUND"),  # no POS terminal configured
    ]
    for body, status, code in cases:
        reply = stack.manage("device_operation", body)
        assert (reply.status_code, reply.json()["code"]) == (status, code), body
    stack.manage("save_pos_terminal", {"name": "POS", "manufacturer": "Simulated", "model": "Simulated"})
    sale = _op(stack, action_type="Sale", amount_cents=990, reference="walk-in-1")
    assert sale["entry"]["amount_cents"] == 990 and "APPROVED" in sale["entry"]["full_text"]
    settlement = _op(stack, action_type="Settlement")
    assert settlement["entry"]["amount_cents"] == 990 and settlement["entry"]["device_name"] == "POS"
    bad_cash = stack.cli("cash", "in", "1.234", "--config", str(stack.config_dir / "edge.toml"))
    assert bad_cash.returncode == 2 and "at most two decimals" in bad_cash.stderr
